package auth_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
)

func (b *testBundle) totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return c
}

func TestTOTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret, url, err := b.svc.TOTPSetup(b.ctx, b.alice.ID)
	require.NoError(t, err)
	require.Regexp(t, `^[A-Z2-7]{32}$`, secret)
	require.Contains(t, url, "otpauth://totp/Poolgate:alice?")
	require.Contains(t, url, "secret="+secret)
	_, err = b.login("alice", "alice-password")
	require.NoError(t, err, "not in effect until enabled")

	requireFault(t, b.svc.TOTPEnable(b.ctx, b.alice.ID, "000000"), fault.Invalid, "totp_invalid")
	require.NoError(t, b.svc.TOTPEnable(b.ctx, b.alice.ID, b.totpCode(t, secret, b.clk.Now())))
	_, _, err = b.svc.TOTPSetup(b.ctx, b.alice.ID)
	requireFault(t, err, fault.Conflict, "conflict")

	_, err = b.login("alice", "alice-password")
	requireFault(t, err, fault.Unauthorized, "totp_required")
	_, err = b.svc.PasswordLogin(b.ctx, auth.Login{Username: "alice", Password: "wrong", TOTP: "123456"})
	requireFault(t, err, fault.Unauthorized, "unauthorized")

	b.clk.Add(30 * time.Second)
	code := b.totpCode(t, secret, b.clk.Now())
	_, err = b.svc.PasswordLogin(b.ctx, auth.Login{Username: "alice", Password: "alice-password", TOTP: code})
	require.NoError(t, err)
	_, err = b.svc.PasswordLogin(b.ctx, auth.Login{Username: "alice", Password: "alice-password", TOTP: code})
	requireFault(t, err, fault.Unauthorized, "totp_invalid") // a code works once
	prev := b.totpCode(t, secret, b.clk.Now().Add(-30*time.Second))
	_, err = b.svc.PasswordLogin(b.ctx, auth.Login{Username: "alice", Password: "alice-password", TOTP: prev})
	requireFault(t, err, fault.Unauthorized, "totp_invalid") // nor an older one after it
	b.clk.Add(30 * time.Second)
	_, err = b.svc.PasswordLogin(b.ctx, auth.Login{Username: "alice", Password: "alice-password",
		TOTP: b.totpCode(t, secret, b.clk.Now().Add(30*time.Second))})
	require.NoError(t, err, "the next step's code is accepted (clock skew)")

	// Disabling takes a current code; wrong codes are limited like sign-ins.
	b.clk.Add(15 * time.Minute)
	for range 5 {
		requireFault(t, b.svc.TOTPDisable(b.ctx, b.alice.ID, "000000"), fault.Invalid, "totp_invalid")
	}
	requireFault(t, b.svc.TOTPDisable(b.ctx, b.alice.ID, b.totpCode(t, secret, b.clk.Now())), fault.RateLimited, "too_many_attempts")
	b.clk.Add(15 * time.Minute)
	require.NoError(t, b.svc.TOTPDisable(b.ctx, b.alice.ID, b.totpCode(t, secret, b.clk.Now())))
	_, err = b.login("alice", "alice-password")
	require.NoError(t, err)
	requireFault(t, b.svc.TOTPDisable(b.ctx, b.alice.ID, "123456"), fault.Invalid, "invalid_request")
}

var codeRe = regexp.MustCompile(`\b[0-9]{6}\b`)

// waitCode waits for the n-th mail (they are sent in the background) and returns its code.
func (b *testBundle) waitCode(t *testing.T, n int) (to, code string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(b.mail.all()) >= n }, 5*time.Second, 5*time.Millisecond)
	m := b.mail.all()[n-1]
	require.Contains(t, m.subject, "verification code")
	return m.to, codeRe.FindString(m.body)
}

func TestEmailCodes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// register: only to an address no user has; reset: only to one a user has. The answer is alike.
	require.NoError(t, b.svc.SendCode(b.ctx, "alice@example.test", auth.PurposeRegister))
	require.NoError(t, b.svc.SendCode(b.ctx, "nobody@example.test", auth.PurposeReset))
	require.NoError(t, b.svc.SendCode(b.ctx, "New@Example.test", auth.PurposeRegister))
	to, code := b.waitCode(t, 1)
	require.Equal(t, "new@example.test", to)
	require.Regexp(t, `^[0-9]{6}$`, code)

	requireFault(t, b.svc.UseCode(b.ctx, "new@example.test", auth.PurposeReset, code), fault.Invalid, "email_code_invalid")
	require.NoError(t, b.svc.UseCode(b.ctx, "NEW@example.test", auth.PurposeRegister, code))
	requireFault(t, b.svc.UseCode(b.ctx, "new@example.test", auth.PurposeRegister, code), fault.Invalid, "email_code_invalid")

	// One code a minute per address (whatever the purpose).
	err := b.svc.SendCode(b.ctx, "alice@example.test", auth.PurposeReset)
	requireFault(t, err, fault.RateLimited, "too_many_attempts")
	b.clk.Add(time.Minute)
	require.NoError(t, b.svc.SendCode(b.ctx, "alice@example.test", auth.PurposeReset))
	err = b.svc.SendCode(b.ctx, "alice@example.test", auth.PurposeReset)
	fe := requireFault(t, err, fault.RateLimited, "too_many_attempts")
	require.NotEmpty(t, fe.RetryAfter)
	_, code = b.waitCode(t, 2)
	// Five wrong guesses kill a code.
	for range 5 {
		requireFault(t, b.svc.UseCode(b.ctx, "alice@example.test", auth.PurposeReset, "000000"), fault.Invalid, "email_code_invalid")
	}
	requireFault(t, b.svc.UseCode(b.ctx, "alice@example.test", auth.PurposeReset, code), fault.Invalid, "email_code_invalid")

	// A code expires after 10 minutes; a new one replaces the old.
	b.clk.Add(time.Minute)
	require.NoError(t, b.svc.SendCode(b.ctx, "alice@example.test", auth.PurposeReset))
	_, old := b.waitCode(t, 3)
	b.clk.Add(time.Minute)
	require.NoError(t, b.svc.SendCode(b.ctx, "alice@example.test", auth.PurposeReset))
	_, code = b.waitCode(t, 4)
	if old != code {
		requireFault(t, b.svc.UseCode(b.ctx, "alice@example.test", auth.PurposeReset, old), fault.Invalid, "email_code_invalid")
	}
	b.clk.Add(auth.CodeTTL)
	requireFault(t, b.svc.UseCode(b.ctx, "alice@example.test", auth.PurposeReset, code), fault.Invalid, "email_code_invalid")

	// Reset with a fresh code: every session ends; the new password works.
	iss := b.issue(t, b.alice)
	require.NoError(t, b.svc.SendCode(b.ctx, "alice@example.test", auth.PurposeReset))
	_, code = b.waitCode(t, 5)
	require.NoError(t, b.svc.ResetPassword(b.ctx, "alice@example.test", code, "new-password-1"))
	p, err := b.authenticate("", iss.Cookie)
	requireUnauthorized(t, p, err)
	_, err = b.login("alice", "new-password-1")
	require.NoError(t, err)

	// Without a mailer, codes are off.
	off := &auth.Service{Pool: b.svc.Pool, Queries: b.svc.Queries}
	requireFault(t, off.SendCode(b.ctx, "x@example.test", auth.PurposeRegister), fault.Unavailable, "email_unavailable")
	require.Len(t, b.mail.all(), 5, "no mail to addresses that do not qualify")
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	current := b.issue(t, b.alice)
	other := b.issue(t, b.alice)
	requireFault(t, b.svc.ChangePassword(b.ctx, b.alice.ID, current.SessionID, "", "", "new-password-1"), fault.Invalid, "invalid_request")
	for range 5 {
		requireFault(t, b.svc.ChangePassword(b.ctx, b.alice.ID, current.SessionID, "wrong", "", "new-password-1"),
			fault.Invalid, "password_incorrect")
	}
	requireFault(t, b.svc.ChangePassword(b.ctx, b.alice.ID, current.SessionID, "alice-password", "", "new-password-1"),
		fault.RateLimited, "too_many_attempts")
	b.clk.Add(15 * time.Minute)
	require.NoError(t, b.svc.ChangePassword(b.ctx, b.alice.ID, current.SessionID, "alice-password", "", "new-password-1"))
	_, err := b.authenticate("", current.Cookie)
	require.NoError(t, err, "the session making the change stays")
	p, err := b.authenticate("Bearer "+other.Token, "")
	requireUnauthorized(t, p, err)

	// With an e-mail code instead of the old password.
	require.NoError(t, b.svc.SendChangeCode(b.ctx, b.alice.ID))
	_, code := b.waitCode(t, 1)
	require.NoError(t, b.svc.ChangePassword(b.ctx, b.alice.ID, "", "", code, "new-password-2"))
	p, err = b.authenticate("", current.Cookie)
	requireUnauthorized(t, p, err)
	_, err = b.login("alice", "new-password-2")
	require.NoError(t, err)

	noMail, err := b.svc.CreateUser(b.ctx, b.svc.Pool, auth.NewUser{Username: "nomail", Password: "password-1"})
	require.NoError(t, err)
	requireFault(t, b.svc.SendChangeCode(b.ctx, noMail.ID), fault.Unprocessable, "email_missing")
}

func TestCreateUserConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	email := "ALICE@example.test"
	_, err := b.svc.CreateUser(b.ctx, b.svc.Pool, auth.NewUser{Username: "alice2", Password: "password-1", Email: &email})
	fe := requireFault(t, err, fault.Conflict, "conflict")
	require.Contains(t, fe.Message, "e-mail")
	_, err = b.svc.CreateUser(b.ctx, b.svc.Pool, auth.NewUser{Username: "Alice", Password: "password-1"})
	fe = requireFault(t, err, fault.Conflict, "conflict")
	require.Contains(t, fe.Message, "username")
	u, err := b.svc.CreateFirstAdmin(b.ctx, "root", "root-password")
	require.NoError(t, err)
	require.Equal(t, auth.RoleAdmin, u.Role)
	_, err = b.svc.CreateFirstAdmin(b.ctx, "root2", "root-password")
	requireFault(t, err, fault.Conflict, "setup_completed")
}
