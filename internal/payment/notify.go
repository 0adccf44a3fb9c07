package payment

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// OpenPaymentTolerance is how far a notify's timestamp may be from the clock.
const OpenPaymentTolerance = 300 * time.Second

// YipayNotify handles an EPay notify (query or form parameters). nil means answer "success":
// the order was credited now or before, or the status was not a success and nothing was done.
// Every notify is recorded with its result.
func (s *Service) YipayNotify(ctx context.Context, p url.Values, remote string) error {
	result, err := s.yipay(ctx, p)
	s.record(ctx, MethodYipay, p.Get("out_trade_no"), p.Get("trade_no"), flatten(p), result, remote)
	return err
}

func (s *Service) yipay(ctx context.Context, p url.Values) (string, error) {
	v := s.Settings.Get()
	if !v.YipayEnabled || len(v.YipayKeyEnc) == 0 {
		return ResultDisabled, errDisabled(MethodYipay)
	}
	key, err := s.secret(v.YipayKeyEnc, MethodYipay)
	if err != nil {
		return ResultDisabled, err
	}
	if p.Get("sign") == "" || !equalHex(p.Get("sign"), YipaySign(p, key)) || p.Get("pid") != v.YipayPID {
		return ResultBadSignature, errSignature
	}
	if p.Get("out_trade_no") == "" || p.Get("money") == "" {
		return ResultInvalid, errInvalid("out_trade_no and money are required")
	}
	cents, err := ParseMoney(p.Get("money"))
	if err != nil {
		return ResultInvalid, errInvalid("money: " + err.Error())
	}
	return s.settle(ctx, notice{Method: MethodYipay, OrderNo: p.Get("out_trade_no"), TradeNo: p.Get("trade_no"), Amount: cents,
		Paid: p.Get("trade_status") == "TRADE_SUCCESS"})
}

// YipayReturn handles the payer coming back from the EPay gateway: a validly signed return is
// handled as a notify (crediting at most once); anything else changes nothing. It returns where
// to send the browser.
func (s *Service) YipayReturn(ctx context.Context, p url.Values, remote string) string {
	if p.Get("sign") != "" {
		_ = s.YipayNotify(ctx, p, remote) // the refusal is recorded; the browser goes to its order either way
	}
	return ReturnPath(p.Get("out_trade_no"))
}

// ReturnPath is the console's page of an order.
func ReturnPath(orderNo string) string {
	if orderNo == "" || len(orderNo) > 64 {
		return "/app/wallet"
	}
	return "/app/wallet?order_no=" + url.QueryEscape(orderNo)
}

// openPaymentBody is an OpenPayment notify's JSON body.
type openPaymentBody struct {
	MerchantID string `json:"merchant_id"`
	OrderNo    string `json:"order_no"`
	TradeNo    string `json:"trade_no"`
	Amount     string `json:"amount"`
	Status     string `json:"status"`
}

// OpenPaymentNotify handles an OpenPayment notify POST: the signature header is
// "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>". nil means answer 200 {"received": true}.
func (s *Service) OpenPaymentNotify(ctx context.Context, timestamp, signature string, body []byte, remote string) error {
	var b openPaymentBody
	params := map[string]string{"timestamp": timestamp, "signature": signature}
	jerr := json.Unmarshal(body, &b)
	if jerr == nil {
		var raw map[string]any
		_ = json.Unmarshal(body, &raw)
		for k, v := range raw {
			params[k] = strings.Trim(string(mustJSON(v)), `"`)
		}
	}
	result, err := s.openPayment(ctx, timestamp, func(secret string) bool {
		sig, ok := strings.CutPrefix(signature, "sha256=")
		return ok && equalHex(sig, OpenPaymentSign(secret, append([]byte(timestamp+"."), body...)))
	}, b, jerr)
	s.record(ctx, MethodOpenPayment, b.OrderNo, b.TradeNo, params, result, remote)
	return err
}

// OpenPaymentNotifyQuery handles an OpenPayment notify sent as query parameters: signature is
// the hex HMAC-SHA256 of the other non-empty parameters sorted and joined as k=v&k=v.
func (s *Service) OpenPaymentNotifyQuery(ctx context.Context, p url.Values, remote string) error {
	b := openPaymentBody{MerchantID: p.Get("merchant_id"), OrderNo: p.Get("order_no"), TradeNo: p.Get("trade_no"),
		Amount: p.Get("amount"), Status: p.Get("status")}
	result, err := s.openPayment(ctx, p.Get("timestamp"), func(secret string) bool {
		return p.Get("signature") != "" && equalHex(p.Get("signature"), OpenPaymentSignParams(p, secret))
	}, b, nil)
	s.record(ctx, MethodOpenPayment, b.OrderNo, b.TradeNo, flatten(p), result, remote)
	return err
}

func (s *Service) openPayment(ctx context.Context, timestamp string, verify func(secret string) bool, b openPaymentBody, decodeErr error) (string, error) {
	v := s.Settings.Get()
	if !v.OpenPaymentEnabled || len(v.OpenPaymentSecretEnc) == 0 {
		return ResultDisabled, errDisabled(MethodOpenPayment)
	}
	secret, err := s.secret(v.OpenPaymentSecretEnc, MethodOpenPayment)
	if err != nil {
		return ResultDisabled, err
	}
	ts, terr := strconv.ParseInt(timestamp, 10, 64)
	if terr != nil || !verify(secret) {
		return ResultBadSignature, errSignature
	}
	if d := s.now().Sub(time.Unix(ts, 0)); d > OpenPaymentTolerance || d < -OpenPaymentTolerance {
		return ResultBadSignature, fault.Code(fault.Invalid, "payment_signature_invalid", "the notify's timestamp is too far from the server's clock")
	}
	if decodeErr != nil {
		return ResultInvalid, errInvalid("the body is not a JSON object")
	}
	if b.MerchantID != v.OpenPaymentMerchantID {
		return ResultBadSignature, errSignature
	}
	if b.OrderNo == "" {
		return ResultInvalid, errInvalid("order_no is required")
	}
	cents, err := ParseMoney(b.Amount)
	if err != nil {
		return ResultInvalid, errInvalid("amount: " + err.Error())
	}
	return s.settle(ctx, notice{Method: MethodOpenPayment, OrderNo: b.OrderNo, TradeNo: b.TradeNo, Amount: cents, Paid: b.Status == "paid"})
}

// OpenPaymentSubmit is the signed checkout URL of a pending openpayment order.
func (s *Service) OpenPaymentSubmit(ctx context.Context, orderNo string) (string, error) {
	v := s.Settings.Get()
	if !v.OpenPaymentEnabled {
		return "", errDisabled(MethodOpenPayment)
	}
	secret, err := s.secret(v.OpenPaymentSecretEnc, MethodOpenPayment)
	if err != nil {
		return "", err
	}
	o, err := s.Queries.PaymentOrderGet(ctx, s.Pool, orderNo)
	if err != nil || o.Method != MethodOpenPayment {
		if err == nil || store.IsNotFound(err) {
			return "", errUnknownOrder
		}
		return "", err
	}
	switch Status(o, s.now()) {
	case StatusExpired:
		return "", errExpired
	case StatusPaid:
		return "", fault.Code(fault.Conflict, "payment_order_paid", "the order is paid already")
	}
	p := url.Values{"merchant_id": {v.OpenPaymentMerchantID}, "order_no": {o.OrderNo}, "amount": {FormatMoney(o.Amount)},
		"currency": {"CNY"}, "subject": {v.SiteName + " top-up"},
		"notify_url": {s.PublicURL + "/api/payment/openpayment/notify"}, "return_url": {s.PublicURL + "/api/payment/openpayment/return"},
		"timestamp": {strconv.FormatInt(s.now().Unix(), 10)}}
	p.Set("signature", OpenPaymentSignParams(p, secret))
	sep := "?"
	if strings.Contains(v.OpenPaymentURL, "?") {
		sep = "&"
	}
	return v.OpenPaymentURL + sep + p.Encode(), nil
}

// record keeps a notify for audit; a failure to write it is logged, never answered.
func (s *Service) record(ctx context.Context, method, orderNo, tradeNo string, params map[string]string, result, remote string) {
	b, _ := json.Marshal(params)
	err := s.Queries.PaymentNotifyInsert(context.WithoutCancel(ctx), s.Pool, db.PaymentNotifyInsertParams{Method: method,
		OrderNo: bound(orderNo, 64), TradeNo: bound(tradeNo, 128), Params: b, Result: result, RemoteAddr: remote})
	if err != nil && s.Log != nil {
		s.Log.ErrorContext(ctx, "payment notify not recorded", "method", method, "order_no", bound(orderNo, 64), "error", err)
	}
}

func flatten(p url.Values) map[string]string {
	out := make(map[string]string, len(p))
	for k := range p {
		out[bound(k, 64)] = bound(p.Get(k), 512)
	}
	return out
}

func bound(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
