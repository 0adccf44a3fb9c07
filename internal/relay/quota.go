package relay

import (
	"strconv"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/quota"
)

// quotaTake reserves the call's cost in the caller's shared quota before it is sent to a shared
// account (dedicated accounts consume none). A refusal means this account may not serve the call:
// the caller's dedicated accounts still may.
func (rl *Relay) quotaTake(k *call, pa *pool.Account, acc *account) (*quota.Refusal, error) {
	if rl.d.Quota == nil || !pa.Shared() {
		return nil, nil
	}
	r := rl.d.Quota.Rules()
	if !r.Active() {
		return nil, nil
	}
	fam := r.Family(acc.channel.id, acc.channel.typ)
	h, ref, err := rl.d.Quota.Take(k.ctx, &r, k.cl.user.id, fam, k.estimate+k.maxOut())
	if err != nil {
		return nil, err
	}
	k.quota, k.quotaUnit = h, r.Unit
	return ref, nil
}

// quotaDrop gives an unused reservation back (the account it was for did not serve the call).
func (k *call) quotaDrop(rl *Relay) {
	if k.quota != nil {
		h := k.quota
		k.quota = nil
		rl.d.Quota.Settle(k.ctx, h, false, 0, k.quotaUnit)
	}
}

// quotaSettle ends the call's reservation: kept at the call's real cost when a shared account
// served it, given back otherwise.
func (k *call) quotaSettle(rl *Relay, served bool, tokens int64) {
	if k.quota == nil {
		return
	}
	h := k.quota
	k.quota = nil
	rl.d.Quota.Settle(k.ctx, h, served, tokens, k.quotaUnit)
}

// quotaFault is the 429 of a call whose shared quota is used up and that no dedicated account
// could take; clears_in says when one unit will have recovered.
func quotaFault(ref *quota.Refusal) *fault.Error {
	msg := "Your shared quota for " + BoundName(ref.Family) + " is used up"
	if ref.Cap == 0 {
		return fault.Code(fault.RateLimited, "shared_quota_exhausted", msg+" (its cap is 0); contribute a shared account or use a dedicated one.")
	}
	secs := max(int64((ref.ClearsIn+999_999_999)/1_000_000_000), 1)
	return clearing(fault.Code(fault.RateLimited, "shared_quota_exhausted",
		msg+" (cap "+strconv.FormatInt(ref.Cap, 10)+"); it recovers over time: try again in "+strconv.FormatInt(secs, 10)+"s."), secs)
}
