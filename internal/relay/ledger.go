package relay

import (
	"context"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/limits"
)

var errBalance = fault.Code(fault.PaymentRequired, "insufficient_quota", "insufficient balance; top up your quota")

// hold is the quota a call reserves before its upstream call (docs/limits.md, ledger): its
// estimate — the prompt's tokens at the input price plus the most output tokens it asks for (or,
// asking for no maximum, the model's output cap) at the output price, times the group's
// multiplier — against the user's balance and, when the key
// has a quota, the key's. Nil for calls that cost nothing (token counts, unpriced or free models).
func (rl *Relay) hold(k *call, body []byte) *limits.Hold {
	if k.ep.op == opCount || !k.priced || (k.price.Input == 0 && k.price.Output == 0 && k.price.PerCall == 0 && k.price.PerImage == 0) {
		return nil
	}
	u := k.cl.user
	out := k.maxOut()
	if out == 0 { // no maximum asked for: the model's output cap, when configured
		out = k.price.OutputCap
	}
	est := billing.Usage{PromptTokens: k.estimate, CompletionTokens: out}
	if k.ep.op == opImages {
		est.Images = max(gjson.GetBytes(body, "n").Int(), 1)
	}
	space := &holdSpace{}
	h := &space.Hold
	h.Amount, h.Accounts = billing.Multiply(billing.Cost(k.price, est), u.p().multiplier), space.accounts[:1:2]
	used := u.used.Load()
	h.Accounts[0] = limits.UserAccount(u.id, u.grants.Load()-used, used)
	key := k.cl.KeyID
	if l := k.cl.limits; l != nil && l.quota >= 0 {
		h.Accounts = append(h.Accounts, limits.KeyAccount(key, l.quota, l.used))
	}
	h.Fresh = func(ctx context.Context) ([]limits.Account, error) {
		row, err := rl.d.Queries.LedgerFresh(ctx, rl.d.Pool, db.LedgerFreshParams{KeyID: key, UserID: u.id})
		if err != nil {
			return nil, err
		}
		out := []limits.Account{limits.UserAccount(u.id, row.Balance, row.UsedQuota)}
		if len(h.Accounts) > 1 {
			q := row.KeyQuotaLimit
			if q < 0 { // the quota was lifted meanwhile
				q = maxQuota
			}
			out = append(out, limits.KeyAccount(key, q, row.KeyUsedQuota))
		}
		return out, nil
	}
	return h
}

// holdSpace is a hold and room for its two accounts in one allocation.
type holdSpace struct {
	limits.Hold
	accounts [2]limits.Account
}

// maxQuota stands for "no limit" in a ledger account.
const maxQuota = int64(1) << 52
