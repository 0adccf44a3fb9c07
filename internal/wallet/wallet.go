// Package wallet changes balances outside gateway calls: every change is one
// wallet_transactions row with an idempotency key, written in the same transaction as the
// balance, so a redeem, a check-in day or a paid order credits exactly once however often it is
// retried. It also holds redemption codes (codes.go).
package wallet

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/db"
)

// Kinds of wallet transaction (the table's check constraint lists them).
const (
	KindRedeem   = "redeem"
	KindCheckIn  = "check_in"
	KindTopUp    = "top_up"
	KindReferral = "referral"
	KindAdmin    = "admin"
)

// Change is one balance change.
type Change struct {
	UserID int64
	Kind   string
	Amount int64
	// Key makes the change idempotent: a second change with the same key does nothing.
	Key  string
	Note string
}

// Apply records and applies c inside tx. applied is false when the key was applied before (the
// balance is then untouched and 0 is returned).
func Apply(ctx context.Context, q *db.Queries, tx pgx.Tx, c Change) (balance int64, applied bool, err error) {
	id, err := q.WalletInsert(ctx, tx, db.WalletInsertParams{UserID: c.UserID, Kind: c.Kind, Amount: c.Amount,
		IdempotencyKey: c.Key, Note: c.Note})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	balance, err = q.WalletApply(ctx, tx, db.WalletApplyParams{Amount: c.Amount, UserID: c.UserID, TxID: id})
	if err != nil {
		return 0, false, err
	}
	return balance, true, nil
}
