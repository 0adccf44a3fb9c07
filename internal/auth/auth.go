// Package auth signs users in and recognises them again: bcrypt passwords, HS256 JWTs with a
// revocation list, cookie sessions with a per-user device limit, and hashed API keys.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// SessionCookie names the session cookie.
const SessionCookie = "poolgate_session"

// TokenTTL is how long a JWT and a session live.
const TokenTTL = 24 * time.Hour

// DefaultBcryptCost is the bcrypt cost for passwords.
const DefaultBcryptCost = 12

// Roles and statuses.
const (
	RoleAdmin      = "admin"
	RoleUser       = "user"
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Via says how a principal authenticated.
type Via string

// The ways to authenticate.
const (
	ViaJWT     Via = "jwt"
	ViaSession Via = "session"
	ViaAPIKey  Via = "api_key"
)

// Principal is an authenticated caller.
type Principal struct {
	UserID    int64
	Username  string
	Role      string
	Via       Via
	JTI       string    // ViaJWT
	ExpiresAt time.Time // ViaJWT
	SessionID string    // ViaSession
	KeyID     int64     // ViaAPIKey
}

// IsAdmin reports whether the principal is an administrator.
func (p *Principal) IsAdmin() bool { return p.Role == RoleAdmin }

type principalKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Service holds what authentication needs.
type Service struct {
	Pool       *pgxpool.Pool
	Queries    *db.Queries
	Sessions   Sessions
	Secret     []byte
	BcryptCost int
	MaxDevices int
	Now        func() time.Time

	dummyOnce sync.Once
	dummy     []byte
}

func (s *Service) cost() int {
	if s.BcryptCost == 0 {
		return DefaultBcryptCost
	}
	return s.BcryptCost
}

// HashPassword hashes with bcrypt at the service's cost.
func (s *Service) HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cost())
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared when the user does not exist, so that a failed sign-in for an unknown
// user takes as long as one for a known user: it is made once, at the service's own cost.
func (s *Service) dummyHash() []byte {
	s.dummyOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(randomToken(16)), s.cost())
		if err != nil {
			panic(fmt.Errorf("bcrypt cost %d: %w", s.cost(), err))
		}
		s.dummy = h
	})
	return s.dummy
}

// Login checks a username and password and returns the user.
func (s *Service) Login(ctx context.Context, username, password string) (*db.User, error) {
	u, err := s.Queries.UserGetByUsername(ctx, s.Pool, username)
	if err != nil {
		if fault.Is(store.Translate(err, ""), fault.NotFound) {
			_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
			return nil, fault.New(fault.Unauthorized, "invalid username or password")
		}
		return nil, store.Translate(err, "")
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return nil, fault.New(fault.Unauthorized, "invalid username or password")
	}
	if u.Status != StatusActive {
		return nil, fault.New(fault.Forbidden, "this account is disabled")
	}
	return u, nil
}

// Issued is a new JWT and session.
type Issued struct {
	Token     string
	SessionID string
	ExpiresAt time.Time
}

// Issue signs a JWT and opens a session for the user.
func (s *Service) Issue(ctx context.Context, u *db.User) (*Issued, error) {
	now := s.now()
	exp := now.Add(TokenTTL)
	jti := randomToken(16)
	claims := jwt.RegisteredClaims{
		Subject:   strconv.FormatInt(u.ID, 10),
		ID:        jti,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
		Issuer:    "poolgate",
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.Secret)
	if err != nil {
		return nil, fmt.Errorf("sign jwt: %w", err)
	}
	sid, err := s.Sessions.Create(ctx, u.ID, TokenTTL, s.MaxDevices)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	return &Issued{Token: tok, SessionID: sid, ExpiresAt: exp}, nil
}

// Revoke ends what the principal authenticated with: the JWT (until its expiry) and/or the session.
func (s *Service) Revoke(ctx context.Context, p *Principal, sessionID string) error {
	if p.Via == ViaJWT && p.JTI != "" {
		if err := s.Sessions.Revoke(ctx, p.JTI, p.ExpiresAt); err != nil {
			return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
		}
	}
	if sessionID != "" {
		if err := s.Sessions.Delete(ctx, sessionID); err != nil {
			return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
		}
	}
	return nil
}

var errUnauthorized = fault.New(fault.Unauthorized, "密钥无效或已失效,请重新登录")

// Authenticate recognises the caller of a management request from `Authorization: Bearer`
// (a JWT or an API key) or the session cookie. A disabled user is refused with 403.
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
		uid, ok, err := s.Sessions.Lookup(ctx, c.Value)
		if err != nil {
			return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
		}
		if !ok {
			return nil, errUnauthorized
		}
		p, err := s.loadUser(ctx, uid)
		if err != nil {
			return nil, err
		}
		p.Via, p.SessionID = ViaSession, c.Value
		return p, nil
	}
	return nil, errUnauthorized
}

func (s *Service) authJWT(ctx context.Context, tok string) (*Principal, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return s.Secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("poolgate"), jwt.WithTimeFunc(s.now),
		jwt.WithExpirationRequired())
	if err != nil {
		return nil, errUnauthorized
	}
	revoked, err := s.Sessions.Revoked(ctx, claims.ID)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	if revoked {
		return nil, errUnauthorized
	}
	uid, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil {
		return nil, errUnauthorized
	}
	p, err := s.loadUser(ctx, uid)
	if err != nil {
		return nil, err
	}
	p.Via, p.JTI, p.ExpiresAt = ViaJWT, claims.ID, claims.ExpiresAt.Time
	return p, nil
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
	if row.UserStatus != StatusActive {
		return nil, fault.New(fault.Forbidden, "this account is disabled")
	}
	return &Principal{UserID: row.UserID, Username: row.Username, Role: row.Role, Via: ViaAPIKey, KeyID: row.KeyID}, nil
}

func (s *Service) loadUser(ctx context.Context, uid int64) (*Principal, error) {
	u, err := s.Queries.UserGet(ctx, s.Pool, uid)
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return nil, errUnauthorized
		}
		return nil, err
	}
	if u.Status != StatusActive {
		return nil, fault.New(fault.Forbidden, "this account is disabled")
	}
	return &Principal{UserID: u.ID, Username: u.Username, Role: u.Role}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// KeyPrefix starts every Poolgate API key.
const KeyPrefix = "sk-"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewKey makes an API key: "sk-" and 48 random base62 characters (≈285 bits).
func NewKey() string {
	return KeyPrefix + randomToken(48)
}

// HashKey is the stored form of an API key (keys are random, so a plain SHA-256 is enough).
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// KeyHint shows the start and end of a key: "sk-pg4F…9xQe".
func KeyHint(key string) string {
	if len(key) < 12 {
		return "sk-…"
	}
	return key[:7] + "…" + key[len(key)-4:]
}

func randomToken(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(errors.New("crypto/rand failed"))
		}
		b[i] = base62[v.Int64()]
	}
	return string(b)
}
