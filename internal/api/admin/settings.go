package admin

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/store"
)

// SettingsGet returns every setting.
func (h *Handler) SettingsGet(ctx context.Context, _ adminapi.SettingsGetRequestObject) (adminapi.SettingsGetResponseObject, error) {
	out, err := h.withSeedLimits(ctx, settingsOut(h.Settings.Get()))
	if err != nil {
		return nil, err
	}
	return adminapi.SettingsGet200JSONResponse(out), nil
}

// SettingsUpdate changes the settings present in the body; the store tells every instance.
func (h *Handler) SettingsUpdate(ctx context.Context, req adminapi.SettingsUpdateRequestObject) (adminapi.SettingsUpdateResponseObject, error) {
	b := req.Body
	for _, u := range []*string{b.OauthUrl, b.AuditLimitUrl, b.NotifyUrl} {
		if u != nil {
			if err := h.Hooks.CheckURL(ctx, *u); err != nil {
				return nil, err
			}
		}
	}
	var contributed map[string]int64
	if b.ContributedAccountChannels != nil {
		if err := h.checkContributedChannels(ctx, *b.ContributedAccountChannels); err != nil {
			return nil, err
		}
		contributed = *b.ContributedAccountChannels
	}
	if err := checkMoneySettings(h.Settings.Get(), b); err != nil {
		return nil, err
	}
	seeds, err := h.seedChanges(ctx, b)
	if err != nil {
		return nil, err
	}
	quota, err := sharedQuotaPatch(b)
	if err != nil {
		return nil, err
	}
	pay, err := h.paymentPatch(ctx, b)
	if err != nil {
		return nil, err
	}
	v, err := h.Settings.Update(ctx, settings.Patch{YipayEnabled: b.YipayEnabled, YipayURL: b.YipayUrl, YipayPID: b.YipayPid,
		YipayKeyEnc: pay.yipayKey, OpenPaymentEnabled: b.OpenpaymentEnabled, OpenPaymentURL: b.OpenpaymentUrl,
		OpenPaymentMerchantID: b.OpenpaymentMerchantId, OpenPaymentSecretEnc: pay.openSecret, PaymentMinAmount: b.PaymentMinAmount,
		PaymentOrderExpiryMinutes: b.PaymentOrderExpiryMinutes, ReferralCommissionPermille: b.ReferralCommissionPermille, ContributedAccountChannels: contributed, SiteTimeZone: b.SiteTimeZone,
		CheckInEnabled: b.CheckInEnabled, CheckInMinReward: b.CheckInMinReward, CheckInMaxReward: b.CheckInMaxReward,
		PricingEndpointEnabled: b.PricingEndpointEnabled,
		SiteName:               b.SiteName, RegistrationEnabled: b.RegistrationEnabled,
		AllowUnpricedModels: b.AllowUnpricedModels, NewUserBalance: b.NewUserBalance, QuotaPerUnit: b.QuotaPerUnit, OAuthURL: b.OauthUrl,
		AuditLimitURL: b.AuditLimitUrl, NotifyURL: b.NotifyUrl, ExpiredRedirectURL: b.ExpiredRedirectUrl,
		CarpageNotice: b.CarpageNotice, EmailVerificationRequired: b.EmailVerificationRequired, OIDCOnly: b.OidcOnly,
		SessionTTLHours: b.SessionTtlHours, RegistrationMinTrustLevel: b.RegistrationMinTrustLevel,
		ProMinTrustLevel: b.ProMinTrustLevel, UltraMinTrustLevel: b.UltraMinTrustLevel,
		SharedQuotaBase: b.SharedQuotaBase, SharedQuotaBonusPerAccount: quota.SharedQuotaBonusPerAccount,
		SharedQuotaRecoveryHours: quota.SharedQuotaRecoveryHours, SharedQuotaUnit: quota.SharedQuotaUnit})
	if err != nil {
		return nil, err
	}
	if err := h.applySeedChanges(ctx, seeds); err != nil {
		return nil, err
	}
	out, err := h.withSeedLimits(ctx, settingsOut(v))
	if err != nil {
		return nil, err
	}
	return adminapi.SettingsUpdate200JSONResponse(out), nil
}

// providerName is what a provider of contributed_account_channels may be called.
var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// checkContributedChannels refuses a provider name that is not a short lower-case slug and a
// channel that does not exist.
func (h *Handler) checkContributedChannels(ctx context.Context, m map[string]int64) error {
	for p, id := range m {
		if !providerName.MatchString(p) {
			return fault.New(fault.Invalid, fmt.Sprintf("contributed_account_channels: provider %q must be 1-32 lower-case letters, digits, '.', '_' or '-'", p))
		}
		if _, err := h.Queries.ChannelGet(ctx, h.Pool, id); err != nil {
			if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
				return fault.New(fault.Invalid, fmt.Sprintf("contributed_account_channels.%s: channel %d does not exist", p, id))
			}
			return err
		}
	}
	return nil
}

func contributedChannelsOut(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// sharedQuotaPatch reads the shared quota settings of an update: bonus keys are provider names or
// `*`.
func sharedQuotaPatch(b *adminapi.SettingsUpdateJSONRequestBody) (settings.Patch, error) {
	var p settings.Patch
	if b.SharedQuotaBonusPerAccount != nil {
		for k := range *b.SharedQuotaBonusPerAccount {
			if k != "*" && !providerName.MatchString(k) {
				return p, fault.New(fault.Invalid, fmt.Sprintf("shared_quota_bonus_per_account: provider %q must be '*' or 1-32 lower-case letters, digits, '.', '_' or '-'", k))
			}
		}
		p.SharedQuotaBonusPerAccount = *b.SharedQuotaBonusPerAccount
	}
	p.SharedQuotaRecoveryHours = b.SharedQuotaRecoveryHours
	if b.SharedQuotaUnit != nil {
		u := string(*b.SharedQuotaUnit)
		p.SharedQuotaUnit = &u
	}
	return p, nil
}

// checkMoneySettings refuses an unknown time zone and a check-in minimum above the maximum.
func checkMoneySettings(cur *settings.Values, b *adminapi.SettingsUpdateJSONRequestBody) error {
	if b.SiteTimeZone != nil && *b.SiteTimeZone != "" {
		if _, err := time.LoadLocation(*b.SiteTimeZone); err != nil {
			return fault.New(fault.Invalid, "site_time_zone: unknown time zone")
		}
	}
	lo, hi := cur.CheckInMinReward, cur.CheckInMaxReward
	if b.CheckInMinReward != nil {
		lo = *b.CheckInMinReward
	}
	if b.CheckInMaxReward != nil {
		hi = *b.CheckInMaxReward
	}
	if lo > hi {
		return fault.New(fault.Invalid, "check_in_min_reward: must not exceed check_in_max_reward")
	}
	return nil
}

// sealedPayment holds the payment secrets of a settings change, sealed (nil: unchanged; empty:
// removed).
type sealedPayment struct {
	yipayKey, openSecret *[]byte
}

// paymentPatch checks the gateway URLs (absolute http(s) URLs the outbound guard admits) and
// seals the merchant key and the signing secret.
func (h *Handler) paymentPatch(ctx context.Context, b *adminapi.SettingsUpdateJSONRequestBody) (sealedPayment, error) {
	for name, u := range map[string]*string{"yipay_url": b.YipayUrl, "openpayment_url": b.OpenpaymentUrl} {
		if u != nil && *u != "" {
			if err := h.Guard.Check(ctx, *u); err != nil {
				return sealedPayment{}, fault.New(fault.Invalid, name+": "+err.Error())
			}
		}
	}
	seal := func(s *string) *[]byte {
		if s == nil {
			return nil
		}
		out := []byte{}
		if *s != "" {
			out = h.Box.Seal(*s)
		}
		return &out
	}
	return sealedPayment{yipayKey: seal(b.YipayKey), openSecret: seal(b.OpenpaymentSecret)}, nil
}
