package public_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	authclient "github.com/poolgate/poolgate/clients/go/auth"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/payment"
)

const (
	yipayKey   = "test-merchant-key-9f2c"
	openSecret = "whsec-test-3kq9"
)

// payBundle is an app with yipay and openpayment on, 10% commissions, and a clock the test moves.
type payBundle struct {
	env    *apptest.Env
	offset atomic.Int64 // nanoseconds added to the wall clock
}

func (b *payBundle) now() time.Time { return time.Now().Add(time.Duration(b.offset.Load())) }

func paySetup(t *testing.T) *payBundle {
	t.Helper()
	b := &payBundle{}
	b.env = apptest.New(t, apptest.WithoutRedis(), apptest.WithClock(b.now),
		apptest.WithConfig(func(c *config.Config) { c.AllowPrivateOutbound = "pay.test,checkout.test" }))
	res, err := b.env.Admin().SettingsUpdateWithResponse(context.Background(), adminclient.SettingsUpdate{
		YipayEnabled: ptr(true), YipayUrl: ptr("https://pay.test/"), YipayPid: ptr("1001"), YipayKey: ptr(yipayKey),
		OpenpaymentEnabled: ptr(true), OpenpaymentUrl: ptr("https://checkout.test/pay"), OpenpaymentMerchantId: ptr("m_1001"),
		OpenpaymentSecret: ptr(openSecret), ReferralCommissionPermille: ptr(100), PaymentMinAmount: ptr("1.00"),
		PaymentOrderExpiryMinutes: ptr(30)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.True(t, res.JSON200.YipayKeySet)
	require.True(t, res.JSON200.OpenpaymentSecretSet)
	require.NotContains(t, string(res.Body), yipayKey, "the merchant key is write-only")
	require.NotContains(t, string(res.Body), openSecret, "the signing secret is write-only")
	return b
}

// order opens an order for the user and returns it.
func (b *payBundle) order(t *testing.T, token string, body userclient.PaymentOrderCreate) *userclient.PaymentOrder {
	t.Helper()
	res, err := b.env.User(token).PaymentOrderCreateWithResponse(context.Background(), body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return res.JSON201
}

// yipayParams is a notify for an order, signed with key.
func yipayParams(orderNo, money, key string) url.Values {
	p := url.Values{"pid": {"1001"}, "trade_no": {"T" + orderNo}, "out_trade_no": {orderNo}, "type": {"alipay"},
		"name": {"Poolgate top-up"}, "money": {money}, "trade_status": {"TRADE_SUCCESS"}, "param": {""}}
	p.Set("sign", payment.YipaySign(p, key))
	p.Set("sign_type", "MD5")
	return p
}

// notify sends a yipay notify, as GET or as a form POST, and returns the status and body.
func (b *payBundle) notify(t *testing.T, p url.Values, post bool) (int, string) {
	t.Helper()
	var req *http.Request
	var err error
	if post {
		req, err = http.NewRequest(http.MethodPost, b.env.URL+"/api/payment/yipay/notify", strings.NewReader(p.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(http.MethodGet, b.env.URL+"/api/payment/yipay/notify?"+p.Encode(), nil)
	}
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	return b.do(t, req)
}

// do sends req (safe from any goroutine: failures are t.Error) and returns the status and body.
func (b *payBundle) do(t *testing.T, req *http.Request) (int, string) {
	res, err := b.env.HTTP.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func errCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Detail struct {
			Code string `json:"code"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	return e.Detail.Code
}

// TestYipay: an invitee's EPay top-up is credited once by ten concurrent valid notifies (GET and
// POST), its inviter gets 10% once; forged, wrong-amount, unknown-order and expired-order
// notifies credit nothing; every notify is in the audit trail; the totals are exact.
func TestYipay(t *testing.T) {
	t.Parallel()
	b := paySetup(t)
	env, ctx := b.env, context.Background()

	alice := env.NewUser("alice", 0)
	ref, err := env.User(alice.Token).ReferralGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ref.StatusCode(), string(ref.Body))
	require.Len(t, ref.JSON200.Code, 12)
	require.Contains(t, ref.JSON200.Link, "aff="+ref.JSON200.Code)
	reg, err := env.Auth().PasswordRegisterWithResponse(ctx, authclient.RegisterRequest{Username: "bob", Password: "password-bob",
		Aff: &ref.JSON200.Code})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reg.StatusCode(), string(reg.Body))
	bob := reg.JSON200.Token
	bobID := reg.JSON200.User.Id
	carol := env.NewUser("carol", 0) // no inviter

	cfg, err := env.User(bob).PaymentConfigGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, cfg.StatusCode(), string(cfg.Body))
	require.Len(t, cfg.JSON200.Methods, 2)
	require.Equal(t, "1.00", cfg.JSON200.MinAmount)

	// Refusals of order creation.
	for _, tc := range []struct {
		body   userclient.PaymentOrderCreate
		status int
		code   string
	}{
		{userclient.PaymentOrderCreate{Amount: ptr("0.99"), Method: "yipay", PayType: ptr("alipay")}, 422, "payment_amount_too_small"},
		{userclient.PaymentOrderCreate{Amount: ptr("10.00"), Method: "yipay"}, 400, "invalid_request"},
		{userclient.PaymentOrderCreate{Method: "yipay", PayType: ptr("alipay")}, 400, "invalid_request"},
	} {
		res, err := env.User(bob).PaymentOrderCreateWithResponse(ctx, tc.body)
		require.NoError(t, err)
		require.Equal(t, tc.status, res.StatusCode(), string(res.Body))
		require.Equal(t, tc.code, errCode(t, string(res.Body)))
	}

	o := b.order(t, bob, userclient.PaymentOrderCreate{Amount: ptr("10.5"), Method: "yipay", PayType: ptr("alipay")})
	require.Equal(t, "10.50", o.Amount)
	require.Equal(t, int64(10_50*500000/100), o.Quota, "10.50 × 500000 units")
	require.Equal(t, userclient.Pending, o.Status)
	// The pay URL is EPay's submit.php, signed with the merchant key.
	pay, err := url.Parse(o.PayUrl.MustGet())
	require.NoError(t, err)
	require.Equal(t, "https://pay.test/submit.php", pay.Scheme+"://"+pay.Host+pay.Path)
	q := pay.Query()
	require.Equal(t, payment.YipaySign(q, yipayKey), q.Get("sign"))
	require.Equal(t, o.OrderNo, q.Get("out_trade_no"))
	require.Equal(t, "10.50", q.Get("money"))
	require.Equal(t, env.PublicURL+"/api/payment/yipay/notify", q.Get("notify_url"))

	// Forged, wrong amount, unknown order: refused, nothing credited.
	st, body := b.notify(t, yipayParams(o.OrderNo, "10.50", "wrong-key"), false)
	require.Equal(t, http.StatusBadRequest, st, body)
	require.Equal(t, "payment_signature_invalid", errCode(t, body))
	forged := yipayParams(o.OrderNo, "10.50", yipayKey)
	forged.Set("money", "1050.00") // changed after signing
	st, body = b.notify(t, forged, true)
	require.Equal(t, http.StatusBadRequest, st, body)
	st, body = b.notify(t, yipayParams(o.OrderNo, "1.05", yipayKey), false)
	require.Equal(t, http.StatusUnprocessableEntity, st, body)
	require.Equal(t, "payment_amount_mismatch", errCode(t, body))
	st, body = b.notify(t, yipayParams("PG00000000000000NOSUCH00", "10.50", yipayKey), false)
	require.Equal(t, http.StatusNotFound, st, body)
	require.Equal(t, 0, int(env.Balance(bobID)))

	// Ten concurrent valid notifies, GET and POST: all answer success, one credits.
	valid := yipayParams(o.OrderNo, "10.50", yipayKey)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 10 {
		wg.Go(func() {
			<-start
			st, body := b.notify(t, valid, i%2 == 1)
			if st != http.StatusOK || body != "success" {
				t.Errorf("notify %d: %d %q", i, st, body)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, int64(5_250_000), env.Balance(bobID), "credited exactly once")
	require.Equal(t, int64(525_000), env.Balance(alice.ID), "10% commission exactly once")

	got, err := env.User(bob).PaymentOrderUserGetWithResponse(ctx, o.OrderNo)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, got.StatusCode(), string(got.Body))
	require.Equal(t, userclient.Paid, got.JSON200.Status)
	require.Nil(t, wire.Ptr(got.JSON200.PayUrl))
	other, err := env.User(carol.Token).PaymentOrderUserGetWithResponse(ctx, o.OrderNo)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, other.StatusCode(), "another user's order is not found")

	// The return URL handles a signed return like a notify (nothing more to credit) and
	// redirects to the console's order page.
	noFollow := *env.RawHTTP
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ret, err := noFollow.Get(env.URL + "/api/payment/yipay/return?" + valid.Encode())
	require.NoError(t, err)
	ret.Body.Close()
	require.Equal(t, http.StatusFound, ret.StatusCode)
	require.Equal(t, "/app/wallet?order_no="+o.OrderNo, ret.Header.Get("Location"))

	// An expired order: refused, nothing credited.
	late := b.order(t, carol.Token, userclient.PaymentOrderCreate{Amount: ptr("3"), Method: "yipay", PayType: ptr("wxpay")})
	b.offset.Store(int64(31 * time.Minute))
	st, body = b.notify(t, yipayParams(late.OrderNo, "3.00", yipayKey), true)
	require.Equal(t, http.StatusConflict, st, body)
	require.Equal(t, "payment_order_expired", errCode(t, body))
	require.Equal(t, int64(0), env.Balance(carol.ID))
	b.offset.Store(0)

	// Carol (no inviter) pays a second order: no commission for anyone.
	c2 := b.order(t, carol.Token, userclient.PaymentOrderCreate{Amount: ptr("2.00"), Method: "yipay", PayType: ptr("alipay")})
	st, body = b.notify(t, yipayParams(c2.OrderNo, "2.00", yipayKey), false)
	require.Equal(t, http.StatusOK, st, body)

	// The exact totals of the mixed run: 10.50 + 2.00 paid, one 10% commission.
	require.Equal(t, int64(5_250_000), env.Balance(bobID))
	require.Equal(t, int64(1_000_000), env.Balance(carol.ID))
	require.Equal(t, int64(525_000), env.Balance(alice.ID))

	// The audit trail: every notify about bob's order, with the decision.
	audit, err := env.Admin().PaymentNotifyListWithResponse(ctx, &adminclient.PaymentNotifyListParams{OrderNo: &o.OrderNo})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, audit.StatusCode(), string(audit.Body))
	results := map[string]int{}
	for _, n := range audit.JSON200.Items {
		results[n.Result]++
	}
	require.Equal(t, map[string]int{"bad_signature": 2, "amount_mismatch": 1, "credited": 1, "duplicate": 10}, results)

	orders, err := env.Admin().PaymentOrderListWithResponse(ctx, &adminclient.PaymentOrderListParams{Status: ptr("paid")})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, orders.StatusCode(), string(orders.Body))
	require.Equal(t, int64(2), orders.JSON200.Total)
	expired, err := env.Admin().PaymentOrderListWithResponse(ctx, &adminclient.PaymentOrderListParams{Status: ptr("expired")})
	require.NoError(t, err)
	require.Equal(t, int64(0), expired.JSON200.Total, "the clock is back: the late order is pending again, and unpaid")

	comm, err := env.Admin().ReferralCommissionListWithResponse(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, comm.StatusCode(), string(comm.Body))
	require.Len(t, comm.JSON200.Items, 1)
	require.Equal(t, int64(525_000), comm.JSON200.Items[0].Amount)
	require.Equal(t, o.OrderNo, comm.JSON200.Items[0].OrderNo)
	require.Equal(t, "bob", comm.JSON200.Items[0].InviteeUsername)

	ref, err = env.User(alice.Token).ReferralGetWithResponse(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), ref.JSON200.Invitees)
	require.Equal(t, int64(525_000), ref.JSON200.Earned)
	require.Len(t, ref.JSON200.Recent, 1)
}

// openNotify posts a signed OpenPayment notify.
func (b *payBundle) openNotify(t *testing.T, body map[string]string, secret string, ts int64) (int, string) {
	t.Helper()
	raw, _ := json.Marshal(body)
	stamp := strconv.FormatInt(ts, 10)
	req, err := http.NewRequest(http.MethodPost, b.env.URL+"/api/payment/openpayment/notify", strings.NewReader(string(raw)))
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-OpenPayment-Timestamp", stamp)
	req.Header.Set("X-OpenPayment-Signature", "sha256="+payment.OpenPaymentSign(secret, []byte(stamp+"."+string(raw))))
	return b.do(t, req)
}

// TestOpenPayment: the submit redirect is signed; a notify signed over timestamp.body credits
// once under ten concurrent replays; wrong secret, stale timestamp and wrong merchant credit
// nothing; the query form works too.
func TestOpenPayment(t *testing.T) {
	t.Parallel()
	b := paySetup(t)
	env := b.env
	u := env.NewUser("dora", 0)
	o := b.order(t, u.Token, userclient.PaymentOrderCreate{Amount: ptr("20"), Method: "openpayment"})
	require.Equal(t, env.PublicURL+"/api/payment/openpayment/submit/"+o.OrderNo, o.PayUrl.MustGet())

	noFollow := *env.RawHTTP
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := noFollow.Get(env.URL + "/api/payment/openpayment/submit/" + o.OrderNo)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	to, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "checkout.test", to.Host)
	q := to.Query()
	require.Equal(t, payment.OpenPaymentSignParams(q, openSecret), q.Get("signature"))
	require.Equal(t, "20.00", q.Get("amount"))
	require.Equal(t, o.OrderNo, q.Get("order_no"))

	body := map[string]string{"merchant_id": "m_1001", "order_no": o.OrderNo, "trade_no": "op_1", "amount": "20.00", "status": "paid"}
	now := time.Now().Unix()
	st, out := b.openNotify(t, body, "wrong-secret", now)
	require.Equal(t, http.StatusBadRequest, st, out)
	st, out = b.openNotify(t, body, openSecret, now-600)
	require.Equal(t, http.StatusBadRequest, st, out)
	wrong := map[string]string{"merchant_id": "m_9999", "order_no": o.OrderNo, "trade_no": "op_1", "amount": "20.00", "status": "paid"}
	st, out = b.openNotify(t, wrong, openSecret, now)
	require.Equal(t, http.StatusBadRequest, st, out)
	require.Equal(t, int64(0), env.Balance(u.ID))

	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 10 {
		wg.Go(func() {
			<-start
			st, out := b.openNotify(t, body, openSecret, now)
			if st != http.StatusOK || !strings.Contains(out, `"received":true`) {
				t.Errorf("notify %d: %d %s", i, st, out)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, int64(10_000_000), env.Balance(u.ID), "20.00 × 500000, once")

	// The query form, on a second order.
	o2 := b.order(t, u.Token, userclient.PaymentOrderCreate{Amount: ptr("1.01"), Method: "openpayment"})
	p := url.Values{"merchant_id": {"m_1001"}, "order_no": {o2.OrderNo}, "trade_no": {"op_2"}, "amount": {"1.01"},
		"status": {"paid"}, "timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}}
	p.Set("signature", payment.OpenPaymentSignParams(p, openSecret))
	for range 2 {
		r, err := env.HTTP.Get(env.URL + "/api/payment/openpayment/notify?" + p.Encode())
		require.NoError(t, err)
		r.Body.Close()
		require.Equal(t, http.StatusOK, r.StatusCode)
	}
	require.Equal(t, int64(10_000_000+505_000), env.Balance(u.ID))
}
