package auth

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// Session is one signed-in device: a browser (its cookie) or an app (its JWT), both naming the
// session by ID. The cookie also carries a secret whose hash the session keeps; the JWT is
// signed, so it needs no secret.
type Session struct {
	ID         string
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
	// Method is how the session signed in: password, register, sso, passkey or token.
	Method string

	secretHash []byte
}

// Sessions stores sessions. RedisSessions shares them between instances; MemorySessions keeps
// them in one process. Expired sessions are never returned.
type Sessions interface {
	// Create stores s and evicts the user's oldest sessions beyond maxDevices (never s itself);
	// it returns the ids of the evicted sessions.
	Create(ctx context.Context, s *Session, maxDevices int) (evicted []string, err error)
	// Get returns a live session, or nil.
	Get(ctx context.Context, id string) (*Session, error)
	// Touch records a use: the last-seen time and the new end of the session.
	Touch(ctx context.Context, id string, lastSeen, expires time.Time) error
	// List returns the user's live sessions, newest first.
	List(ctx context.Context, userID int64) ([]Session, error)
	// Delete ends one session of the user; false when the user has no such session.
	Delete(ctx context.Context, userID int64, id string) (bool, error)
	// DeleteUser ends every session of the user but keep ("" for none) and returns their ids.
	DeleteUser(ctx context.Context, userID int64, keep string) ([]string, error)
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// MemorySessions is the in-process Sessions for a single instance without Redis.
type MemorySessions struct {
	mu       sync.Mutex
	now      func() time.Time
	sessions map[string]*Session
}

// NewMemorySessions makes an empty store; now may be nil for time.Now.
func NewMemorySessions(now func() time.Time) *MemorySessions {
	if now == nil {
		now = time.Now
	}
	return &MemorySessions{now: now, sessions: map[string]*Session{}}
}

// Create implements Sessions.
func (m *MemorySessions) Create(_ context.Context, s *Session, maxDevices int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gc(m.now())
	c := *s
	m.sessions[s.ID] = &c
	if maxDevices <= 0 {
		return nil, nil
	}
	mine := m.ofUser(s.UserID)
	var evicted []string
	for _, o := range mine { // oldest first
		if len(mine)-len(evicted) <= maxDevices {
			break
		}
		if o.ID != s.ID {
			delete(m.sessions, o.ID)
			evicted = append(evicted, o.ID)
		}
	}
	return evicted, nil
}

// ofUser lists a user's sessions, oldest first (the session made last wins a tie).
func (m *MemorySessions) ofUser(uid int64) []*Session {
	var out []*Session
	for _, s := range m.sessions {
		if s.UserID == uid {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *Session) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

func (m *MemorySessions) gc(now time.Time) {
	for id, s := range m.sessions {
		if !now.Before(s.ExpiresAt) {
			delete(m.sessions, id)
		}
	}
}

// Get implements Sessions.
func (m *MemorySessions) Get(_ context.Context, id string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok || !m.now().Before(s.ExpiresAt) {
		return nil, nil
	}
	c := *s
	return &c, nil
}

// Touch implements Sessions.
func (m *MemorySessions) Touch(_ context.Context, id string, lastSeen, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[id]; ok {
		s.LastSeenAt, s.ExpiresAt = lastSeen, expires
	}
	return nil
}

// List implements Sessions.
func (m *MemorySessions) List(_ context.Context, userID int64) ([]Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gc(m.now())
	mine := m.ofUser(userID)
	out := make([]Session, 0, len(mine))
	for i := len(mine) - 1; i >= 0; i-- {
		out = append(out, *mine[i])
	}
	return out, nil
}

// Delete implements Sessions.
func (m *MemorySessions) Delete(_ context.Context, userID int64, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok || s.UserID != userID {
		return false, nil
	}
	delete(m.sessions, id)
	return true, nil
}

// DeleteUser implements Sessions.
func (m *MemorySessions) DeleteUser(_ context.Context, userID int64, keep string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, s := range m.sessions {
		if s.UserID == userID && id != keep {
			delete(m.sessions, id)
			ids = append(ids, id)
		}
	}
	return ids, nil
}
