package admin

import (
	"context"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/internal/settings"
)

// SettingsGet returns every setting.
func (h *Handler) SettingsGet(_ context.Context, _ adminapi.SettingsGetRequestObject) (adminapi.SettingsGetResponseObject, error) {
	return adminapi.SettingsGet200JSONResponse(settingsOut(h.Settings.Get())), nil
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
	v, err := h.Settings.Update(ctx, settings.Patch{SiteName: b.SiteName, RegistrationEnabled: b.RegistrationEnabled,
		AllowUnpricedModels: b.AllowUnpricedModels, NewUserBalance: b.NewUserBalance, QuotaPerUnit: b.QuotaPerUnit, OAuthURL: b.OauthUrl,
		AuditLimitURL: b.AuditLimitUrl, NotifyURL: b.NotifyUrl, ExpiredRedirectURL: b.ExpiredRedirectUrl,
		CarpageNotice: b.CarpageNotice, EmailVerificationRequired: b.EmailVerificationRequired, OIDCOnly: b.OidcOnly,
		SessionTTLHours: b.SessionTtlHours, RegistrationMinTrustLevel: b.RegistrationMinTrustLevel,
		ProMinTrustLevel: b.ProMinTrustLevel, UltraMinTrustLevel: b.UltraMinTrustLevel})
	if err != nil {
		return nil, err
	}
	return adminapi.SettingsUpdate200JSONResponse(settingsOut(v)), nil
}
