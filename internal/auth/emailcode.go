package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// Mailer delivers a plain-text mail.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// What an e-mail code is good for.
const (
	PurposeRegister = "register"
	PurposeReset    = "reset"
	PurposeChange   = "change"
)

// CodeTTL is how long an e-mail code stays valid.
const CodeTTL = 10 * time.Minute

// codeMaxMisses wrong guesses kill a code.
const codeMaxMisses = 5

// Mail limits: per address one a minute and five an hour; per client address twenty an hour.
var mailLimits = []struct {
	prefix string
	limit  int
	window time.Duration
}{{"mail:a1:", 1, time.Minute}, {"mail:a60:", 5, time.Hour}, {"mail:ip:", 20, time.Hour}}

var (
	errCodeInvalid  = fault.Code(fault.Invalid, "email_code_invalid", "the e-mail code is wrong or has expired")
	errEmailMissing = fault.Code(fault.Unprocessable, "email_missing", "your account has no e-mail address")
	errEmailOff     = fault.Code(fault.Unavailable, "email_unavailable", "e-mail is not configured on this server")
)

// EmailEnabled reports whether e-mail codes can be sent.
func (s *Service) EmailEnabled() bool { return s.Mailer != nil }

// SendCode mails a 6-digit code for purpose to email when the address qualifies (register: no
// user has it; reset and change: a user has it) and answers alike either way, so the answer does
// not tell whether an address is registered. A new code replaces the address's live codes for
// that purpose. The mail is sent in the background.
func (s *Service) SendCode(ctx context.Context, email, purpose string) error {
	if s.Mailer == nil {
		return errEmailOff
	}
	email = strings.ToLower(strings.TrimSpace(email))
	now := s.now()
	for _, l := range mailLimits {
		key := l.prefix + email
		if l.prefix == "mail:ip:" {
			key = l.prefix + ClientFrom(ctx).IP
		}
		d, err := s.limiter().Take(ctx, key, l.limit, l.window, now)
		if err != nil {
			return fault.Wrap(fault.Unavailable, errUnavailable, err)
		}
		if d > 0 {
			return tooMany(d)
		}
	}
	_, err := s.Queries.UserGetByEmail(ctx, s.Pool, email)
	exists := err == nil
	if err != nil {
		if err = store.Translate(err, ""); !fault.Is(err, fault.NotFound) {
			return err
		}
	}
	if exists == (purpose == PurposeRegister) {
		return nil
	}
	code, err := sixDigits()
	if err != nil {
		return err
	}
	err = store.WithTx(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := s.Queries.EmailCodeRetire(ctx, tx, db.EmailCodeRetireParams{Email: email, Purpose: purpose, Now: now}); err != nil {
			return err
		}
		if err := s.Queries.EmailCodePurge(ctx, tx, now.Add(-24*time.Hour)); err != nil {
			return err
		}
		_, err := s.Queries.EmailCodeCreate(ctx, tx, db.EmailCodeCreateParams{Email: email, Purpose: purpose,
			CodeHash: s.codeHash(email, purpose, code), ExpiresAt: now.Add(CodeTTL)})
		return err
	})
	if err != nil {
		return store.Translate(err, "")
	}
	site := s.settings().SiteName
	subject := fmt.Sprintf("%s verification code", site)
	body := fmt.Sprintf("Your %s verification code is %s.\r\n\r\nIt expires in %d minutes. If you did not ask for it, ignore this mail.\r\n",
		site, code, int(CodeTTL/time.Minute))
	s.mail.Add(1)
	go func() {
		defer s.mail.Done()
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.Mailer.Send(mctx, email, subject, body); err != nil {
			s.log().Error("send e-mail code", "purpose", purpose, "error", err)
		}
	}()
	return nil
}

// SendChangeCode mails a code for changing the password to the user's own address.
func (s *Service) SendChangeCode(ctx context.Context, uid int64) error {
	u, err := s.Queries.UserGet(ctx, s.Pool, uid)
	if err != nil {
		return store.Translate(err, "user not found")
	}
	if u.Email == nil {
		return errEmailMissing
	}
	return s.SendCode(ctx, *u.Email, PurposeChange)
}

// UseCode spends a live code of the address for purpose. A wrong code counts against it; after
// five wrong guesses it is dead.
func (s *Service) UseCode(ctx context.Context, email, purpose, code string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	now := s.now()
	row, err := s.Queries.EmailCodeLatest(ctx, s.Pool, db.EmailCodeLatestParams{Email: email, Purpose: purpose, Now: now})
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return errCodeInvalid
		}
		return err
	}
	if row.Attempts >= codeMaxMisses {
		return errCodeInvalid
	}
	if !hmac.Equal(row.CodeHash, s.codeHash(email, purpose, code)) {
		if _, err := s.Queries.EmailCodeMiss(ctx, s.Pool, row.ID); err != nil {
			return store.Translate(err, "")
		}
		return errCodeInvalid
	}
	n, err := s.Queries.EmailCodeUse(ctx, s.Pool, db.EmailCodeUseParams{ID: row.ID, Now: now})
	if err != nil {
		return store.Translate(err, "")
	}
	if n == 0 {
		return errCodeInvalid
	}
	return nil
}

// codeHash is the stored form of a code: an HMAC keyed by the server secret, so a copy of the
// table does not let anyone try the million codes offline.
func (s *Service) codeHash(email, purpose, code string) []byte {
	k := hmac.New(sha256.New, s.Secret)
	k.Write([]byte("poolgate email code"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(email + "\x00" + purpose + "\x00" + code))
	return m.Sum(nil)
}

func sixDigits() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("e-mail code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}
