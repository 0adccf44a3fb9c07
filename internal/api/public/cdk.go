package public

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/plans"
	"github.com/poolgate/poolgate/internal/store"
	"github.com/poolgate/poolgate/internal/wallet"
)

// cdkUser signs in with a redemption code (seed 000's CDK login, used while no login-check hook
// is configured): the user bound to the code, or — for a valid code not used up — a new user
// bound to it, to whom the code is applied (its quota or its plan) in the same transaction. It
// returns 0 when code is no usable code. The binding is a token_logins row keyed by the code's
// hash, so the same code signs the same user in again after it is used up. A user created here is
// aff's owner's invitee (referrer), like any other sign-up.
func (h *Handler) cdkUser(ctx context.Context, code, aff string) (int64, error) {
	sum := sha256.Sum256([]byte(code))
	hash := sum[:]
	for range 2 {
		row, err := h.Queries.TokenLoginGet(ctx, h.Pool, hash)
		if err == nil {
			return row.UserID, nil
		}
		if !store.IsNotFound(err) {
			return 0, err
		}
		var uid int64
		err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
			c, err := h.Queries.RedemptionCodeLock(ctx, tx, code)
			if err != nil {
				return err
			}
			if wallet.Status(c, time.Now()) != wallet.StatusActive {
				return errCodeUnusable
			}
			pw := make([]byte, 24)
			_, _ = rand.Read(pw)
			ph, err := h.Auth.HashPassword(hex.EncodeToString(pw)) // unusable: the user signs in by the code only
			if err != nil {
				return err
			}
			ref, err := h.referrer(ctx, tx, aff)
			if err != nil {
				return err
			}
			u, err := h.Queries.UserCreate(ctx, tx, db.UserCreateParams{Username: "cdk-" + hex.EncodeToString(hash[:6]),
				PasswordHash: ph, Role: auth.RoleUser, Balance: h.Settings.Get().NewUserBalance, ReferredBy: ref})
			if err != nil {
				return err
			}
			if err := h.Queries.TokenLoginCreate(ctx, tx, db.TokenLoginCreateParams{TokenHash: hash, UserID: u.ID,
				TokenEnc: h.Hooks.SealToken(code)}); err != nil {
				return err
			}
			if _, err := wallet.RedeemTx(ctx, tx, h.Queries, u.ID, code, plans.CodeGranter(h.Queries)); err != nil {
				return err
			}
			uid = u.ID
			return nil
		})
		switch {
		case err == nil:
			return uid, nil
		case store.IsNotFound(err), errors.Is(err, errCodeUnusable):
			// Unknown or used up — unless a sign-in raced this one and bound the code: look again.
			continue
		case store.IsUniqueViolation(err):
			continue // signed in concurrently: the other sign-in's user is bound now
		default:
			return 0, err
		}
	}
	return 0, nil
}

var errCodeUnusable = fault.New(fault.Conflict, "redemption code unusable")
