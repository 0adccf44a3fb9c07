package hook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the audit and notify hooks receive as userToken (HOOK_USER_TOKEN; hooks.yaml, "userToken").
const (
	// UserTokenLogin (the default) sends back the token the login hook approved when the user
	// signed in with it, and the SHA-256 of the credential for other users: no secret Poolgate
	// issued leaves it. Share-link callers are identified by their authToken.
	UserTokenLogin = "login"
	// UserTokenKey sends the caller's credential unchanged (seed 000's literal behaviour; opt-in).
	UserTokenKey = "key"
	// UserTokenHash sends the SHA-256 of the credential, lowercase hex: receivers tell callers
	// apart, and match keys they know, without ever holding a usable key.
	UserTokenHash = "hash"
	// UserTokenUserID sends the Poolgate user id (decimal).
	UserTokenUserID = "user_id"
)

// loginTokenTTL is how long a user's login-hook token (or its absence) is cached.
const loginTokenTTL = time.Minute

// maxCachedLoginTokens bounds the cache; it is emptied when full.
const maxCachedLoginTokens = 10000

// loginTokens caches each user's login-hook token ("" for none).
type loginTokens struct {
	mu sync.Mutex
	m  map[int64]cachedToken
}

type cachedToken struct {
	token string
	until time.Time
}

// userToken is the userToken (and bearer token) the audit and notify hooks receive for c.
func (s *Service) userToken(ctx context.Context, c Call) string {
	switch s.cfg.UserToken {
	case UserTokenKey:
		return c.Token
	case UserTokenHash:
		return hashOf(c.Token)
	case UserTokenUserID:
		if c.UserID == 0 {
			return ""
		}
		return strconv.FormatInt(c.UserID, 10)
	default: // UserTokenLogin
		if c.Share {
			return c.Token
		}
		if tok := s.loginToken(ctx, c.UserID); tok != "" {
			return tok
		}
		return hashOf(c.Token)
	}
}

func hashOf(tok string) string {
	if tok == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// loginToken is the token the login hook approved when the user last signed in with one, or "".
// It is cached for a minute per user: a user's login token does not change (each token signs in
// its own user).
func (s *Service) loginToken(ctx context.Context, userID int64) string {
	if userID == 0 || s.q == nil {
		return ""
	}
	now := s.cfg.Now()
	s.tokens.mu.Lock()
	if e, ok := s.tokens.m[userID]; ok && now.Before(e.until) {
		s.tokens.mu.Unlock()
		return e.token
	}
	s.tokens.mu.Unlock()
	tok := ""
	sealed, err := s.q.TokenLoginSealedForUser(ctx, s.pool, userID)
	switch {
	case err == nil:
		if tok, err = s.box.Open(sealed); err != nil {
			s.log.Warn("open a login token", "user_id", userID, "error", err)
			tok = ""
		}
	case errors.Is(err, pgx.ErrNoRows):
	default:
		s.log.Warn("read a login token", "user_id", userID, "error", err)
		return "" // not cached: try again next time
	}
	s.tokens.mu.Lock()
	if len(s.tokens.m) >= maxCachedLoginTokens {
		clear(s.tokens.m)
	}
	s.tokens.m[userID] = cachedToken{token: tok, until: now.Add(loginTokenTTL)}
	s.tokens.mu.Unlock()
	return tok
}

// SealToken seals a token the login hook approved, for token_logins (nil when tokens cannot be
// sealed).
func (s *Service) SealToken(tok string) []byte {
	if s.box == nil {
		return nil
	}
	return s.box.Seal(tok)
}
