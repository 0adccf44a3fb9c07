package auth

import (
	"context"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// Brute-force limits on password sign-in: failures per username and per client address within
// loginWindow. Unknown usernames count the same as known ones.
const (
	loginUserLimit = 5
	loginIPLimit   = 20
	loginWindow    = 15 * time.Minute
)

var (
	errBadLogin       = fault.New(fault.Unauthorized, "invalid username or password")
	errTOTPRequired   = fault.Code(fault.Unauthorized, "totp_required", "enter the code of your authenticator app")
	errTOTPInvalid    = fault.Code(fault.Unauthorized, "totp_invalid", "the TOTP code is wrong")
	errPasswordOff    = fault.Code(fault.Forbidden, "password_login_disabled", "password sign-in is turned off; use single sign-on or a passkey")
	errWrongPassword  = fault.Code(fault.Invalid, "password_incorrect", "the old password is wrong")
	msgTooManyAttempt = "too many attempts; try again later"
)

// tooMany is the 429 of every attempt limit, asking to wait d (Retry-After in whole seconds,
// rounded up).
func tooMany(d time.Duration) error {
	e := fault.Code(fault.RateLimited, "too_many_attempts", msgTooManyAttempt)
	e.RetryAfter = strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
	return e
}

// Login is a password sign-in attempt.
type Login struct {
	// Username is the username or the user's e-mail address.
	Username string
	Password string
	// TOTP is the second factor's code, needed when the user turned TOTP on.
	TOTP string
}

// PasswordLogin checks a password sign-in. Five failures for one username or twenty from one
// client address (ClientFrom) within 15 minutes refuse further attempts with 429 and the wait,
// whether or not the username exists. With oidc_only on, only administrators pass.
func (s *Service) PasswordLogin(ctx context.Context, in Login) (*db.User, error) {
	now := s.now()
	userKey := "login:u:" + strings.ToLower(in.Username)
	ipKey := "login:ip:" + ClientFrom(ctx).IP
	lim := s.limiter()
	keys := []struct {
		key   string
		limit int
	}{{userKey, loginUserLimit}, {ipKey, loginIPLimit}}
	if ClientFrom(ctx).IP == "" { // no client address known (an internal caller): the username's limit only
		keys, ipKey = keys[:1], ""
	}
	for _, k := range keys {
		d, err := lim.Wait(ctx, k.key, k.limit, loginWindow, now)
		if err != nil {
			return nil, fault.Wrap(fault.Unavailable, errUnavailable, err)
		}
		if d > 0 {
			return nil, tooMany(d)
		}
	}
	fail := func(e error) (*db.User, error) {
		for _, k := range []string{userKey, ipKey} {
			if k == "" {
				continue
			}
			if err := lim.Hit(ctx, k, loginWindow, now); err != nil {
				return nil, fault.Wrap(fault.Unavailable, errUnavailable, err)
			}
		}
		return nil, e
	}
	u, err := s.userByLogin(ctx, in.Username)
	if fault.Is(err, fault.NotFound) {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(in.Password))
		return fail(errBadLogin)
	}
	if err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(in.Password)) != nil || !u.PasswordSet {
		return fail(errBadLogin)
	}
	if u.Status == StatusDisabled {
		return nil, errDisabled
	}
	if s.settings().OIDCOnly && u.Role != RoleAdmin {
		return nil, errPasswordOff
	}
	if u.TOTPEnabled {
		if in.TOTP == "" {
			return nil, errTOTPRequired
		}
		ok, err := s.checkTOTP(ctx, u, in.TOTP)
		if err != nil {
			return nil, err
		}
		if !ok {
			return fail(errTOTPInvalid)
		}
	}
	if err := lim.Reset(ctx, userKey); err != nil {
		return nil, fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	return u, nil
}

// userByLogin finds a user by username, or by e-mail address when the login holds an @
// (usernames cannot).
func (s *Service) userByLogin(ctx context.Context, login string) (*db.User, error) {
	var u *db.User
	var err error
	if strings.Contains(login, "@") {
		u, err = s.Queries.UserGetByEmail(ctx, s.Pool, login)
	} else {
		u, err = s.Queries.UserGetByUsername(ctx, s.Pool, login)
	}
	if err != nil {
		return nil, store.Translate(err, "user not found")
	}
	return u, nil
}

// ChangePassword sets a signed-in user's new password after proving them with the old one or an
// e-mail code (purpose change) and ends their other sessions (keep is the session making the
// change; "" ends all). Wrong old passwords count against the user like failed sign-ins.
func (s *Service) ChangePassword(ctx context.Context, uid int64, keep, oldPassword, emailCode, newPassword string) error {
	if (oldPassword == "") == (emailCode == "") {
		return fault.New(fault.Invalid, "give either old_password or email_code")
	}
	u, err := s.Queries.UserGet(ctx, s.Pool, uid)
	if err != nil {
		return store.Translate(err, "user not found")
	}
	if oldPassword != "" {
		key := "password:" + stringID(uid)
		now := s.now()
		d, err := s.limiter().Wait(ctx, key, loginUserLimit, loginWindow, now)
		if err != nil {
			return fault.Wrap(fault.Unavailable, errUnavailable, err)
		}
		if d > 0 {
			return tooMany(d)
		}
		if !u.PasswordSet || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(oldPassword)) != nil {
			if err := s.limiter().Hit(ctx, key, loginWindow, now); err != nil {
				return fault.Wrap(fault.Unavailable, errUnavailable, err)
			}
			return errWrongPassword
		}
	} else {
		if u.Email == nil {
			return errEmailMissing
		}
		if err := s.UseCode(ctx, *u.Email, PurposeChange, emailCode); err != nil {
			return err
		}
	}
	return s.SetPassword(ctx, uid, newPassword, keep)
}

// ResetPassword sets a new password with an e-mail code (purpose reset) and ends every session
// of the user.
func (s *Service) ResetPassword(ctx context.Context, email, code, newPassword string) error {
	if err := s.UseCode(ctx, email, PurposeReset, code); err != nil {
		return err
	}
	u, err := s.Queries.UserGetByEmail(ctx, s.Pool, email)
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return errCodeInvalid // the address was removed since the code was sent
		}
		return err
	}
	return s.SetPassword(ctx, u.ID, newPassword, "")
}

// SetPassword stores a new password and ends the user's sessions but keep ("" for all).
func (s *Service) SetPassword(ctx context.Context, uid int64, password, keep string) error {
	hash, err := s.HashPassword(password)
	if err != nil {
		return err
	}
	if err := s.Queries.UserSetPassword(ctx, s.Pool, db.UserSetPasswordParams{ID: uid, PasswordHash: hash}); err != nil {
		return store.Translate(err, "user not found")
	}
	return s.EndSessions(ctx, uid, keep)
}
