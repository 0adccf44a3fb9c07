// Package settings holds the gateway-wide settings stored in PostgreSQL, cached in process and
// refreshed on every instance when one of them changes.
package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/store"
)

// Values are the settings. Field tags are the keys in the settings table.
type Values struct {
	SiteName            string `json:"site_name"`
	RegistrationEnabled bool   `json:"registration_enabled"`
	AllowUnpricedModels bool   `json:"allow_unpriced_models"`
	NewUserBalance      int64  `json:"new_user_balance"`
	// QuotaPerUnit is the quota units one unit of the site's currency buys (shareAuth/finish
	// prices on FastGPT's scale).
	QuotaPerUnit int64 `json:"quota_per_unit"`
	// Identity (docs/auth.md): registration needs an e-mail code; only administrators may sign
	// in with a password (everyone else through SSO or passkeys); a session ends after this many
	// hours without use; SSO sign-ups need at least this trust level.
	EmailVerificationRequired bool `json:"email_verification_required"`
	OIDCOnly                  bool `json:"oidc_only"`
	SessionTTLHours           int  `json:"session_ttl_hours"`
	RegistrationMinTrustLevel int  `json:"registration_min_trust_level"`
	// ProMinTrustLevel and UltraMinTrustLevel are the trust levels a user needs to ride pro and
	// ultra accounts; a user granted more than their level allows is served as the highest tier
	// it does allow (0: every level).
	ProMinTrustLevel   int `json:"pro_min_trust_level"`
	UltraMinTrustLevel int `json:"ultra_min_trust_level"`
	// Hook URLs (docs/hooks.md): empty means off. Unset in the database, they are the
	// environment's OAUTH_URL, AUDIT_LIMIT_URL and NOTIFY_URL.
	OAuthURL      string `json:"oauth_url"`
	AuditLimitURL string `json:"audit_limit_url"`
	NotifyURL     string `json:"notify_url"`
	// ExpiredRedirectURL is where /logintoken sends a user whose plan has expired (code -2).
	ExpiredRedirectURL string `json:"expired_redirect_url"`
	// CarpageNotice is the notice /carpage shows (empty: none).
	CarpageNotice string `json:"carpage_notice"`
	// ContributedAccountChannels maps a provider to the channel its user-contributed accounts
	// join (docs/accounts.md); a provider not listed cannot be contributed.
	ContributedAccountChannels map[string]int64 `json:"contributed_account_channels"`
	// SiteTimeZone is the site's IANA time zone ("" is UTC): check-in days are cut in it.
	SiteTimeZone string `json:"site_time_zone"`
	// Check-in (docs/money.md): once a day, a reward in [CheckInMinReward, CheckInMaxReward].
	CheckInEnabled   bool  `json:"check_in_enabled"`
	CheckInMinReward int64 `json:"check_in_min_reward"`
	CheckInMaxReward int64 `json:"check_in_max_reward"`
	// Shared quota pool (docs/accounts.md): per user and model family a cap of
	// SharedQuotaBase + SharedQuotaBonusPerAccount[provider] (or ["*"]) × the user's shared
	// contributed accounts, consumed by calls on shared accounts in SharedQuotaUnit (calls or
	// tokens) and recovering continuously to the cap over SharedQuotaRecoveryHours.
	SharedQuotaBase            int64            `json:"shared_quota_base"`
	SharedQuotaBonusPerAccount map[string]int64 `json:"shared_quota_bonus_per_account"`
	SharedQuotaRecoveryHours   float64          `json:"shared_quota_recovery_hours"`
	SharedQuotaUnit            string           `json:"shared_quota_unit"`
	// Payments (docs/money.md): the gateways, the smallest top-up (a decimal string of the
	// site's currency), how long an order may be paid, and the inviter's share of a paid top-up.
	// The merchant key and the signing secret are stored sealed (secretbox) and never returned.
	YipayEnabled               bool   `json:"yipay_enabled"`
	YipayURL                   string `json:"yipay_url"`
	YipayPID                   string `json:"yipay_pid"`
	YipayKeyEnc                []byte `json:"yipay_key_enc"`
	OpenPaymentEnabled         bool   `json:"openpayment_enabled"`
	OpenPaymentURL             string `json:"openpayment_url"`
	OpenPaymentMerchantID      string `json:"openpayment_merchant_id"`
	OpenPaymentSecretEnc       []byte `json:"openpayment_secret_enc"`
	PaymentMinAmount           string `json:"payment_min_amount"`
	PaymentOrderExpiryMinutes  int    `json:"payment_order_expiry_minutes"`
	ReferralCommissionPermille int    `json:"referral_commission_permille"`
	// PricingEndpointEnabled makes GET /api/pricing answer the model prices to anyone.
	PricingEndpointEnabled bool `json:"pricing_endpoint_enabled"`
}

// Shared quota defaults: a new user may make 100 calls on shared accounts per model family,
// recovering over 5 hours; each shared account they contribute adds 100.
const (
	DefaultSharedQuotaBase     = 100
	DefaultSharedQuotaBonus    = 100
	DefaultSharedQuotaRecovery = 5
	SharedQuotaCalls           = "calls"
	SharedQuotaTokens          = "tokens"
)

// DefaultQuotaPerUnit is the quota units one unit of the site's currency buys on a fresh install.
const DefaultQuotaPerUnit = 500000

// Defaults are the settings of a fresh install.
func Defaults() Values {
	return Values{SiteName: "Poolgate", RegistrationEnabled: true, QuotaPerUnit: DefaultQuotaPerUnit, SessionTTLHours: 24,
		SharedQuotaBase: DefaultSharedQuotaBase, SharedQuotaBonusPerAccount: map[string]int64{"*": DefaultSharedQuotaBonus},
		SharedQuotaRecoveryHours: DefaultSharedQuotaRecovery, SharedQuotaUnit: SharedQuotaCalls,
		PaymentMinAmount: "1.00", PaymentOrderExpiryMinutes: 30}
}

// Patch changes some settings; nil fields stay.
type Patch struct {
	SiteName            *string
	RegistrationEnabled *bool
	AllowUnpricedModels *bool
	NewUserBalance      *int64
	QuotaPerUnit        *int64
	OAuthURL            *string
	AuditLimitURL       *string
	NotifyURL           *string
	ExpiredRedirectURL  *string
	CarpageNotice       *string
	SiteTimeZone        *string

	// Check-in.
	CheckInEnabled   *bool
	CheckInMinReward *int64
	CheckInMaxReward *int64

	// Catalog.
	PricingEndpointEnabled *bool

	// Identity.
	EmailVerificationRequired *bool
	OIDCOnly                  *bool
	SessionTTLHours           *int
	RegistrationMinTrustLevel *int
	ProMinTrustLevel          *int
	UltraMinTrustLevel        *int

	// Payments. The sealed secrets are replaced when not nil (an empty slice removes them).
	YipayEnabled               *bool
	YipayURL                   *string
	YipayPID                   *string
	YipayKeyEnc                *[]byte
	OpenPaymentEnabled         *bool
	OpenPaymentURL             *string
	OpenPaymentMerchantID      *string
	OpenPaymentSecretEnc       *[]byte
	PaymentMinAmount           *string
	PaymentOrderExpiryMinutes  *int
	ReferralCommissionPermille *int

	// Contributed accounts: replaced whole when not nil.
	ContributedAccountChannels map[string]int64

	// Shared quota pool; the bonus map is replaced whole when not nil.
	SharedQuotaBase            *int64
	SharedQuotaBonusPerAccount map[string]int64
	SharedQuotaRecoveryHours   *float64
	SharedQuotaUnit            *string
}

// Store caches the settings.
type Store struct {
	pool *pgxpool.Pool
	q    *db.Queries
	bus  *bus.Bus
	cur  atomic.Pointer[Values]
	base Values
}

// New makes a store and subscribes it to invalidations; call Load before use.
func New(pool *pgxpool.Pool, q *db.Queries, b *bus.Bus) *Store {
	return NewWithDefaults(pool, q, b, Defaults())
}

// NewWithDefaults is New with the values a key takes while it is not stored (the environment's
// hook URLs, for instance); call Load before use.
func NewWithDefaults(pool *pgxpool.Pool, q *db.Queries, b *bus.Bus, d Values) *Store {
	s := &Store{pool: pool, q: q, bus: b, base: d}
	s.cur.Store(&d)
	b.Subscribe(bus.TopicSettings, func(string) { _ = s.Load(context.Background()) })
	return s
}

// Get returns the current settings (never nil).
func (s *Store) Get() *Values { return s.cur.Load() }

// Load reads the settings from the database.
func (s *Store) Load(ctx context.Context) error {
	rows, err := s.q.SettingList(ctx, s.pool)
	if err != nil {
		return fmt.Errorf("load settings: %w", err)
	}
	v := s.base
	m := map[string]json.RawMessage{}
	for _, r := range rows {
		m[r.Key] = r.Value
	}
	if _, ok := m["shared_quota_bonus_per_account"]; ok {
		v.SharedQuotaBonusPerAccount = nil // a stored map replaces the default (never merged into it)
	}
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("decode settings: %w", err)
	}
	s.cur.Store(&v)
	return nil
}

// Update applies a patch in one transaction and tells every instance.
func (s *Store) Update(ctx context.Context, p Patch) (*Values, error) {
	kv := map[string]any{}
	if p.SiteName != nil {
		kv["site_name"] = *p.SiteName
	}
	if p.RegistrationEnabled != nil {
		kv["registration_enabled"] = *p.RegistrationEnabled
	}
	if p.AllowUnpricedModels != nil {
		kv["allow_unpriced_models"] = *p.AllowUnpricedModels
	}
	if p.NewUserBalance != nil {
		kv["new_user_balance"] = *p.NewUserBalance
	}
	if p.QuotaPerUnit != nil {
		kv["quota_per_unit"] = *p.QuotaPerUnit
	}
	if p.ContributedAccountChannels != nil {
		kv["contributed_account_channels"] = p.ContributedAccountChannels
	}
	if p.SharedQuotaBonusPerAccount != nil {
		kv["shared_quota_bonus_per_account"] = p.SharedQuotaBonusPerAccount
	}
	if p.SharedQuotaRecoveryHours != nil {
		kv["shared_quota_recovery_hours"] = *p.SharedQuotaRecoveryHours
	}
	for k, v := range map[string]*int64{"check_in_min_reward": p.CheckInMinReward, "check_in_max_reward": p.CheckInMaxReward,
		"shared_quota_base": p.SharedQuotaBase} {
		if v != nil {
			kv[k] = *v
		}
	}
	for k, v := range map[string]*bool{"email_verification_required": p.EmailVerificationRequired, "oidc_only": p.OIDCOnly,
		"check_in_enabled": p.CheckInEnabled, "yipay_enabled": p.YipayEnabled, "openpayment_enabled": p.OpenPaymentEnabled,
		"pricing_endpoint_enabled": p.PricingEndpointEnabled} {
		if v != nil {
			kv[k] = *v
		}
	}
	for k, v := range map[string]*int{"session_ttl_hours": p.SessionTTLHours, "registration_min_trust_level": p.RegistrationMinTrustLevel,
		"pro_min_trust_level": p.ProMinTrustLevel, "ultra_min_trust_level": p.UltraMinTrustLevel,
		"payment_order_expiry_minutes": p.PaymentOrderExpiryMinutes, "referral_commission_permille": p.ReferralCommissionPermille} {
		if v != nil {
			kv[k] = *v
		}
	}
	for k, v := range map[string]*string{"oauth_url": p.OAuthURL, "audit_limit_url": p.AuditLimitURL,
		"notify_url": p.NotifyURL, "expired_redirect_url": p.ExpiredRedirectURL, "carpage_notice": p.CarpageNotice,
		"site_time_zone": p.SiteTimeZone, "shared_quota_unit": p.SharedQuotaUnit, "yipay_url": p.YipayURL, "yipay_pid": p.YipayPID, "openpayment_url": p.OpenPaymentURL,
		"openpayment_merchant_id": p.OpenPaymentMerchantID, "payment_min_amount": p.PaymentMinAmount} {
		if v != nil {
			kv[k] = *v
		}
	}
	for k, v := range map[string]*[]byte{"yipay_key_enc": p.YipayKeyEnc, "openpayment_secret_enc": p.OpenPaymentSecretEnc} {
		if v != nil {
			kv[k] = *v
		}
	}
	err := store.WithTx(ctx, s.pool, func(tx pgx.Tx) error {
		for k, v := range kv {
			b, _ := json.Marshal(v)
			if err := s.q.SettingUpsert(ctx, tx, db.SettingUpsertParams{Key: k, Value: b}); err != nil {
				return store.Translate(err, "")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.Load(ctx); err != nil {
		return nil, err
	}
	s.bus.Publish(ctx, bus.TopicSettings, "")
	return s.Get(), nil
}

// Location is the site's time zone (UTC when unset or unknown).
func (v *Values) Location() *time.Location {
	if v.SiteTimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(v.SiteTimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}
