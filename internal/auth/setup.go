package auth

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// ErrSetupCompleted answers a first-administrator setup when an administrator exists.
var ErrSetupCompleted = fault.Code(fault.Conflict, "setup_completed", "setup has already been completed")

// CreateFirstAdmin creates the first administrator, once: concurrent setups are serialised by
// an advisory lock, and any setup after an administrator exists gets ErrSetupCompleted.
func (s *Service) CreateFirstAdmin(ctx context.Context, username, password string) (*db.User, error) {
	hash, err := s.HashPassword(password)
	if err != nil {
		return nil, err
	}
	var u *db.User
	err = store.WithTx(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := s.Queries.SetupLock(ctx, tx); err != nil {
			return store.Translate(err, "")
		}
		exists, err := s.Queries.UserAdminExists(ctx, tx)
		if err != nil {
			return store.Translate(err, "")
		}
		if exists {
			return ErrSetupCompleted
		}
		u, err = s.Queries.UserCreate(ctx, tx, db.UserCreateParams{Username: username, PasswordHash: hash, Role: RoleAdmin})
		if store.IsUniqueViolation(err) {
			return fault.New(fault.Conflict, "username is already taken")
		}
		return store.Translate(err, "")
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// NewUser is a user to create.
type NewUser struct {
	Username string
	// Password is the user's password; empty makes an unusable one (the user signs in another
	// way until they set one with an e-mail code).
	Password   string
	Email      *string
	Role       string
	Status     string
	Balance    int64
	TrustLevel int16
	// Aff is a referral code: the user becomes its owner's invitee (an unknown code is ignored).
	Aff string
}

// CreateUser creates a user; a taken username or e-mail address is a conflict that says which.
func (s *Service) CreateUser(ctx context.Context, q db.DBTX, n NewUser) (*db.User, error) {
	var hash string
	var err error
	set := n.Password != ""
	if set {
		hash, err = s.HashPassword(n.Password)
	} else {
		hash, err = s.UnusablePasswordHash()
	}
	if err != nil {
		return nil, err
	}
	if n.Role == "" {
		n.Role = RoleUser
	}
	p := db.UserCreateParams{Username: n.Username, PasswordHash: hash, Role: n.Role, Balance: n.Balance,
		Email: n.Email, TrustLevel: &n.TrustLevel, PasswordSet: &set}
	if n.Status != "" {
		p.Status = &n.Status
	}
	if n.Aff != "" {
		if id, err := s.Queries.UserIDByReferralCode(ctx, q, n.Aff); err == nil {
			p.ReferredBy = &id
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return nil, store.Translate(err, "")
		}
	}
	u, err := s.Queries.UserCreate(ctx, q, p)
	if err != nil {
		return nil, UserConflict(err)
	}
	return u, nil
}

// UserConflict translates a users write: a unique violation on the e-mail address or the
// username is a conflict naming it.
func UserConflict(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		if pe.ConstraintName == "users_email_key" {
			return fault.New(fault.Conflict, "this e-mail address is already used")
		}
		return fault.New(fault.Conflict, "username is already taken")
	}
	return store.Translate(err, "user not found")
}
