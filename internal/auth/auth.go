// Package auth signs users in and recognises them again: bcrypt passwords with brute-force
// limits and an optional TOTP second factor, e-mail codes, sessions shared by a cookie and a JWT
// (HS256) with a per-user device limit, and hashed API keys.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/settings"
)

// SessionCookie names the session cookie.
const SessionCookie = "poolgate_session"

// TokenTTL is a session's default lifetime without use (the session_ttl_hours setting).
const TokenTTL = 24 * time.Hour

// MaxSessionLifetime bounds a session however often it is used; it is also the JWT's expiry.
const MaxSessionLifetime = 30 * 24 * time.Hour

// touchEvery is how stale a session's last-seen time may get before a use records it (and, for
// the cookie, sends it again with the pushed-back end).
const touchEvery = time.Minute

// DefaultBcryptCost is the bcrypt cost for passwords.
const DefaultBcryptCost = 12

// Roles and statuses.
const (
	RoleAdmin      = "admin"
	RoleUser       = "user"
	StatusActive   = "active"
	StatusMuted    = "muted"
	StatusDisabled = "disabled"
)

// Sign-in methods, recorded on the session.
const (
	MethodPassword = "password"
	MethodRegister = "register"
	MethodSSO      = "sso"
	MethodPasskey  = "passkey"
	MethodToken    = "token"
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
	UserID   int64
	Username string
	Role     string
	Status   string
	Via      Via
	// SessionID is the session a JWT or the cookie belongs to (ViaJWT, ViaSession).
	SessionID string
	// ExpiresAt is when the session ends unless used again.
	ExpiresAt time.Time
	// Refreshed is set when this use pushed the session's end back: a cookie caller gets the
	// cookie again (CookieValue) with the new lifetime.
	Refreshed   bool
	CookieValue string
	KeyID       int64 // ViaAPIKey
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

// Client is what is known of the caller's device: its address and user agent (recorded on the
// sessions it signs in, and used for per-address limits).
type Client struct {
	IP        string
	UserAgent string
}

type clientKey struct{}

// WithClient stores the caller's device in ctx.
func WithClient(ctx context.Context, c Client) context.Context {
	return &clientCtx{Context: ctx, c: c}
}

// clientCtx is context.WithValue(ctx, clientKey{}, &c) in one allocation rather than two (the
// context and the boxed value): WithClient runs on every request.
type clientCtx struct {
	context.Context
	c Client
}

func (x *clientCtx) Value(key any) any {
	if key == (clientKey{}) {
		return &x.c
	}
	return x.Context.Value(key)
}

// ClientFrom returns the caller's device stored in ctx (zero when unknown).
func ClientFrom(ctx context.Context) Client {
	if c, ok := ctx.Value(clientKey{}).(*Client); ok {
		return *c
	}
	return Client{}
}

// Service holds what authentication needs. Optional fields fall back to in-process defaults.
type Service struct {
	Pool       *pgxpool.Pool
	Queries    *db.Queries
	Sessions   Sessions
	Secret     []byte
	BcryptCost int
	MaxDevices int
	Now        func() time.Time
	// Settings supplies session_ttl_hours, oidc_only, email_verification_required and the site
	// name (nil: the defaults).
	Settings *settings.Store
	// Limiter counts failed sign-ins and mails sent (nil: in process).
	Limiter Limiter
	// Box seals TOTP secrets (required for TOTP).
	Box *secretbox.Box
	// Mailer sends e-mail codes (nil: e-mail is not configured).
	Mailer Mailer
	// CSRF refuses cross-origin state changes authenticated by the cookie (nil: no check).
	CSRF *http.CrossOriginProtection
	// Bus tells every instance when sessions end (nil: this instance only).
	Bus *bus.Bus
	// Log records failures that cannot reach the caller (mail delivery); nil discards.
	Log *slog.Logger

	dummyOnce sync.Once
	dummy     []byte
	limOnce   sync.Once
	lim       Limiter
	mail      sync.WaitGroup
	cache     sessionCache
}

func (s *Service) cost() int {
	if s.BcryptCost == 0 {
		return DefaultBcryptCost
	}
	return s.BcryptCost
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) settings() *settings.Values {
	if s.Settings == nil {
		d := settings.Defaults()
		return &d
	}
	return s.Settings.Get()
}

// ttl is the session lifetime without use.
func (s *Service) ttl() time.Duration {
	if h := s.settings().SessionTTLHours; h > 0 {
		return time.Duration(h) * time.Hour
	}
	return TokenTTL
}

func (s *Service) limiter() Limiter {
	s.limOnce.Do(func() {
		s.lim = s.Limiter
		if s.lim == nil {
			s.lim = NewMemoryLimiter()
		}
	})
	return s.lim
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Close waits for mails being sent.
func (s *Service) Close() { s.mail.Wait() }

// HashPassword hashes with bcrypt at the service's cost.
func (s *Service) HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cost())
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// UnusablePasswordHash is the hash of a random password nobody knows, for users who sign in
// another way (SSO, tokens) until they set one.
func (s *Service) UnusablePasswordHash() (string, error) {
	return s.HashPassword(randomToken(32))
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

// KeyPrefix starts every Poolgate API key.
const KeyPrefix = "sk-"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewKey makes an API key: "sk-" and 48 random base62 characters (≈285 bits).
func NewKey() string {
	return KeyPrefix + randomToken(48)
}

// HashKey is the stored form of an API key (keys are random, so a plain SHA-256 is enough).
func HashKey(key string) []byte {
	h := KeyDigest(key)
	return h[:]
}

// KeyDigest is HashKey as an array, for lookups that need no heap copy.
func KeyDigest(key string) [32]byte {
	var buf [128]byte // keys are shorter: hashed from the stack rather than a heap copy
	if len(key) <= len(buf) {
		return sha256.Sum256(append(buf[:0], key...))
	}
	return sha256.Sum256([]byte(key))
}

// KeyHint shows the start and end of a key: "sk-pg4F…9xQe".
func KeyHint(key string) string {
	if len(key) < 12 {
		return "sk-…"
	}
	return key[:7] + "…" + key[len(key)-4:]
}

// RandomToken returns n random base62 characters.
func RandomToken(n int) string { return randomToken(n) }

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
