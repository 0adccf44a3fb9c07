package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"strconv"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// totpPeriod is the TOTP time step; a code of the step before or after is accepted too.
const totpPeriod = 30

func stringID(id int64) string { return strconv.FormatInt(id, 10) }

// TOTPSetup makes a new TOTP secret for the user (not in effect until TOTPEnable) and returns it
// with its otpauth:// URL. Refused while TOTP is on.
func (s *Service) TOTPSetup(ctx context.Context, uid int64) (secret, url string, err error) {
	u, err := s.Queries.UserGet(ctx, s.Pool, uid)
	if err != nil {
		return "", "", store.Translate(err, "user not found")
	}
	if u.TOTPEnabled {
		return "", "", fault.New(fault.Conflict, "TOTP is already enabled")
	}
	if s.Box == nil {
		return "", "", errors.New("totp: no encryption key")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.settings().SiteName, AccountName: u.Username,
		Period: totpPeriod, SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", err
	}
	if err := s.Queries.UserTOTPSet(ctx, s.Pool, db.UserTOTPSetParams{ID: uid, SecretEnc: s.Box.Seal(key.Secret())}); err != nil {
		return "", "", store.Translate(err, "user not found")
	}
	return key.Secret(), key.URL(), nil
}

// TOTPEnable turns TOTP on with a first valid code of the pending secret.
func (s *Service) TOTPEnable(ctx context.Context, uid int64, code string) error {
	u, err := s.totpAttempt(ctx, uid)
	if err != nil {
		return err
	}
	if u.TOTPEnabled {
		return fault.New(fault.Conflict, "TOTP is already enabled")
	}
	if u.TOTPSecretEnc == nil {
		return fault.New(fault.Invalid, "set TOTP up first (POST /api/user/totp/setup)")
	}
	if err := s.totpVerdict(ctx, u, code); err != nil {
		return err
	}
	return store.Translate(s.Queries.UserTOTPEnable(ctx, s.Pool, uid), "")
}

// TOTPDisable turns TOTP off with a current code.
func (s *Service) TOTPDisable(ctx context.Context, uid int64, code string) error {
	u, err := s.totpAttempt(ctx, uid)
	if err != nil {
		return err
	}
	if !u.TOTPEnabled {
		return fault.New(fault.Invalid, "TOTP is not enabled")
	}
	if err := s.totpVerdict(ctx, u, code); err != nil {
		return err
	}
	return store.Translate(s.Queries.UserTOTPSet(ctx, s.Pool, db.UserTOTPSetParams{ID: uid}), "")
}

// totpAttempt loads the user after checking the limit on wrong TOTP codes (5 per 15 minutes).
func (s *Service) totpAttempt(ctx context.Context, uid int64) (*db.User, error) {
	d, err := s.limiter().Wait(ctx, "totp:"+stringID(uid), loginUserLimit, loginWindow, s.now())
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, errUnavailable, err)
	}
	if d > 0 {
		return nil, tooMany(d)
	}
	u, err := s.Queries.UserGet(ctx, s.Pool, uid)
	if err != nil {
		return nil, store.Translate(err, "user not found")
	}
	return u, nil
}

// totpVerdict checks a code, counting a wrong one.
func (s *Service) totpVerdict(ctx context.Context, u *db.User, code string) error {
	ok, err := s.checkTOTP(ctx, u, code)
	if err != nil {
		return err
	}
	if !ok {
		if err := s.limiter().Hit(ctx, "totp:"+stringID(u.ID), loginWindow, s.now()); err != nil {
			return fault.Wrap(fault.Unavailable, errUnavailable, err)
		}
		return fault.Code(fault.Invalid, "totp_invalid", "the TOTP code is wrong")
	}
	return nil
}

// checkTOTP accepts a code of the current time step or the one before or after, once: the step
// of an accepted code is recorded, and a code of that step or an earlier one is refused after.
func (s *Service) checkTOTP(ctx context.Context, u *db.User, code string) (bool, error) {
	if u.TOTPSecretEnc == nil || s.Box == nil {
		return false, nil
	}
	secret, err := s.Box.Open(u.TOTPSecretEnc)
	if err != nil {
		return false, err
	}
	now := s.now()
	step := now.Unix() / totpPeriod
	for _, skew := range []int64{0, -1, 1} {
		at := time.Unix((step+skew)*totpPeriod, 0)
		want, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix,
			Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		n, err := s.Queries.UserTOTPUseStep(ctx, s.Pool, db.UserTOTPUseStepParams{ID: u.ID, Step: step + skew})
		if err != nil {
			return false, store.Translate(err, "")
		}
		return n == 1, nil
	}
	return false, nil
}
