package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/testdb"
)

const secret = "test-jwt-secret-0123456789-abcdefghij"

type testBundle struct {
	svc *auth.Service
	clk *clock
	ctx context.Context
	// alice is an active user whose password is "alice-password".
	alice *db.User
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	pool := testdb.New(t)
	clk := newClock()
	svc := &auth.Service{Pool: pool, Queries: db.New(), Sessions: auth.NewMemorySessions(clk.Now),
		Secret: []byte(secret), BcryptCost: bcrypt.MinCost, MaxDevices: 5, Now: clk.Now}
	b := &testBundle{svc: svc, clk: clk, ctx: context.Background()}
	b.alice = b.user(t, "alice", "alice-password")
	return b
}

func (b *testBundle) user(t *testing.T, name, password string) *db.User {
	t.Helper()
	hash, err := b.svc.HashPassword(password)
	require.NoError(t, err)
	u, err := b.svc.Queries.UserCreate(b.ctx, b.svc.Pool, db.UserCreateParams{Username: name, PasswordHash: hash, Role: auth.RoleUser})
	require.NoError(t, err)
	return u
}

func (b *testBundle) disable(t *testing.T, u *db.User) {
	t.Helper()
	st := auth.StatusDisabled
	_, err := b.svc.Queries.UserUpdate(b.ctx, b.svc.Pool, db.UserUpdateParams{ID: u.ID, Status: &st})
	require.NoError(t, err)
}

// authenticate runs Authenticate on a request with the given Authorization header and cookie.
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

func requireFault(t *testing.T, err error, kind fault.Kind, msg string) {
	t.Helper()
	fe, ok := fault.As(err)
	require.True(t, ok, "not a fault: %v", err)
	require.Equal(t, kind, fe.Kind, err.Error())
	require.Equal(t, msg, fe.Message)
}

const msgUnauthorized = "密钥无效或已失效,请重新登录"

func requireUnauthorized(t *testing.T, p *auth.Principal, err error) {
	t.Helper()
	require.Nil(t, p)
	requireFault(t, err, fault.Unauthorized, msgUnauthorized)
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
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte("pw-1234567")))
	require.Equal(t, 12, auth.DefaultBcryptCost)

	_, err = b.svc.HashPassword(string(make([]byte, 73)))
	require.Error(t, err, "bcrypt refuses passwords over 72 bytes rather than truncating them")

	u, err := b.svc.Login(b.ctx, "alice", "alice-password")
	require.NoError(t, err)
	require.Equal(t, b.alice.ID, u.ID)
	u, err = b.svc.Login(b.ctx, "ALICE", "alice-password")
	require.NoError(t, err, "usernames are case-insensitive")
	require.Equal(t, b.alice.ID, u.ID)

	_, err = b.svc.Login(b.ctx, "alice", "wrong-password")
	requireFault(t, err, fault.Unauthorized, "invalid username or password")
	_, err = b.svc.Login(b.ctx, "nobody", "alice-password")
	requireFault(t, err, fault.Unauthorized, "invalid username or password")
	_, err = b.svc.Login(b.ctx, "alice", "")
	requireFault(t, err, fault.Unauthorized, "invalid username or password")

	b.disable(t, b.alice)
	_, err = b.svc.Login(b.ctx, "alice", "wrong-password")
	requireFault(t, err, fault.Unauthorized, "invalid username or password")
	_, err = b.svc.Login(b.ctx, "alice", "alice-password")
	requireFault(t, err, fault.Forbidden, "this account is disabled")
}

func TestJWT(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss, err := b.svc.Issue(b.ctx, b.alice)
	require.NoError(t, err)
	require.Equal(t, b.clk.Now().Add(24*time.Hour), iss.ExpiresAt)

	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(iss.Token, &claims, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithTimeFunc(b.clk.Now))
	require.NoError(t, err)
	require.Equal(t, "HS256", tok.Method.Alg())
	require.Equal(t, strconv.FormatInt(b.alice.ID, 10), claims.Subject)
	require.Equal(t, "poolgate", claims.Issuer)
	require.NotEmpty(t, claims.ID)

	p, err := b.authenticate("Bearer "+iss.Token, "")
	require.NoError(t, err)
	require.True(t, iss.ExpiresAt.Equal(p.ExpiresAt), "%v != %v", iss.ExpiresAt, p.ExpiresAt)
	p.ExpiresAt = time.Time{}
	require.Equal(t, &auth.Principal{UserID: b.alice.ID, Username: "alice", Role: auth.RoleUser, Via: auth.ViaJWT,
		JTI: claims.ID}, p)
	require.False(t, p.IsAdmin())
	p, err = b.authenticate("bearer "+iss.Token, "")
	require.NoError(t, err, "the scheme is case-insensitive")
	require.Equal(t, auth.ViaJWT, p.Via)

	// Valid until its expiry, by the injected clock.
	b.clk.Add(24*time.Hour - time.Second)
	_, err = b.authenticate("Bearer "+iss.Token, "")
	require.NoError(t, err, "valid until its expiry")
	b.clk.Add(time.Second)
	p, err = b.authenticate("Bearer "+iss.Token, "")
	requireUnauthorized(t, p, err)
}

func TestJWTRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := b.clk.Now()
	sub := strconv.FormatInt(b.alice.ID, 10)
	good := func() jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Subject: sub, ID: "jti-1", Issuer: "poolgate", IssuedAt: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}
	}
	// The control: the same claims, signed properly, are accepted.
	_, err := b.authenticate("Bearer "+sign(t, jwt.SigningMethodHS256, []byte(secret), good()), "")
	require.NoError(t, err)

	with := func(f func(*jwt.RegisteredClaims)) jwt.RegisteredClaims { c := good(); f(&c); return c }
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good())
	tests := map[string]string{
		"WrongSecret": sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789-abcdefghij"), good()),
		"AlgNone":     none,
		"AlgNoneSigned": func() string { // "none" in the header, whatever follows
			return none + "c2lnbmF0dXJl"
		}(),
		"HS512":           sign(t, jwt.SigningMethodHS512, []byte(secret), good()),
		"HS384":           sign(t, jwt.SigningMethodHS384, []byte(secret), good()),
		"Expired":         sign(t, jwt.SigningMethodHS256, []byte(secret), with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) })),
		"NoExpiry":        sign(t, jwt.SigningMethodHS256, []byte(secret), with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })),
		"NotYetValid":     sign(t, jwt.SigningMethodHS256, []byte(secret), with(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) })),
		"OtherIssuer":     sign(t, jwt.SigningMethodHS256, []byte(secret), with(func(c *jwt.RegisteredClaims) { c.Issuer = "someone-else" })),
		"NoIssuer":        sign(t, jwt.SigningMethodHS256, []byte(secret), with(func(c *jwt.RegisteredClaims) { c.Issuer = "" })),
		"SubjectNotID":    sign(t, jwt.SigningMethodHS256, []byte(secret), with(func(c *jwt.RegisteredClaims) { c.Subject = "alice" })),
		"UnknownUser":     sign(t, jwt.SigningMethodHS256, []byte(secret), with(func(c *jwt.RegisteredClaims) { c.Subject = "999999" })),
		"Garbage":         "not-a-jwt",
		"TruncatedSig":    func() string { s := sign(t, jwt.SigningMethodHS256, []byte(secret), good()); return s[:len(s)-2] }(),
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

func TestJWTRevocation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss, err := b.svc.Issue(b.ctx, b.alice)
	require.NoError(t, err)
	other, err := b.svc.Issue(b.ctx, b.alice)
	require.NoError(t, err)
	p, err := b.authenticate("Bearer "+iss.Token, "")
	require.NoError(t, err)

	require.NoError(t, b.svc.Revoke(b.ctx, p, ""))
	p2, err := b.authenticate("Bearer "+iss.Token, "")
	requireUnauthorized(t, p2, err)
	_, err = b.authenticate("Bearer "+other.Token, "")
	require.NoError(t, err, "revoking one token leaves the user's others")
	_, err = b.authenticate("", iss.SessionID)
	require.NoError(t, err, "revoking the token leaves the session unless it is named")
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss, err := b.svc.Issue(b.ctx, b.alice)
	require.NoError(t, err)
	p, err := b.authenticate("", iss.SessionID)
	require.NoError(t, err)
	require.Equal(t, &auth.Principal{UserID: b.alice.ID, Username: "alice", Role: auth.RoleUser, Via: auth.ViaSession,
		SessionID: iss.SessionID}, p)

	p2, err := b.authenticate("", "unknown-session")
	requireUnauthorized(t, p2, err)
	// Authorization, when present, decides alone: a bad one is not rescued by a good cookie.
	p2, err = b.authenticate("Bearer not-a-jwt", iss.SessionID)
	requireUnauthorized(t, p2, err)

	require.NoError(t, b.svc.Revoke(b.ctx, p, p.SessionID))
	p2, err = b.authenticate("", iss.SessionID)
	requireUnauthorized(t, p2, err)
	_, err = b.authenticate("Bearer "+iss.Token, "")
	require.NoError(t, err, "deleting the session leaves the JWT issued with it")

	// Sessions expire with the clock too.
	iss, err = b.svc.Issue(b.ctx, b.alice)
	require.NoError(t, err)
	b.clk.Add(24 * time.Hour)
	p2, err = b.authenticate("", iss.SessionID)
	requireUnauthorized(t, p2, err)
}

func TestDeviceLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.svc.MaxDevices = 2
	var sids []string
	for range 3 {
		iss, err := b.svc.Issue(b.ctx, b.alice)
		require.NoError(t, err)
		sids = append(sids, iss.SessionID)
		b.clk.Add(time.Millisecond)
	}
	p, err := b.authenticate("", sids[0])
	requireUnauthorized(t, p, err)
	for _, sid := range sids[1:] {
		_, err := b.authenticate("", sid)
		require.NoError(t, err)
	}
}

func TestDisabledUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	iss, err := b.svc.Issue(b.ctx, b.alice)
	require.NoError(t, err)
	key := auth.NewKey()
	_, err = b.svc.Queries.APIKeyCreate(b.ctx, b.svc.Pool, db.APIKeyCreateParams{UserID: b.alice.ID, Name: "k",
		KeyHash: auth.HashKey(key), KeyHint: auth.KeyHint(key)})
	require.NoError(t, err)
	b.disable(t, b.alice)
	for name, creds := range map[string][2]string{
		"JWT": {"Bearer " + iss.Token, ""}, "Cookie": {"", iss.SessionID}, "APIKey": {"Bearer " + key, ""},
	} {
		p, err := b.authenticate(creds[0], creds[1])
		require.Nil(t, p, name)
		requireFault(t, err, fault.Forbidden, "this account is disabled")
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := auth.NewKey()
	require.Regexp(t, regexp.MustCompile(`^sk-[0-9A-Za-z]{48}$`), key)
	require.NotEqual(t, key, auth.NewKey())
	require.Len(t, auth.HashKey(key), 32)
	require.Equal(t, auth.HashKey(key), auth.HashKey(key))
	require.NotEqual(t, auth.HashKey(key), auth.HashKey(auth.NewKey()))
	require.Equal(t, key[:7]+"…"+key[len(key)-4:], auth.KeyHint(key))
	require.Equal(t, "sk-…", auth.KeyHint("sk-short"))

	row, err := b.svc.Queries.APIKeyCreate(b.ctx, b.svc.Pool, db.APIKeyCreateParams{UserID: b.alice.ID, Name: "k",
		KeyHash: auth.HashKey(key), KeyHint: auth.KeyHint(key)})
	require.NoError(t, err)
	p, err := b.authenticate("Bearer "+key, "")
	require.NoError(t, err)
	require.Equal(t, &auth.Principal{UserID: b.alice.ID, Username: "alice", Role: auth.RoleUser, Via: auth.ViaAPIKey,
		KeyID: row.ID}, p)

	p, err = b.authenticate("Bearer "+auth.NewKey(), "")
	requireUnauthorized(t, p, err)
	p, err = b.authenticate("Bearer "+key+"x", "")
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
	iss, err := b.svc.Issue(b.ctx, b.alice)
	require.NoError(t, err)
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
}
