package auth

import (
	"context"
	"crypto/subtle"
	"strings"
	"sync"
	"time"

	"github.com/poolgate/poolgate/internal/fault"
)

// gatewayCacheFor bounds how long the gateway trusts a session it checked: a session ended on
// another instance stops there within this time even if the bus message is lost.
const gatewayCacheFor = 500 * time.Millisecond

// sessionCache remembers sessions the gateway checked recently, so a burst of calls costs one
// store lookup; entries go at once when the session ends (bus) and after gatewayCacheFor.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
}

type cachedSession struct {
	uid        int64
	secretHash []byte
	expires    time.Time
	checked    time.Time // wall clock
}

func (c *sessionCache) get(id string) (cachedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if ok && time.Since(e.checked) >= gatewayCacheFor {
		delete(c.m, id)
		return cachedSession{}, false
	}
	return e, ok
}

func (c *sessionCache) put(id string, e cachedSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]cachedSession{}
	}
	c.m[id] = e
}

func (c *sessionCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

func (c *sessionCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// LooksLikeJWT reports whether a gateway credential is a JWT rather than an API key.
func LooksLikeJWT(tok string) bool {
	return strings.Count(tok, ".") == 2 && !strings.HasPrefix(tok, KeyPrefix)
}

// ResolveSession recognises a gateway caller who presents a session instead of an API key: a
// sign-in JWT (cookie false) or the session cookie's value (cookie true). It returns the user and
// the session; an unknown, ended or expired session is 401. The user's status is the gateway's
// to check.
func (s *Service) ResolveSession(ctx context.Context, tok string, cookie bool) (uid int64, sid string, err error) {
	var secret string
	if cookie {
		var ok bool
		if sid, secret, ok = splitCookie(tok); !ok {
			return 0, "", errUnauthorized
		}
	} else {
		var ok bool
		if uid, sid, ok = s.parseJWT(tok); !ok {
			return 0, "", errUnauthorized
		}
	}
	now := s.now()
	if e, ok := s.cache.get(sid); ok && now.Before(e.expires) && (cookie || e.uid == uid) {
		if !cookie || subtle.ConstantTimeCompare(e.secretHash, hashSecret(secret)) == 1 {
			return e.uid, sid, nil
		}
		return 0, "", errUnauthorized
	}
	sess, err := s.Sessions.Get(ctx, sid)
	if err != nil {
		return 0, "", fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	if sess == nil || (!cookie && sess.UserID != uid) ||
		(cookie && subtle.ConstantTimeCompare(sess.secretHash, hashSecret(secret)) != 1) {
		return 0, "", errUnauthorized
	}
	if _, err = s.touch(ctx, sess); err != nil {
		return 0, "", err
	}
	s.cache.put(sid, cachedSession{uid: sess.UserID, secretHash: sess.secretHash, expires: sess.ExpiresAt, checked: time.Now()})
	return sess.UserID, sid, nil
}
