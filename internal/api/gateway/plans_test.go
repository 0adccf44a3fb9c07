package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	commonclient "github.com/poolgate/poolgate/clients/go/common"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

func plan(t *testing.T, env *apptest.Env, b adminclient.PlanCreate) commonclient.Plan {
	t.Helper()
	res, err := env.Admin().PlanCreateWithResponse(context.Background(), b)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return *res.JSON201
}

func grant(t *testing.T, env *apptest.Env, user, planID int64, status int) *commonclient.Subscription {
	t.Helper()
	res, err := env.Admin().SubscriptionGrantWithResponse(context.Background(), adminclient.UserId(user), adminclient.SubscriptionGrant{PlanId: planID})
	require.NoError(t, err)
	require.Equal(t, status, res.StatusCode(), string(res.Body))
	return res.JSON201
}

// TestPlansGrantRenewUpgrade: a grant starts the tier now and credits the quota once; the same
// tier again extends the expiry by duration_days; a higher tier applies at once; a lower one
// while a higher runs is refused; a plan code grants through POST /api/user/redeem.
func TestPlansGrantRenewUpgrade(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	pro := plan(t, env, adminclient.PlanCreate{Name: "Pro", Tier: commonclient.PlanTierPro, DurationDays: 30, Quota: ptr(int64(1000)), Price: ptr(int64(2900))})
	ultra := plan(t, env, adminclient.PlanCreate{Name: "Ultra", Tier: commonclient.PlanTierUltra, DurationDays: 7, Quota: ptr(int64(5000))})
	alice := env.NewUser("alice", 100)

	before := time.Now()
	s1 := grant(t, env, alice.ID, pro.Id, http.StatusCreated)
	require.Equal(t, commonclient.New, s1.Kind)
	require.WithinDuration(t, before.Add(30*24*time.Hour), s1.ExpiresAt, time.Minute)
	require.Equal(t, int64(1100), env.Balance(alice.ID))

	s2 := grant(t, env, alice.ID, pro.Id, http.StatusCreated)
	require.Equal(t, commonclient.Renewal, s2.Kind)
	require.Equal(t, s1.ExpiresAt.Add(30*24*time.Hour).UTC(), s2.ExpiresAt.UTC()) // extends, exactly
	require.Equal(t, int64(2100), env.Balance(alice.ID))

	s3 := grant(t, env, alice.ID, ultra.Id, http.StatusCreated)
	require.Equal(t, commonclient.Upgrade, s3.Kind)
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), s3.ExpiresAt, time.Minute) // at once
	grant(t, env, alice.ID, pro.Id, http.StatusConflict)                                 // downgrade refused
	require.Equal(t, int64(7100), env.Balance(alice.ID))

	sub, err := env.User(alice.Token).SubscriptionUserGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, sub.StatusCode(), string(sub.Body))
	require.True(t, sub.JSON200.Active)
	require.Equal(t, commonclient.PlanTierUltra, sub.JSON200.Tier)
	require.Equal(t, "Ultra", sub.JSON200.PlanName.MustGet())
	require.Len(t, sub.JSON200.History, 3)

	// A plan code: the redeem answers the grant; a second user redeems it too (max_uses 2).
	maxUses := 2
	codes, err := env.Admin().RedemptionCodeCreateWithResponse(ctx, adminclient.RedemptionCodeCreate{Name: "pro-codes", Count: 1,
		PlanId: &pro.Id, MaxUses: &maxUses})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, codes.StatusCode(), string(codes.Body))
	bob := env.NewUser("bob", 0)
	r, err := env.User(bob.Token).RedeemCreateWithResponse(ctx, userclient.RedeemRequest{Code: codes.JSON201.Codes[0]})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
	require.Equal(t, int64(1000), r.JSON200.Quota)
	require.Equal(t, int64(1000), r.JSON200.Balance)
	require.Equal(t, commonclient.SubscriptionSourceCode, r.JSON200.Subscription.Source)
	r, err = env.User(bob.Token).RedeemCreateWithResponse(ctx, userclient.RedeemRequest{Code: codes.JSON201.Codes[0]})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, r.StatusCode(), string(r.Body)) // once per user
	require.Equal(t, int64(1000), env.Balance(bob.ID))

	// Neither quota nor plan, or both: refused.
	both, err := env.Admin().RedemptionCodeCreateWithResponse(ctx, adminclient.RedemptionCodeCreate{Name: "bad", Count: 1,
		PlanId: &pro.Id, Quota: ptr(int64(5))})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, both.StatusCode(), string(both.Body))
	// A plan codes grant cannot be deleted.
	del, err := env.Admin().PlanDeleteWithResponse(ctx, pro.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, del.StatusCode(), string(del.Body))
}

// TestPlanLimitsApplyUntilExpiry: a plan's limit rules count per user on the plan and stop with
// its expiry; users without the plan are not limited by them.
func TestPlanLimitsApplyUntilExpiry(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	env.Price(model, inPrice, outPrice)
	env.Channel("main", []string{model}, "sk-plan-account-0001")
	two := int64(2)
	p := plan(t, env, adminclient.PlanCreate{Name: "Trial", Tier: commonclient.PlanTierFree, DurationDays: 1,
		Limits: &[]commonclient.PlanLimit{{Model: "*", Window: "1h", Requests: wire.Opt(&two)}}})
	require.Len(t, p.Limits, 1)
	alice := env.NewUser("alice", 1_000_000)
	bob := env.NewUser("bob", 1_000_000)
	grant(t, env, alice.ID, p.Id, http.StatusCreated)

	for range 2 {
		env.Upstream.Enqueue(ok("hi"))
		require.NoError(t, chat(env, alice.Key))
	}
	status, code := apiStatus(chat(env, alice.Key))
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, "rate_limit_exceeded", code)
	for range 3 {
		env.Upstream.Enqueue(ok("hi"))
		require.NoError(t, chat(env, bob.Key))
	}

	// The plan expires: its rules no longer apply, on every instance, without a restart.
	past := time.Now().Add(-time.Minute)
	tier := adminclient.Free
	up, err := env.Admin().UserUpdateWithResponse(ctx, alice.ID, adminclient.UserUpdate{Tier: &tier, PlanExpiresAt: wire.Opt(&past)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	env.Upstream.Enqueue(ok("hi"))
	require.NoError(t, chat(env, alice.Key))
	sub, err := env.User(alice.Token).SubscriptionUserGetWithResponse(ctx)
	require.NoError(t, err)
	require.False(t, sub.JSON200.Active)
}
