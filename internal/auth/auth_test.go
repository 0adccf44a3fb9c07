package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/testdb"
)

const secret = "test-jwt-secret-0123456789-abcdefghij"

type testBundle struct {
	svc  *auth.Service
	clk  *clock
	ctx  context.Context
	mail *mailbox
	// alice is an active user whose password is "alice-password".
	alice *db.User
}

// mailbox is a Mailer that keeps what it sends.
type mailbox struct {
	mu   sync.Mutex
	sent []sentMail
}

type sentMail struct{ to, subject, body string }

func (m *mailbox) Send(_ context.Context, to, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentMail{to, subject, body})
	return nil
}

func (m *mailbox) all() []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentMail(nil), m.sent...)
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	pool := testdb.New(t)
	clk := newClock()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	mb := &mailbox{}
	svc := &auth.Service{Pool: pool, Queries: db.New(), Sessions: auth.NewMemorySessions(clk.Now),
		Secret: []byte(secret), BcryptCost: bcrypt.MinCost, MaxDevices: 5, Now: clk.Now, Box: box, Mailer: mb,
		CSRF: http.NewCrossOriginProtection()}
	t.Cleanup(svc.Close)
	b := &testBundle{svc: svc, clk: clk, ctx: auth.WithClient(context.Background(), auth.Client{IP: "203.0.113.7", UserAgent: "test"}),
		mail: mb}
	b.alice = b.user(t, "alice", "alice-password")
	return b
}

func (b *testBundle) user(t *testing.T, name, password string) *db.User {
	t.Helper()
	email := name + "@example.test"
	u, err := b.svc.CreateUser(b.ctx, b.svc.Pool, auth.NewUser{Username: name, Password: password, Email: &email})
	require.NoError(t, err)
	return u
}

func (b *testBundle) setStatus(t *testing.T, u *db.User, st string) {
	t.Helper()
	_, err := b.svc.Queries.UserUpdate(b.ctx, b.svc.Pool, db.UserUpdateParams{ID: u.ID, Status: &st})
	require.NoError(t, err)
}

func (b *testBundle) issue(t *testing.T, u *db.User) *auth.Issued {
	t.Helper()
	iss, err := b.svc.IssueVia(b.ctx, u, auth.MethodPassword)
	require.NoError(t, err)
	return iss
}

// authenticate runs Authenticate on a GET with the given Authorization header and cookie.
func (b *testBundle) authenticate(authorization, cookie string) (*auth.Principal, error) {
	r := httptest.NewRequest(http.MethodGet, "/api/user/me", nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: cookie})
	}
	return b.svc.Authenticate(b.ctx, r)
}

func (b *testBundle) login(username, password string) (*db.User, error) {
	return b.svc.PasswordLogin(b.ctx, auth.Login{Username: username, Password: password})
}

func requireFault(t *testing.T, err error, kind fault.Kind, code string) *fault.Error {
	t.Helper()
	fe, ok := fault.As(err)
	require.True(t, ok, "not a fault: %v", err)
	require.Equal(t, kind, fe.Kind, err.Error())
	require.Equal(t, code, fe.Code, err.Error())
	return fe
}

func requireUnauthorized(t *testing.T, p *auth.Principal, err error) {
	t.Helper()
	require.Nil(t, p)
	fe := requireFault(t, err, fault.Unauthorized, "unauthorized")
	require.Equal(t, "密钥无效或已失效,请重新登录", fe.Message)
}

// sign makes a token with the given method, key and claims.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return s
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hash, err := b.svc.HashPassword("pw-1234567")
	require.NoError(t, err)
	cost, err := bcrypt.Cost([]byte(hash))
	require.NoError(t, err)
	require.Equal(t, bcrypt.MinCost, cost)
	require.Equal(t, 12, auth.DefaultBcryptCost)
	_, err = b.svc.HashPassword(string(make([]byte, 73)))
	require.Error(t, err, "bcrypt refuses passwords over 72 bytes rather than truncating them")

	for _, name := range []string{"alice", "ALICE", "alice@example.test", "Alice@Example.TEST"} {
		u, err := b.login(name, "alice-password")
		require.NoError(t, err, name)
		require.Equal(t, b.alice.ID, u.ID, name)
	}
	for _, c := range [][2]string{{"alice", "wrong-password"}, {"nobody", "alice-password"}, {"alice", ""},
		{"nobody@example.test", "x"}} {
		_, err = b.login(c[0], c[1])
		requireFault(t, err, fault.Unauthorized, "unauthorized")
	}

	b.setStatus(t, b.alice, auth.StatusDisabled)
	_, err = b.login("bob-does-not-exist", "x")
	requireFault(t, err, fault.Unauthorized, "unauthorized")
	_, err = b.login("alice", "alice-password")
	requireFault(t, err, fault.Forbidden, "forbidden")
	b.setStatus(t, b.alice, auth.StatusMuted)
	_, err = b.login("alice", "alice-password")
	require.NoError(t, err, "a muted user signs in")

	// A user made without a password (SSO) cannot sign in with one.
	sso, err := b.svc.CreateUser(b.ctx, b.svc.Pool, auth.NewUser{Username: "sso-user"})
	require.NoError(t, err)
	require.False(t, sso.PasswordSet)
	_, err = b.login("sso-user", "")
	requireFault(t, err, fault.Unauthorized, "unauthorized")
}

// TestBruteForce: five failures for one username or twenty from one address within 15 minutes
// refuse further attempts (even right ones) with the wait, alike for unknown usernames.
func TestBruteForce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"alice", "nobody"} {
		for range 5 {
			_, err := b.login(name, "wrong")
			requireFault(t, err, fault.Unauthorized, "unauthorized")
		}
		_, err := b.login(name, "alice-password")
		fe := requireFault(t, err, fault.RateLimited, "too_many_attempts")
		require.Equal(t, "900", fe.RetryAfter, name)
	}
	b.clk.Add(15 * time.Minute)
	_, err := b.login("alice", "alice-password")
	require.NoError(t, err, "the window has passed")

	// A success forgets the username's failures.
	for range 4 {
		_, err := b.login("alice", "wrong")
		requireFault(t, err, fault.Unauthorized, "unauthorized")
	}
	_, err = b.login("alice", "alice-password")
	require.NoError(t, err)
	_, err = b.login("alice", "wrong")
	requireFault(t, err, fault.Unauthorized, "unauthorized")
	_, err = b.login("alice", "alice-password")
	require.NoError(t, err)

	// Twenty failures from one address, over many usernames, stop that address only.
	b.clk.Add(15 * time.Minute)
	bob := b.user(t, "bob", "bob-password")
	for i := range 20 {
		_, err := b.login("guess"+strconv.Itoa(i), "x")
		requireFault(t, err, fault.Unauthorized, "unauthorized")
	}
	_, err = b.login("bob", "bob-password")
	requireFault(t, err, fault.RateLimited, "too_many_attempts")
	other := auth.WithClient(context.Background(), auth.Client{IP: "198.51.100.9"})
	u, err := b.svc.PasswordLogin(other, auth.Login{Username: "bob", Password: "bob-password"})
	require.NoError(t, err)
	require.Equal(t, bob.ID, u.ID)
}

func TestJWT(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss := b.issue(t, b.alice)
	require.Equal(t, b.clk.Now().Add(24*time.Hour), iss.ExpiresAt)
	var claims struct {
		jwt.RegisteredClaims
		SID string `json:"sid"`
	}
	tok, err := jwt.ParseWithClaims(iss.Token, &claims, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithTimeFunc(b.clk.Now))
	require.NoError(t, err)
	require.Equal(t, "HS256", tok.Method.Alg())
	require.Equal(t, strconv.FormatInt(b.alice.ID, 10), claims.Subject)
	require.Equal(t, "poolgate", claims.Issuer)
	require.Equal(t, iss.SessionID, claims.SID, "the JWT names its session")
	require.True(t, b.clk.Now().Add(auth.MaxSessionLifetime).Equal(claims.ExpiresAt.Time))

	p, err := b.authenticate("Bearer "+iss.Token, "")
	require.NoError(t, err)
	require.Equal(t, &auth.Principal{UserID: b.alice.ID, Username: "alice", Role: auth.RoleUser, Status: auth.StatusActive,
		Via: auth.ViaJWT, SessionID: iss.SessionID, ExpiresAt: iss.ExpiresAt}, p)
	require.False(t, p.IsAdmin())
	p, err = b.authenticate("bearer "+iss.Token, "")
	require.NoError(t, err, "the scheme is case-insensitive")
	require.Equal(t, auth.ViaJWT, p.Via)

	// Unused for 24 hours, the session (and so the JWT) ends.
	b.clk.Add(24 * time.Hour)
	p, err = b.authenticate("Bearer "+iss.Token, "")
	requireUnauthorized(t, p, err)
}

// TestSlidingExpiry: each use pushes a session's end back (at most once a minute), up to 30 days
// after sign-in; the cookie caller is told to refresh the cookie.
func TestSlidingExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss := b.issue(t, b.alice)
	start := b.clk.Now()
	p, err := b.authenticate("", iss.Cookie)
	require.NoError(t, err)
	require.False(t, p.Refreshed, "used within the minute: nothing to record")
	for range 3 {
		b.clk.Add(23 * time.Hour)
		p, err = b.authenticate("", iss.Cookie)
		require.NoError(t, err)
		require.True(t, p.Refreshed)
		require.Equal(t, b.clk.Now().Add(24*time.Hour), p.ExpiresAt)
		require.Equal(t, iss.Cookie, p.CookieValue)
		require.Contains(t, b.svc.RefreshCookie(p, true), "Max-Age=86400")
		_, err = b.authenticate("Bearer "+iss.Token, "")
		require.NoError(t, err, "the JWT lives as long as its session")
	}
	list, err := b.svc.ListSessions(b.ctx, b.alice.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, b.clk.Now(), list[0].LastSeenAt)
	require.Equal(t, "203.0.113.7", list[0].IP)

	for b.clk.Now().Before(start.Add(auth.MaxSessionLifetime - 23*time.Hour)) {
		b.clk.Add(23 * time.Hour)
		_, err = b.authenticate("", iss.Cookie)
		require.NoError(t, err)
	}
	b.clk.Add(23 * time.Hour)
	p, err = b.authenticate("", iss.Cookie)
	requireUnauthorized(t, p, err)
}

func TestJWTRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss := b.issue(t, b.alice)
	now := b.clk.Now()
	sub := strconv.FormatInt(b.alice.ID, 10)
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "sid": iss.SessionID, "jti": "jti-1", "iss": "poolgate", "iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix()}
	}
	// The control: the same claims, signed properly, are accepted.
	_, err := b.authenticate("Bearer "+sign(t, jwt.SigningMethodHS256, []byte(secret), good()), "")
	require.NoError(t, err)

	with := func(f func(jwt.MapClaims)) jwt.MapClaims { c := good(); f(c); return c }
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(secret), c) }
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good())
	other := b.issue(t, b.user(t, "bob", "bob-password"))
	tests := map[string]string{
		"WrongSecret":     sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789-abcdefghij"), good()),
		"AlgNone":         none,
		"AlgNoneSigned":   none + "c2lnbmF0dXJl",
		"HS512":           sign(t, jwt.SigningMethodHS512, []byte(secret), good()),
		"Expired":         hs(with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() })),
		"NoExpiry":        hs(with(func(c jwt.MapClaims) { delete(c, "exp") })),
		"NotYetValid":     hs(with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })),
		"OtherIssuer":     hs(with(func(c jwt.MapClaims) { c["iss"] = "someone-else" })),
		"NoIssuer":        hs(with(func(c jwt.MapClaims) { delete(c, "iss") })),
		"SubjectNotID":    hs(with(func(c jwt.MapClaims) { c["sub"] = "alice" })),
		"UnknownUser":     hs(with(func(c jwt.MapClaims) { c["sub"] = "999999" })),
		"NoSession":       hs(with(func(c jwt.MapClaims) { delete(c, "sid") })),
		"UnknownSession":  hs(with(func(c jwt.MapClaims) { c["sid"] = "no-such-session" })),
		"OthersSession":   hs(with(func(c jwt.MapClaims) { c["sid"] = other.SessionID })),
		"Garbage":         "not-a-jwt",
		"TruncatedSig":    func() string { s := hs(good()); return s[:len(s)-2] }(),
		"EmptySecretSign": sign(t, jwt.SigningMethodHS256, []byte{}, good()),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := b.authenticate("Bearer "+tok, "")
			requireUnauthorized(t, p, err)
		})
	}
}

// TestSignOut: ending a session stops its JWT and its cookie alike, and no other session.
func TestSignOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss := b.issue(t, b.alice)
	other := b.issue(t, b.alice)
	p, err := b.authenticate("Bearer "+iss.Token, "")
	require.NoError(t, err)
	require.NoError(t, b.svc.SignOut(b.ctx, p))
	for _, c := range [][2]string{{"Bearer " + iss.Token, ""}, {"", iss.Cookie}} {
		p, err := b.authenticate(c[0], c[1])
		requireUnauthorized(t, p, err)
	}
	_, err = b.authenticate("Bearer "+other.Token, "")
	require.NoError(t, err)
	_, err = b.authenticate("", other.Cookie)
	require.NoError(t, err)
	requireFault(t, b.svc.EndSession(b.ctx, b.alice.ID, iss.SessionID), fault.NotFound, "not_found")
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss := b.issue(t, b.alice)
	require.Regexp(t, `^[0-9A-Za-z]{22}\.[0-9A-Za-z]{32}$`, iss.Cookie)
	p, err := b.authenticate("", iss.Cookie)
	require.NoError(t, err)
	require.Equal(t, &auth.Principal{UserID: b.alice.ID, Username: "alice", Role: auth.RoleUser, Status: auth.StatusActive,
		Via: auth.ViaSession, SessionID: iss.SessionID, ExpiresAt: iss.ExpiresAt, CookieValue: iss.Cookie}, p)

	for _, bad := range []string{"unknown", iss.SessionID, iss.SessionID + ".", iss.SessionID + ".wrong-secret", "." + iss.Cookie} {
		p, err := b.authenticate("", bad)
		requireUnauthorized(t, p, err)
	}
	// Authorization, when present, decides alone: a bad one is not rescued by a good cookie.
	p, err = b.authenticate("Bearer not-a-jwt", iss.Cookie)
	requireUnauthorized(t, p, err)
	c := auth.Cookie(iss.Cookie, iss.ExpiresAt, b.clk.Now(), true)
	require.Contains(t, c, "HttpOnly")
	require.Contains(t, c, "Secure")
	require.Contains(t, c, "SameSite=Lax")
	require.Contains(t, auth.ClearCookie(false), "Max-Age=0")
}

// TestCSRF: a state change a browser makes from another site with the cookie is refused; the
// same from the site itself, reads, and bearer tokens pass.
func TestCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss := b.issue(t, b.alice)
	req := func(method, site, origin, authorization string) (*auth.Principal, error) {
		r := httptest.NewRequest(method, "http://gate.example.com/api/user/api-keys", nil)
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: iss.Cookie})
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		return b.svc.Authenticate(b.ctx, r)
	}
	_, err := req(http.MethodPost, "cross-site", "https://evil.example", "")
	requireFault(t, err, fault.Forbidden, "csrf_refused")
	_, err = req(http.MethodDelete, "", "https://evil.example", "")
	requireFault(t, err, fault.Forbidden, "csrf_refused")
	for _, ok := range [][3]string{{http.MethodGet, "cross-site", ""}, {http.MethodPost, "same-origin", ""},
		{http.MethodPost, "", "http://gate.example.com"}, {http.MethodPost, "", ""}} {
		_, err := req(ok[0], ok[1], ok[2], "")
		require.NoError(t, err, ok)
	}
	_, err = req(http.MethodPost, "cross-site", "https://evil.example", "Bearer "+iss.Token)
	require.NoError(t, err, "a bearer token is not sent by browsers on their own")
}

// TestDeviceLimit: the oldest session beyond the limit ends, its cookie and JWT alike.
func TestDeviceLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.svc.MaxDevices = 2
	var all []*auth.Issued
	for range 3 {
		all = append(all, b.issue(t, b.alice))
		b.clk.Add(time.Millisecond)
	}
	p, err := b.authenticate("", all[0].Cookie)
	requireUnauthorized(t, p, err)
	p, err = b.authenticate("Bearer "+all[0].Token, "")
	requireUnauthorized(t, p, err)
	for _, iss := range all[1:] {
		_, err := b.authenticate("", iss.Cookie)
		require.NoError(t, err)
		_, err = b.authenticate("Bearer "+iss.Token, "")
		require.NoError(t, err)
	}
}

func TestDisabledAndMutedUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss := b.issue(t, b.alice)
	key := auth.NewKey()
	_, err := b.svc.Queries.APIKeyCreate(b.ctx, b.svc.Pool, db.APIKeyCreateParams{UserID: b.alice.ID, Name: "k",
		KeyHash: auth.HashKey(key), KeyHint: auth.KeyHint(key)})
	require.NoError(t, err)
	creds := map[string][2]string{"JWT": {"Bearer " + iss.Token, ""}, "Cookie": {"", iss.Cookie}, "APIKey": {"Bearer " + key, ""}}
	b.setStatus(t, b.alice, auth.StatusMuted)
	for name, c := range creds {
		p, err := b.authenticate(c[0], c[1])
		require.NoError(t, err, "a muted user manages their account: %s", name)
		require.Equal(t, auth.StatusMuted, p.Status)
	}
	b.setStatus(t, b.alice, auth.StatusDisabled)
	for name, c := range creds {
		p, err := b.authenticate(c[0], c[1])
		require.Nil(t, p, name)
		requireFault(t, err, fault.Forbidden, "forbidden")
	}
	u, err := b.svc.Queries.UserGet(b.ctx, b.svc.Pool, b.alice.ID)
	require.NoError(t, err)
	_, err = b.svc.IssueVia(b.ctx, u, auth.MethodPasskey)
	requireFault(t, err, fault.Forbidden, "forbidden")
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := auth.NewKey()
	require.Regexp(t, regexp.MustCompile(`^sk-[0-9A-Za-z]{48}$`), key)
	require.NotEqual(t, key, auth.NewKey())
	require.Len(t, auth.HashKey(key), 32)
	require.Equal(t, key[:7]+"…"+key[len(key)-4:], auth.KeyHint(key))
	require.Equal(t, "sk-…", auth.KeyHint("sk-short"))

	row, err := b.svc.Queries.APIKeyCreate(b.ctx, b.svc.Pool, db.APIKeyCreateParams{UserID: b.alice.ID, Name: "k",
		KeyHash: auth.HashKey(key), KeyHint: auth.KeyHint(key)})
	require.NoError(t, err)
	p, err := b.authenticate("Bearer "+key, "")
	require.NoError(t, err)
	require.Equal(t, &auth.Principal{UserID: b.alice.ID, Username: "alice", Role: auth.RoleUser, Status: auth.StatusActive,
		Via: auth.ViaAPIKey, KeyID: row.ID}, p)
	requireFault(t, auth.RequireSession(p), fault.Forbidden, "session_required")
	require.NoError(t, b.svc.SignOut(b.ctx, p), "an API key has no session to end")

	p, err = b.authenticate("Bearer "+auth.NewKey(), "")
	requireUnauthorized(t, p, err)
	st := auth.StatusDisabled
	_, err = b.svc.Queries.APIKeyUpdate(b.ctx, b.svc.Pool, db.APIKeyUpdateParams{ID: row.ID, UserID: b.alice.ID, Status: &st})
	require.NoError(t, err)
	p, err = b.authenticate("Bearer "+key, "")
	requireUnauthorized(t, p, err)
}

func TestMalformedCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss := b.issue(t, b.alice)
	for _, h := range []string{"Bearer", "Bearer ", "Bearer    ", "Basic YWxpY2U6cHc=", "Token " + iss.Token, iss.Token} {
		p, err := b.authenticate(h, "")
		requireUnauthorized(t, p, err)
	}
	p, err := b.authenticate("", "")
	requireUnauthorized(t, p, err)
}

func TestPrincipalContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	require.Nil(t, auth.PrincipalFrom(ctx))
	p := &auth.Principal{UserID: 1, Role: auth.RoleAdmin}
	require.Same(t, p, auth.PrincipalFrom(auth.WithPrincipal(ctx, p)))
	require.True(t, p.IsAdmin())
	require.Equal(t, auth.Client{}, auth.ClientFrom(ctx))
	require.Equal(t, "1.2.3.4", auth.ClientFrom(auth.WithClient(ctx, auth.Client{IP: "1.2.3.4"})).IP)
}

// TestResolveSession: the gateway accepts a session's JWT or cookie value; an ended session stops
// at once on this instance.
func TestResolveSession(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss := b.issue(t, b.alice)
	require.True(t, auth.LooksLikeJWT(iss.Token))
	require.False(t, auth.LooksLikeJWT(auth.NewKey()))
	for _, c := range []struct {
		tok    string
		cookie bool
	}{{iss.Token, false}, {iss.Cookie, true}, {iss.Token, false}, {iss.Cookie, true}} {
		uid, sid, err := b.svc.ResolveSession(b.ctx, c.tok, c.cookie)
		require.NoError(t, err)
		require.Equal(t, b.alice.ID, uid)
		require.Equal(t, iss.SessionID, sid)
	}
	_, _, err := b.svc.ResolveSession(b.ctx, iss.SessionID+".bad-secret", true)
	requireFault(t, err, fault.Unauthorized, "unauthorized")
	require.NoError(t, b.svc.EndSession(b.ctx, b.alice.ID, iss.SessionID))
	for _, c := range []struct {
		tok    string
		cookie bool
	}{{iss.Token, false}, {iss.Cookie, true}} {
		_, _, err := b.svc.ResolveSession(b.ctx, c.tok, c.cookie)
		requireFault(t, err, fault.Unauthorized, "unauthorized")
	}
}
