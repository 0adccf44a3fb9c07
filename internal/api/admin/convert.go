package admin

import (
	"context"
	"errors"
	"math"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/egress"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/settings"
)

// Paging defaults of the contract's Page and PageSize parameters.
const (
	defaultPage     = 1
	defaultPageSize = 20
	maxPage         = 1_000_000
	maxPageSize     = 200
)

// page turns the optional page parameters into the page, its size and the query's offset and
// limit. The validator bounds both; the bounds are enforced again so the offset fits an int32.
func page(p, size *int) (pg, ps int, off, lim int32) {
	pg, ps = defaultPage, defaultPageSize
	if p != nil {
		pg = min(max(*p, 1), maxPage)
	}
	if size != nil {
		ps = min(max(*size, 1), maxPageSize)
	}
	return pg, ps, int32((pg - 1) * ps), int32(ps) // bounded above: at most 2e8
}

// int32Of narrows a wire integer to a column's int32; the contract bounds the fields far below,
// so an out-of-range value is a bad request rather than a silent wrap.
func int32Of(field string, v int) (int32, error) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, fault.New(fault.Invalid, field+": value is out of range")
	}
	return int32(v), nil
}

// int32Ptr is int32Of for an optional field.
func int32Ptr(field string, v *int) (*int32, error) {
	if v == nil {
		return nil, nil
	}
	n, err := int32Of(field, *v)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// statusPtr converts an optional status to its column value.
func statusPtr(s *adminapi.ActiveStatus) *string {
	if s == nil {
		return nil
	}
	v := string(*s)
	return &v
}

func settingsOut(v *settings.Values) adminapi.Settings {
	return adminapi.Settings{SiteName: v.SiteName, RegistrationEnabled: v.RegistrationEnabled,
		AllowUnpricedModels: v.AllowUnpricedModels, NewUserBalance: v.NewUserBalance, QuotaPerUnit: v.QuotaPerUnit, OauthUrl: v.OAuthURL,
		AuditLimitUrl: v.AuditLimitURL, NotifyUrl: v.NotifyURL, ExpiredRedirectUrl: v.ExpiredRedirectURL,
		CarpageNotice: v.CarpageNotice, EmailVerificationRequired: v.EmailVerificationRequired, OidcOnly: v.OIDCOnly,
		SessionTtlHours: v.SessionTTLHours, RegistrationMinTrustLevel: v.RegistrationMinTrustLevel,
		ProMinTrustLevel: v.ProMinTrustLevel, UltraMinTrustLevel: v.UltraMinTrustLevel,
		ContributedAccountChannels: contributedChannelsOut(v.ContributedAccountChannels), SiteTimeZone: v.SiteTimeZone,
		CheckInEnabled: v.CheckInEnabled, CheckInMinReward: v.CheckInMinReward, CheckInMaxReward: v.CheckInMaxReward,
		SharedQuotaBase: v.SharedQuotaBase, SharedQuotaBonusPerAccount: contributedChannelsOut(v.SharedQuotaBonusPerAccount),
		SharedQuotaRecoveryHours: v.SharedQuotaRecoveryHours, SharedQuotaUnit: adminapi.SettingsSharedQuotaUnit(v.SharedQuotaUnit),
		YipayEnabled: v.YipayEnabled, YipayUrl: v.YipayURL, YipayPid: v.YipayPID, YipayKeySet: len(v.YipayKeyEnc) > 0,
		OpenpaymentEnabled: v.OpenPaymentEnabled, OpenpaymentUrl: v.OpenPaymentURL, OpenpaymentMerchantId: v.OpenPaymentMerchantID,
		OpenpaymentSecretSet: len(v.OpenPaymentSecretEnc) > 0, PaymentMinAmount: v.PaymentMinAmount,
		PaymentOrderExpiryMinutes: v.PaymentOrderExpiryMinutes, ReferralCommissionPermille: v.ReferralCommissionPermille,
		PricingEndpointEnabled: v.PricingEndpointEnabled}
}

// channelOut converts a channel read with its account count (ChannelGet; ChannelList rows convert
// to the same type).
func channelOut(c *db.ChannelGetRow) adminapi.Channel {
	models := c.Models
	if models == nil {
		models = []string{}
	}
	return adminapi.Channel{Id: c.ID, Name: c.Name, Type: adminapi.ChannelType(c.Type), BaseUrl: c.BaseURL, Models: models,
		Priority: int(c.Priority), Weight: int(c.Weight), Status: adminapi.ActiveStatus(c.Status), MinTier: adminapi.Tier(c.MinTier),
		AccountCount: int(c.AccountCount), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, ProxyUrl: proxyOut(c.ProxyURL)}
}

// accountOut converts an account row; the sealed credential never leaves, only whether there is
// one and its masked tail.
func accountOut(a *db.Account) adminapi.Account {
	return adminapi.Account{Id: a.ID, ChannelId: a.ChannelID, Name: a.Name, HasCredential: len(a.CredentialEnc) > 0,
		CredentialTail: a.CredentialTail, Status: accountStatus(a), Weight: int(a.Weight),
		SuccessCount: a.SuccessCount, FailureCount: a.FailureCount, LastUsedAt: wire.Null(a.LastUsedAt),
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Nickname: a.Nickname, StatusReason: a.StatusReason,
		Tier: adminapi.Tier(a.Tier), OwnerUserId: wire.Null(a.OwnerUserID), ApiKeyId: wire.Null(a.APIKeyID), CoolingUntil: wire.Null(a.CoolingUntil),
		MaxConcurrency: int(a.MaxConcurrency), Limits: limitsOut(a.Limits), ContributorUserId: a.ContributorUserID,
		ProxyUrl: proxyOut(a.ProxyURL)}
}

func modelOut(m *db.Model) adminapi.Model {
	return adminapi.Model{Id: m.ID, Name: m.Name, InputPrice: m.InputPrice, OutputPrice: m.OutputPrice,
		CachedInputPrice: wire.Null(m.CachedInputPrice), CacheWrite5mPrice: wire.Null(m.CacheWrite5mPrice), CacheWrite1hPrice: wire.Null(m.CacheWrite1hPrice),
		ReasoningPrice: wire.Null(m.ReasoningPrice), PerCallPrice: m.PerCallPrice, ImagePrice: m.ImagePrice,
		PromptTier: tierOut(m.PromptTier), OutputCap: wire.Null(m.OutputCap), CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// proxyOut shows an outbound proxy without its credentials.
func proxyOut(stored string) *string {
	r := egress.Redact(stored)
	return &r
}

// proxyIn checks an outbound proxy given in a body, its address included (the outbound guard;
// a host that does not resolve now is checked again when dialled), and returns the form stored
// (nil stays nil).
func (h *Handler) proxyIn(ctx context.Context, p *string) (*string, error) {
	if p == nil {
		return nil, nil
	}
	v, err := egress.Normalize(*p)
	if err != nil {
		return nil, fault.New(fault.Invalid, err.Error())
	}
	if h.Guard != nil {
		if err := h.Guard.CheckProxy(ctx, v); err != nil && !errors.Is(err, netguard.ErrResolve) {
			return nil, fault.New(fault.Invalid, "proxy_url: "+err.Error()+" (see ALLOW_PRIVATE_OUTBOUND)")
		}
	}
	return &v, nil
}
