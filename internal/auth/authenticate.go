package auth

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

var (
	errUnauthorized = fault.New(fault.Unauthorized, "密钥无效或已失效,请重新登录")
	errDisabled     = fault.New(fault.Forbidden, "this account is disabled")
	errCSRF         = fault.Code(fault.Forbidden, "csrf_refused", "cross-site request refused")
	errUnavailable  = "service temporarily unavailable"
)

// claims are a sign-in JWT's: the user (sub) and the session (sid) it belongs to.
type claims struct {
	jwt.RegisteredClaims
	SID string `json:"sid"`
}

// Authenticate recognises the caller of a management request from `Authorization: Bearer`
// (a JWT or an API key) or the session cookie. A disabled user is refused with 403, and so is
// a state change authenticated by the cookie that a browser made from another site.
func (s *Service) Authenticate(ctx context.Context, r *http.Request) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			tok, ok = strings.CutPrefix(h, "bearer ")
		}
		tok = strings.TrimSpace(tok)
		if !ok || tok == "" {
			return nil, errUnauthorized
		}
		if strings.HasPrefix(tok, KeyPrefix) {
			return s.authKey(ctx, tok)
		}
		return s.authJWT(ctx, tok)
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if s.CSRF != nil && s.CSRF.Check(r) != nil {
			return nil, errCSRF
		}
		return s.authCookie(ctx, c.Value)
	}
	return nil, errUnauthorized
}

func (s *Service) authJWT(ctx context.Context, tok string) (*Principal, error) {
	uid, sid, ok := s.parseJWT(tok)
	if !ok {
		return nil, errUnauthorized
	}
	sess, refreshed, err := s.useSession(ctx, sid, uid)
	if err != nil {
		return nil, err
	}
	p, err := s.loadUser(ctx, uid)
	if err != nil {
		return nil, err
	}
	p.Via, p.SessionID, p.ExpiresAt, p.Refreshed = ViaJWT, sid, sess.ExpiresAt, refreshed
	return p, nil
}

// parseJWT checks a sign-in JWT's signature, issuer and expiry and returns its user and session.
func (s *Service) parseJWT(tok string) (uid int64, sid string, ok bool) {
	var c claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return s.Secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("poolgate"), jwt.WithTimeFunc(s.now),
		jwt.WithExpirationRequired())
	if err != nil || c.SID == "" {
		return 0, "", false
	}
	uid, err = strconv.ParseInt(c.Subject, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return uid, c.SID, true
}

// splitCookie parses a cookie value `<session id>.<secret>`.
func splitCookie(v string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(v, ".")
	return id, secret, ok && id != "" && secret != ""
}

func (s *Service) authCookie(ctx context.Context, value string) (*Principal, error) {
	id, secret, ok := splitCookie(value)
	if !ok {
		return nil, errUnauthorized
	}
	sess, err := s.Sessions.Get(ctx, id)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	if sess == nil || subtle.ConstantTimeCompare(sess.secretHash, hashSecret(secret)) != 1 {
		return nil, errUnauthorized
	}
	refreshed, err := s.touch(ctx, sess)
	if err != nil {
		return nil, err
	}
	p, err := s.loadUser(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	p.Via, p.SessionID, p.ExpiresAt, p.Refreshed, p.CookieValue = ViaSession, id, sess.ExpiresAt, refreshed, value
	return p, nil
}

// useSession loads the user's live session and records the use (touch).
func (s *Service) useSession(ctx context.Context, id string, uid int64) (*Session, bool, error) {
	sess, err := s.Sessions.Get(ctx, id)
	if err != nil {
		return nil, false, fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	if sess == nil || sess.UserID != uid {
		return nil, false, errUnauthorized
	}
	refreshed, err := s.touch(ctx, sess)
	return sess, refreshed, err
}

// touch checks a loaded session is live and, when its last use is older than touchEvery,
// records this one and pushes its end back (sliding expiry, bounded by MaxSessionLifetime).
func (s *Service) touch(ctx context.Context, sess *Session) (bool, error) {
	now := s.now()
	if !now.Before(sess.ExpiresAt) {
		return false, errUnauthorized
	}
	if now.Sub(sess.LastSeenAt) < touchEvery {
		return false, nil
	}
	exp := now.Add(s.ttl())
	if limit := sess.CreatedAt.Add(MaxSessionLifetime); exp.After(limit) {
		exp = limit
	}
	if err := s.Sessions.Touch(ctx, sess.ID, now, exp); err != nil {
		return false, fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	sess.LastSeenAt, sess.ExpiresAt = now, exp
	return true, nil
}

func (s *Service) authKey(ctx context.Context, key string) (*Principal, error) {
	row, err := s.Queries.APIKeyAuth(ctx, s.Pool, HashKey(key))
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return nil, errUnauthorized
		}
		return nil, err
	}
	if row.KeyStatus != StatusActive {
		return nil, errUnauthorized
	}
	if row.UserStatus == StatusDisabled {
		return nil, errDisabled
	}
	return &Principal{UserID: row.UserID, Username: row.Username, Role: row.Role, Status: row.UserStatus,
		Via: ViaAPIKey, KeyID: row.KeyID}, nil
}

func (s *Service) loadUser(ctx context.Context, uid int64) (*Principal, error) {
	u, err := s.Queries.UserGet(ctx, s.Pool, uid)
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return nil, errUnauthorized
		}
		return nil, err
	}
	if u.Status == StatusDisabled {
		return nil, errDisabled
	}
	return &Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Status: u.Status}, nil
}

// RequireSession refuses a principal that authenticated with an API key: changing sign-in
// methods (passwords, passkeys, TOTP, linked identities) needs a signed-in session, so a leaked
// key cannot take the account over.
func RequireSession(p *Principal) error {
	if p == nil {
		return errUnauthorized
	}
	if p.Via == ViaAPIKey {
		return fault.Code(fault.Forbidden, "session_required", "sign in to do this; an API key cannot")
	}
	return nil
}
