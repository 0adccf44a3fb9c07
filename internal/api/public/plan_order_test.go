package public_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	authclient "github.com/poolgate/poolgate/clients/go/auth"
	commonclient "github.com/poolgate/poolgate/clients/go/common"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/apptest"
)

// plan creates a plan and returns its id.
func plan(t *testing.T, env *apptest.Env, b adminclient.PlanCreate) int64 {
	t.Helper()
	res, err := env.Admin().PlanCreateWithResponse(context.Background(), b)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return res.JSON201.Id
}

// subscription is a user's running plan and grants.
func subscription(t *testing.T, env *apptest.Env, token string) *userclient.SubscriptionState {
	t.Helper()
	res, err := env.User(token).SubscriptionUserGetWithResponse(context.Background())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return res.JSON200
}

// TestPlanOrder: an order for a plan costs the plan's price; its paid notify grants the plan
// exactly once in the transaction that marks it paid — under ten concurrent replays of a signed
// EPay notify (GET and POST) and ten of a signed OpenPayment notify — with the inviter's
// commission on what the price buys; disabled, free and lower-tier plans cannot be ordered; a
// plan order overtaken by a higher tier is credited as a top-up; the totals are exact.
func TestPlanOrder(t *testing.T) {
	t.Parallel()
	b := paySetup(t)
	env, ctx := b.env, context.Background()

	pro := plan(t, env, adminclient.PlanCreate{Name: "Pro", Tier: commonclient.PlanTierPro, DurationDays: 30,
		Quota: ptr(int64(1_000_000)), Price: ptr(int64(2900))})
	ultra := plan(t, env, adminclient.PlanCreate{Name: "Ultra", Tier: commonclient.PlanTierUltra, DurationDays: 30,
		Quota: ptr(int64(3_000_000)), Price: ptr(int64(9900))})
	free := plan(t, env, adminclient.PlanCreate{Name: "Free", Tier: commonclient.PlanTierFree, DurationDays: 30})
	old := plan(t, env, adminclient.PlanCreate{Name: "Old", Tier: commonclient.PlanTierPro, DurationDays: 30,
		Price: ptr(int64(100)), Enabled: ptr(false)})

	alice := env.NewUser("alice", 0)
	ref, err := env.User(alice.Token).ReferralGetWithResponse(ctx)
	require.NoError(t, err)
	reg, err := env.Auth().PasswordRegisterWithResponse(ctx, authclient.RegisterRequest{Username: "bob", Password: "password-bob",
		Aff: &ref.JSON200.Code})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reg.StatusCode(), string(reg.Body))
	bob, bobID := reg.JSON200.Token, reg.JSON200.User.Id

	for _, tc := range []struct {
		plan   int64
		status int
		code   string
	}{
		{free, http.StatusUnprocessableEntity, "payment_plan_free"},
		{old, http.StatusUnprocessableEntity, "payment_plan_unavailable"},
		{999_999, http.StatusNotFound, "not_found"},
	} {
		res, err := env.User(bob).PaymentOrderCreateWithResponse(ctx, userclient.PaymentOrderCreate{PlanId: &tc.plan, Method: "yipay",
			PayType: ptr("alipay")})
		require.NoError(t, err)
		require.Equal(t, tc.status, res.StatusCode(), string(res.Body))
		require.Equal(t, tc.code, errCode(t, string(res.Body)))
	}
	both, err := env.User(bob).PaymentOrderCreateWithResponse(ctx, userclient.PaymentOrderCreate{PlanId: &pro, Amount: ptr("29.00"),
		Method: "yipay", PayType: ptr("alipay")})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, both.StatusCode(), string(both.Body))

	// Pro through EPay: the price is the amount; ten concurrent notifies grant once.
	o := b.order(t, bob, userclient.PaymentOrderCreate{PlanId: &pro, Method: "yipay", PayType: ptr("alipay")})
	require.Equal(t, "29.00", o.Amount)
	require.Equal(t, int64(0), o.Quota, "a plan order brings the plan's quota, not a top-up")
	require.Equal(t, pro, o.PlanId.MustGet())
	pay, err := url.Parse(o.PayUrl.MustGet())
	require.NoError(t, err)
	require.Equal(t, "29.00", pay.Query().Get("money"))
	st, body := b.notify(t, yipayParams(o.OrderNo, "2.90", yipayKey), false)
	require.Equal(t, http.StatusUnprocessableEntity, st, body)
	require.Empty(t, subscription(t, env, bob).History, "a wrong amount grants nothing")

	valid := yipayParams(o.OrderNo, "29.00", yipayKey)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 10 {
		wg.Go(func() {
			<-start
			if st, body := b.notify(t, valid, i%2 == 0); st != http.StatusOK || body != "success" {
				t.Errorf("notify %d: %d %q", i, st, body)
			}
		})
	}
	close(start)
	wg.Wait()
	sub := subscription(t, env, bob)
	require.True(t, sub.Active)
	require.Equal(t, "pro", string(sub.Tier))
	require.Len(t, sub.History, 1, "granted exactly once")
	require.Equal(t, "payment", string(sub.History[0].Source))
	require.Equal(t, "new", string(sub.History[0].Kind))
	require.Equal(t, int64(1_000_000), env.Balance(bobID), "the plan's quota, once")
	require.Equal(t, int64(1_450_000), env.Balance(alice.ID), "10% of what 29.00 buys (14 500 000), once")
	got, err := env.User(bob).PaymentOrderUserGetWithResponse(ctx, o.OrderNo)
	require.NoError(t, err)
	require.Equal(t, userclient.Paid, got.JSON200.Status)

	// Ultra through OpenPayment: an upgrade, granted once under ten concurrent replays.
	ou := b.order(t, bob, userclient.PaymentOrderCreate{PlanId: &ultra, Method: "openpayment"})
	require.Equal(t, "99.00", ou.Amount)
	notice := map[string]string{"merchant_id": "m_1001", "order_no": ou.OrderNo, "trade_no": "op_ultra", "amount": "99.00", "status": "paid"}
	now := time.Now().Unix()
	start = make(chan struct{})
	for i := range 10 {
		wg.Go(func() {
			<-start
			if st, out := b.openNotify(t, notice, openSecret, now); st != http.StatusOK {
				t.Errorf("notify %d: %d %s", i, st, out)
			}
		})
	}
	close(start)
	wg.Wait()
	sub = subscription(t, env, bob)
	require.Equal(t, "ultra", string(sub.Tier))
	require.Len(t, sub.History, 2)
	require.Equal(t, "upgrade", string(sub.History[0].Kind))
	require.Equal(t, int64(4_000_000), env.Balance(bobID))
	require.Equal(t, int64(1_450_000+4_950_000), env.Balance(alice.ID), "plus 10% of 49 500 000")

	// A lower tier than the running plan cannot be ordered.
	down, err := env.User(bob).PaymentOrderCreateWithResponse(ctx, userclient.PaymentOrderCreate{PlanId: &pro, Method: "openpayment"})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, down.StatusCode(), string(down.Body))

	// Carol's Pro order is overtaken by an Ultra grant before she pays: the payment becomes a
	// top-up of what 29.00 buys, and she keeps Ultra.
	carol := env.NewUser("carol", 0)
	oc := b.order(t, carol.Token, userclient.PaymentOrderCreate{PlanId: &pro, Method: "yipay", PayType: ptr("wxpay")})
	gr, err := env.Admin().SubscriptionGrantWithResponse(ctx, carol.ID, adminclient.SubscriptionGrantJSONRequestBody{PlanId: ultra})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, gr.StatusCode(), string(gr.Body))
	st, body = b.notify(t, yipayParams(oc.OrderNo, "29.00", yipayKey), true)
	require.Equal(t, http.StatusOK, st, body)
	st, body = b.notify(t, yipayParams(oc.OrderNo, "29.00", yipayKey), false)
	require.Equal(t, http.StatusOK, st, body)
	csub := subscription(t, env, carol.Token)
	require.Equal(t, "ultra", string(csub.Tier))
	require.Len(t, csub.History, 1, "the admin's grant only")
	require.Equal(t, int64(3_000_000+14_500_000), env.Balance(carol.ID), "Ultra's quota, then the payment as a top-up, once")

	audit, err := env.Admin().PaymentNotifyListWithResponse(ctx, &adminclient.PaymentNotifyListParams{OrderNo: &o.OrderNo})
	require.NoError(t, err)
	results := map[string]int{}
	for _, n := range audit.JSON200.Items {
		results[n.Result]++
	}
	require.Equal(t, map[string]int{"amount_mismatch": 1, "credited": 1, "duplicate": 9}, results)
}

// TestLoginTokenAff: a CDK sign-in that creates its user with ?aff= makes the code's owner the
// new user's inviter (an unknown code is ignored; a later sign-in changes nothing).
func TestLoginTokenAff(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	inviter := env.NewUser("inviter", 0)
	ref, err := env.User(inviter.Token).ReferralGetWithResponse(ctx)
	require.NoError(t, err)
	quota := int64(100)
	res, err := env.Admin().RedemptionCodeCreateWithResponse(ctx, adminclient.RedemptionCodeCreate{Name: "aff", Count: 2, Quota: &quota})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	codes := res.JSON201.Codes

	got := logintoken(t, env, url.Values{"access_token": {codes[0]}, "aff": {ref.JSON200.Code}})
	require.Equal(t, http.StatusFound, got.status)
	got = logintoken(t, env, url.Values{"access_token": {codes[1]}, "aff": {"nosuchcode00"}})
	require.Equal(t, http.StatusFound, got.status)
	got = logintoken(t, env, url.Values{"access_token": {codes[1]}, "aff": {ref.JSON200.Code}}) // the same user again
	require.Equal(t, http.StatusFound, got.status)

	after, err := env.User(inviter.Token).ReferralGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), after.JSON200.Invitees, "only the first code's new user is an invitee")
	require.Len(t, after.JSON200.Recent, 1)
	require.Contains(t, after.JSON200.Recent[0].Username, "cdk-")
}
