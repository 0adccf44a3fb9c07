// Package payment sells quota (and plans) through payment gateways: a user opens an order, pays
// it at the gateway (yipay, the EPay protocol, or openpayment), and the gateway's signed notify
// marks it paid and credits the wallet exactly once — the order's row is locked while a notify
// is handled and the wallet key is order:<order_no> — however many notifies arrive, however
// concurrently. The payer's inviter, if any, is credited their commission in the same
// transaction. Every notify is recorded for audit (payment_notifies).
package payment

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/store"
	"github.com/poolgate/poolgate/internal/wallet"
)

// Payment methods (gateways).
const (
	MethodYipay       = "yipay"
	MethodOpenPayment = "openpayment"
)

// Order states as the API shows them; expired is a pending order past its expiry.
const (
	StatusPending = "pending"
	StatusPaid    = "paid"
	StatusExpired = "expired"
)

// Notify results, recorded with each notify.
const (
	ResultCredited       = "credited"
	ResultDuplicate      = "duplicate"
	ResultIgnored        = "ignored"
	ResultBadSignature   = "bad_signature"
	ResultUnknownOrder   = "unknown_order"
	ResultAmountMismatch = "amount_mismatch"
	ResultExpired        = "expired"
	ResultDisabled       = "disabled"
	ResultInvalid        = "invalid"
)

// YipayPayTypes are the EPay payment types offered.
var YipayPayTypes = []string{"alipay", "wxpay", "qqpay"}

// Service opens orders and handles the gateways' notifies.
type Service struct {
	Pool     *pgxpool.Pool
	Queries  *db.Queries
	Settings *settings.Store
	Box      *secretbox.Box
	Bus      *bus.Bus
	Log      *slog.Logger
	// PublicURL is the site's external base URL (notify and return URLs are built on it).
	PublicURL string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Status is an order's state at now.
func Status(o *db.PaymentOrder, now time.Time) string {
	if o.Status == StatusPaid {
		return StatusPaid
	}
	if !now.Before(o.ExpiresAt) {
		return StatusExpired
	}
	return StatusPending
}

// NewOrderNo makes an order number: "PG", the UTC time to the second and 8 random base-32
// characters (40 bits).
func NewOrderNo(now time.Time) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return "PG" + now.UTC().Format("20060102150405") + base32.StdEncoding.EncodeToString(b)
}

// Config is what a user may pay with.
type Config struct {
	Methods            map[string][]string
	MinAmount          string
	QuotaPerUnit       int64
	OrderExpiryMinutes int
}

// Methods lists the enabled and configured methods with their pay types.
func (s *Service) Methods() map[string][]string {
	v := s.Settings.Get()
	out := map[string][]string{}
	if v.YipayEnabled && v.YipayURL != "" && v.YipayPID != "" && len(v.YipayKeyEnc) > 0 {
		out[MethodYipay] = YipayPayTypes
	}
	if v.OpenPaymentEnabled && v.OpenPaymentURL != "" && len(v.OpenPaymentSecretEnc) > 0 {
		out[MethodOpenPayment] = []string{}
	}
	return out
}

// NewOrder is a user's request for an order: an amount (decimal string) or a plan.
type NewOrder struct {
	UserID  int64
	Amount  string
	PlanID  *int64
	Method  string
	PayType string
}

// Create opens an order and says where to pay it.
func (s *Service) Create(ctx context.Context, n NewOrder) (*db.PaymentOrder, string, error) {
	v := s.Settings.Get()
	types, ok := s.Methods()[n.Method]
	if !ok {
		return nil, "", fault.Code(fault.Unprocessable, "payment_method_disabled", "payment method "+n.Method+" is not enabled")
	}
	if n.Method == MethodYipay && n.PayType == "" {
		return nil, "", fault.Code(fault.Invalid, "invalid_request", "pay_type: required for yipay (one of "+strings.Join(types, ", ")+")")
	}
	var cents int64
	switch {
	case n.PlanID != nil && n.Amount != "":
		return nil, "", fault.Code(fault.Invalid, "invalid_request", "give either amount or plan_id, not both")
	case n.PlanID != nil:
		c, err := s.planPrice(ctx, n.UserID, *n.PlanID)
		if err != nil {
			return nil, "", err
		}
		cents = c
	case n.Amount == "":
		return nil, "", fault.Code(fault.Invalid, "invalid_request", "give amount or plan_id")
	default:
		c, err := ParseMoney(n.Amount)
		if err != nil {
			return nil, "", fault.Code(fault.Invalid, "invalid_request", "amount: "+err.Error())
		}
		if lo, err := ParseMoney(v.PaymentMinAmount); err == nil && c < lo {
			return nil, "", fault.Code(fault.Unprocessable, "payment_amount_too_small", "the smallest top-up is "+FormatMoney(lo))
		}
		if c <= 0 {
			return nil, "", fault.Code(fault.Invalid, "invalid_request", "amount: must be positive")
		}
		cents = c
	}
	quota := int64(0)
	if n.PlanID == nil {
		quota = QuotaFor(cents, v.QuotaPerUnit)
	}
	now := s.now()
	expiry := v.PaymentOrderExpiryMinutes
	if expiry <= 0 {
		expiry = 30
	}
	o, err := s.Queries.PaymentOrderCreate(ctx, s.Pool, db.PaymentOrderCreateParams{OrderNo: NewOrderNo(now), UserID: n.UserID,
		Method: n.Method, PayType: n.PayType, Amount: cents, Quota: quota, PlanID: n.PlanID,
		ExpiresAt: now.Add(time.Duration(expiry) * time.Minute)})
	if err != nil {
		return nil, "", store.Translate(err, "")
	}
	u, err := s.PayURL(o)
	if err != nil {
		return nil, "", err
	}
	return o, u, nil
}

// PayURL is where the payer goes for a pending order: the EPay gateway's submit.php with the
// signed parameters, or Poolgate's openpayment submit redirect.
func (s *Service) PayURL(o *db.PaymentOrder) (string, error) {
	v := s.Settings.Get()
	switch o.Method {
	case MethodYipay:
		key, err := s.secret(v.YipayKeyEnc, MethodYipay)
		if err != nil {
			return "", err
		}
		p := url.Values{"pid": {v.YipayPID}, "type": {o.PayType}, "out_trade_no": {o.OrderNo},
			"notify_url": {s.PublicURL + "/api/payment/yipay/notify"}, "return_url": {s.PublicURL + "/api/payment/yipay/return"},
			"name": {v.SiteName + " top-up"}, "money": {FormatMoney(o.Amount)}}
		p.Set("sign", YipaySign(p, key))
		p.Set("sign_type", "MD5")
		return strings.TrimRight(v.YipayURL, "/") + "/submit.php?" + p.Encode(), nil
	default:
		return s.PublicURL + "/api/payment/openpayment/submit/" + url.PathEscape(o.OrderNo), nil
	}
}

// secret opens a sealed gateway secret; none stored means the method is not configured.
func (s *Service) secret(sealed []byte, method string) (string, error) {
	if len(sealed) == 0 {
		return "", fault.Code(fault.Unavailable, "payment_method_disabled", "payment method "+method+" is not configured")
	}
	k, err := s.Box.Open(sealed)
	if err != nil {
		return "", fault.Wrap(fault.Internal, fault.MsgInternal, err)
	}
	return k, nil
}

// notice is a verified gateway notify.
type notice struct {
	Method  string
	OrderNo string
	TradeNo string
	Amount  int64
	Paid    bool
}

// settle applies a verified notify: in one transaction the order is locked, checked (method,
// amount, state, expiry), marked paid, and the wallet credited with the key order:<order_no>
// (the plan granted, for a plan order); the payer's inviter gets their commission. A paid
// order answers ResultDuplicate and credits nothing.
func (s *Service) settle(ctx context.Context, n notice) (string, error) {
	v := s.Settings.Get()
	now := s.now()
	result := ResultCredited
	var credited []int64
	err := store.WithTx(ctx, s.Pool, func(tx pgx.Tx) error {
		o, err := s.Queries.PaymentOrderLock(ctx, tx, n.OrderNo)
		if err != nil || o.Method != n.Method {
			if err == nil || store.IsNotFound(err) {
				result = ResultUnknownOrder
				return errUnknownOrder
			}
			return err
		}
		switch {
		case n.Amount != o.Amount:
			result = ResultAmountMismatch
			return errAmount
		case !n.Paid:
			result = ResultIgnored
			return nil
		case o.Status == StatusPaid:
			result = ResultDuplicate
			return nil
		case !now.Before(o.ExpiresAt):
			result = ResultExpired
			return errExpired
		}
		if _, err := s.Queries.PaymentOrderMarkPaid(ctx, tx, db.PaymentOrderMarkPaidParams{ID: o.ID, TradeNo: n.TradeNo, PaidAt: &now}); err != nil {
			return err
		}
		quota := o.Quota
		if o.PlanID != nil {
			granted, err := s.grantPlan(ctx, tx, o, now)
			if err != nil {
				return err
			}
			if !granted {
				// A higher tier started after the order was opened: the plan cannot be given
				// without taking that tier away, so what was paid is credited as a top-up.
				quota = QuotaFor(o.Amount, v.QuotaPerUnit)
			}
		}
		if quota > 0 {
			if _, _, err := wallet.Apply(ctx, s.Queries, tx, wallet.Change{UserID: o.UserID, Kind: wallet.KindTopUp, Amount: quota,
				Key: "order:" + o.OrderNo, Note: n.Method + " " + o.OrderNo}); err != nil {
				return err
			}
		}
		credited = append(credited, o.UserID)
		inviter, err := s.commission(ctx, tx, o, v.ReferralCommissionPermille)
		if err != nil {
			return err
		}
		if inviter != 0 {
			credited = append(credited, inviter)
		}
		return nil
	})
	if err != nil {
		return result, err
	}
	for _, id := range credited {
		s.Bus.Publish(ctx, bus.TopicUser, strconv.FormatInt(id, 10))
	}
	return result, nil
}

// commission credits the payer's inviter permille ‰ of the order's value in quota (the quota
// it credits; for a plan, what its price buys as a top-up), once per order; it returns the
// inviter credited (0: none).
func (s *Service) commission(ctx context.Context, tx pgx.Tx, o *db.PaymentOrder, permille int) (int64, error) {
	if permille <= 0 {
		return 0, nil
	}
	u, err := s.Queries.UserGet(ctx, tx, o.UserID)
	if err != nil {
		return 0, err
	}
	if u.ReferredBy == nil {
		return 0, nil
	}
	base := o.Quota
	if o.PlanID != nil {
		base = QuotaFor(o.Amount, s.Settings.Get().QuotaPerUnit)
	}
	amt := Commission(base, permille)
	n, err := s.Queries.ReferralCommissionInsert(ctx, tx, db.ReferralCommissionInsertParams{InviterID: *u.ReferredBy,
		InviteeID: u.ID, OrderID: o.ID, Amount: amt, Permille: int32(permille)}) //nolint:gosec // the setting is bounded to 0..1000
	if err != nil || n == 0 || amt == 0 {
		return 0, err
	}
	if _, _, err := wallet.Apply(ctx, s.Queries, tx, wallet.Change{UserID: *u.ReferredBy, Kind: wallet.KindReferral, Amount: amt,
		Key: "referral:" + o.OrderNo, Note: "commission on " + o.OrderNo}); err != nil {
		return 0, err
	}
	return *u.ReferredBy, nil
}
