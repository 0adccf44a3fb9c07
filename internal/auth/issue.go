package auth

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
)

// Issued is a new session: its JWT and its cookie value name the same session.
type Issued struct {
	Token     string
	Cookie    string // the session cookie's value (`<id>.<secret>`)
	SessionID string
	ExpiresAt time.Time
}

// Issue opens a session for a user signed in by token (/logintoken).
func (s *Service) Issue(ctx context.Context, u *db.User) (*Issued, error) {
	return s.IssueVia(ctx, u, MethodToken)
}

// IssueVia opens a session for the user, signed in by method, and signs its JWT. The caller's
// device (WithClient) is recorded. The user's oldest sessions beyond the device limit end, on
// every instance, cookie and JWT alike.
func (s *Service) IssueVia(ctx context.Context, u *db.User, method string) (*Issued, error) {
	if u.Status == StatusDisabled {
		return nil, errDisabled
	}
	now := s.now()
	cl := ClientFrom(ctx)
	secret := randomToken(32)
	sess := &Session{ID: randomToken(22), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.ttl()),
		IP: cl.IP, UserAgent: truncate(cl.UserAgent, 256), Method: method, secretHash: hashSecret(secret)}
	c := claims{SID: sess.ID, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   strconv.FormatInt(u.ID, 10),
		ID:        randomToken(16),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(MaxSessionLifetime)),
		Issuer:    "poolgate",
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.Secret)
	if err != nil {
		return nil, fmt.Errorf("sign jwt: %w", err)
	}
	evicted, err := s.Sessions.Create(ctx, sess, s.MaxDevices)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	s.ended(ctx, evicted)
	return &Issued{Token: tok, Cookie: sess.ID + "." + secret, SessionID: sess.ID, ExpiresAt: sess.ExpiresAt}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ended tells every instance that sessions ended (their cached gateway entries go at once).
func (s *Service) ended(ctx context.Context, ids []string) {
	for _, id := range ids {
		s.cache.drop(id)
		if s.Bus != nil {
			s.Bus.Publish(ctx, bus.TopicSession, id)
		}
	}
}

// Subscribe makes this instance drop its cached sessions when another instance ends them.
func (s *Service) Subscribe(b *bus.Bus) {
	b.Subscribe(bus.TopicSession, s.cache.drop)
	b.Subscribe(bus.TopicUser, func(string) { s.cache.clear() })
}

// SignOut ends the principal's session (its cookie and JWT alike).
func (s *Service) SignOut(ctx context.Context, p *Principal) error {
	if p.SessionID == "" {
		return nil
	}
	return s.EndSession(ctx, p.UserID, p.SessionID)
}

// EndSession ends one of the user's sessions; a session of another user is not found.
func (s *Service) EndSession(ctx context.Context, uid int64, id string) error {
	ok, err := s.Sessions.Delete(ctx, uid, id)
	if err != nil {
		return fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	if !ok {
		return fault.New(fault.NotFound, "session not found")
	}
	s.ended(ctx, []string{id})
	return nil
}

// EndSessions ends every session of the user but keep ("" for all): a password change keeps
// the session making it; disabling a user or setting their password ends all.
func (s *Service) EndSessions(ctx context.Context, uid int64, keep string) error {
	ids, err := s.Sessions.DeleteUser(ctx, uid, keep)
	if err != nil {
		return fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	s.ended(ctx, ids)
	return nil
}

// ListSessions returns the user's live sessions, newest first.
func (s *Service) ListSessions(ctx context.Context, uid int64) ([]Session, error) {
	list, err := s.Sessions.List(ctx, uid)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	return list, nil
}

// Cookie is the Set-Cookie value carrying a session cookie until expires (HttpOnly,
// SameSite=Lax; Secure when secure).
func Cookie(value string, expires time.Time, now time.Time, secure bool) string {
	c := &http.Cookie{Name: SessionCookie, Value: value, Path: "/", //nolint:gosec // Secure in production; development serves plain HTTP
		MaxAge:   max(1, int((expires.Sub(now)+time.Second/2)/time.Second)),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure}
	return c.String()
}

// IssuedCookie is the Set-Cookie value for a new session.
func (s *Service) IssuedCookie(iss *Issued, secure bool) string {
	return Cookie(iss.Cookie, iss.ExpiresAt, s.now(), secure)
}

// RefreshCookie is the Set-Cookie value sending a cookie caller's session cookie again with its
// pushed-back end.
func (s *Service) RefreshCookie(p *Principal, secure bool) string {
	return Cookie(p.CookieValue, p.ExpiresAt, s.now(), secure)
}

// ClearCookie is the Set-Cookie value removing the session cookie.
func ClearCookie(secure bool) string {
	c := &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, //nolint:gosec // Secure in production
		SameSite: http.SameSiteLaxMode, Secure: secure}
	return c.String()
}
