package auth_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	authclient "github.com/poolgate/poolgate/clients/go/auth"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// withMail runs the app with maildev as its SMTP server.
func withMail(t *testing.T) (*testBundle, *testsvc.Maildev) {
	t.Helper()
	md := testsvc.StartMaildev(t, "poolgate", "smtp-password-123")
	b := setup(t, apptest.WithConfig(func(c *config.Config) { c.SMTPURL = md.SMTPURL }))
	return b, md
}

func (b *testBundle) sendCode(t *testing.T, email string, purpose authclient.EmailCodeRequestPurpose) {
	t.Helper()
	res, err := b.auth.EmailCodeSendWithResponse(b.ctx, authclient.EmailCodeRequest{Email: authclient.Email(email), Purpose: purpose})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, res.StatusCode(), string(res.Body))
	require.Equal(t, 600, res.JSON202.ExpiresIn)
}

func (b *testBundle) settings(t *testing.T, s adminclient.SettingsUpdate) {
	t.Helper()
	res, err := b.env.Admin().SettingsUpdateWithResponse(b.ctx, s)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
}

func ptr[T any](v T) *T { return &v }

// TestEmailVerifiedRegistration: with email_verification_required on, registration takes an
// address and the code maildev received for it.
func TestEmailVerifiedRegistration(t *testing.T) {
	t.Parallel()
	b, md := withMail(t)
	b.settings(t, adminclient.SettingsUpdate{EmailVerificationRequired: ptr(true)})
	email := authclient.Email("mia@example.test")
	res, err := b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: "mia", Password: "mia-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "email_required", "", res.StatusCode(), res.Body)

	b.sendCode(t, string(email), authclient.Register)
	code := md.Code(t, string(email), 1)
	mail := md.Mails(t, string(email))[0]
	require.Equal(t, "Poolgate verification code", mail.Subject)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	res, err = b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: "mia", Password: "mia-password",
		Email: &email, EmailCode: &wrong})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "email_code_invalid", "", res.StatusCode(), res.Body)
	res, err = b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: "mia", Password: "mia-password",
		Email: &email, EmailCode: &code})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, "mia@example.test", res.JSON200.User.Email.MustGet())
	// The code is spent; the address is taken.
	res, err = b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: "mia2", Password: "mia-password",
		Email: &email, EmailCode: &code})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "email_code_invalid", "", res.StatusCode(), res.Body)
	// Sign in by address too.
	b.login(t, "MIA@example.test", "mia-password")
}

// TestPasswordReset: a reset code sets a new password and ends every session; the answer for an
// unknown address is the same, and nothing is mailed.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	b, md := withMail(t)
	email := authclient.Email("noah@example.test")
	reg, err := b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: "noah", Password: "noah-password", Email: &email})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reg.StatusCode(), string(reg.Body))
	s := b.login(t, "noah", "noah-password")

	b.sendCode(t, "nobody@example.test", authclient.Reset)
	b.sendCode(t, string(email), authclient.Reset)
	code := md.Code(t, string(email), 1)
	res, err := b.auth.PasswordResetWithResponse(b.ctx, authclient.PasswordResetRequest{Email: email, EmailCode: code,
		NewPassword: "noah-new-password"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
	requireMeRefused(t, b, apptest.Bearer(s.token))
	requireMeRefused(t, b, withCookie(s.cookie.Value))
	b.login(t, "noah", "noah-new-password")
	res, err = b.auth.PasswordResetWithResponse(b.ctx, authclient.PasswordResetRequest{Email: email, EmailCode: code,
		NewPassword: "noah-third-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusBadRequest, "email_code_invalid", "", res.StatusCode(), res.Body)
	require.Empty(t, md.Mails(t, "nobody@example.test"))

	// A second code within the minute: 429 with Retry-After.
	again, err := b.auth.EmailCodeSendWithResponse(b.ctx, authclient.EmailCodeRequest{Email: email, Purpose: authclient.Reset})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusTooManyRequests, "too_many_attempts", "", again.StatusCode(), again.Body)
	require.Regexp(t, `^[1-9][0-9]*$`, again.HTTPResponse.Header.Get("Retry-After"))
}

func TestEmailUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.auth.EmailCodeSendWithResponse(b.ctx, authclient.EmailCodeRequest{Email: "x@example.test", Purpose: authclient.Register})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusServiceUnavailable, "email_unavailable", "", res.StatusCode(), res.Body)
}

// TestBruteForceLimits: five wrong passwords for one username answer 429 with Retry-After, even
// for the right password, and an unknown username behaves alike.
func TestBruteForceLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, "olga", "olga-password")
	for _, name := range []string{"olga", "nobody-at-all"} {
		for range 5 {
			res, err := b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: name, Password: "wrong-password"})
			require.NoError(t, err)
			apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "invalid username or password", res.StatusCode(), res.Body)
		}
		res, err := b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: name, Password: "olga-password"})
		require.NoError(t, err)
		apptest.RequireError(t, http.StatusTooManyRequests, "too_many_attempts", "", res.StatusCode(), res.Body)
		ra := res.HTTPResponse.Header.Get("Retry-After")
		require.Regexp(t, `^[0-9]+$`, ra)
		require.Contains(t, []string{"900", "899"}, ra, name)
	}
	b.login(t, apptest.AdminUsername, apptest.AdminPassword) // other usernames are not affected
}

func totpNow(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return c
}

// TestTOTPLogin turns TOTP on through the user API; password sign-in then needs the code.
func TestTOTPLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.register(t, "pia", "pia-password")
	u := b.env.User(s.token)
	setup, err := u.TotpSetupWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, setup.StatusCode(), string(setup.Body))
	secret := setup.JSON200.Secret
	en, err := u.TotpEnableWithResponse(b.ctx, userclient.TotpCode{Code: totpNow(t, secret, time.Now().Add(-30*time.Second))})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, en.StatusCode(), string(en.Body))
	me, err := u.MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.True(t, *me.JSON200.TotpEnabled)

	res, err := b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "pia", Password: "pia-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "totp_required", "", res.StatusCode(), res.Body)
	bad := "000000"
	if totpNow(t, secret, time.Now()) == bad {
		bad = "111111"
	}
	res, err = b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "pia", Password: "pia-password", TotpCode: &bad})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusUnauthorized, "totp_invalid", "", res.StatusCode(), res.Body)
	good := totpNow(t, secret, time.Now())
	res, err = b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "pia", Password: "pia-password", TotpCode: &good})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))

	// Changing TOTP needs a session, not an API key.
	k, err := u.ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: "k"})
	require.NoError(t, err)
	dis, err := b.env.User(k.JSON201.Key).TotpDisableWithResponse(b.ctx, userclient.TotpCode{Code: good})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "session_required", "", dis.StatusCode(), dis.Body)
}

// TestOIDCOnly: with oidc_only on, only administrators sign in (or anyone registers) with a password.
func TestOIDCOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, "quinn", "quinn-password")
	b.settings(t, adminclient.SettingsUpdate{OidcOnly: ptr(true)})
	res, err := b.auth.PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "quinn", Password: "quinn-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "password_login_disabled", "", res.StatusCode(), res.Body)
	reg, err := b.auth.PasswordRegisterWithResponse(b.ctx, authclient.RegisterRequest{Username: "rita", Password: "rita-password"})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "password_login_disabled", "", reg.StatusCode(), reg.Body)
	b.login(t, apptest.AdminUsername, apptest.AdminPassword)
	pub, err := b.env.Public().SettingsPublicGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.True(t, *pub.JSON200.OidcOnly)
}

// TestCSRF: a state change made with the cookie from another site is refused; the same from the
// site itself passes.
func TestCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.register(t, "sam", "sam-password")
	u := b.env.User("")
	cross := func(origin string) userclient.RequestEditorFn {
		return func(_ context.Context, r *http.Request) error {
			r.Header.Set("Origin", origin)
			return nil
		}
	}
	res, err := u.ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: "k"}, withCookie(s.cookie.Value),
		cross("https://evil.example"))
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "csrf_refused", "", res.StatusCode(), res.Body)
	res, err = u.ApiKeyCreateWithResponse(b.ctx, userclient.ApiKeyCreateRequest{Name: "k"}, withCookie(s.cookie.Value),
		cross(b.env.PublicURL))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	out, err := b.auth.SessionLogoutWithResponse(b.ctx, withCookie(s.cookie.Value), func(_ context.Context, r *http.Request) error {
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		return nil
	})
	require.NoError(t, err)
	apptest.RequireError(t, http.StatusForbidden, "csrf_refused", "", out.StatusCode(), out.Body)
	requireMe(t, b, "sam", withCookie(s.cookie.Value))
}

// TestSlidingCookie: a cookie used after a while comes back with its lifetime renewed.
func TestSlidingCookie(t *testing.T) {
	t.Parallel()
	clk := &testClock{now: time.Now()}
	b := setup(t, apptest.WithClock(clk.Now))
	s := b.register(t, "tess", "tess-password")
	clk.add(23 * time.Hour)
	res, err := b.env.User("").MeGetWithResponse(b.ctx, withCookie(s.cookie.Value))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	c := sessionCookie(t, res.HTTPResponse)
	require.Equal(t, s.cookie.Value, c.Value)
	require.Equal(t, 86400, c.MaxAge)
	clk.add(23 * time.Hour)
	requireMe(t, b, "tess", withCookie(s.cookie.Value))
	requireMe(t, b, "tess", apptest.Bearer(s.token))
	clk.add(24 * time.Hour)
	requireMeRefused(t, b, withCookie(s.cookie.Value))
	require.False(t, strings.Contains(c.String(), "Secure"))
}

// testClock is a settable clock for the app.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
