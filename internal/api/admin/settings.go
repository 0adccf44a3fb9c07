package admin

import (
	"context"

	gen "github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/internal/settings"
)

// SettingsGet returns every setting.
func (h *Handler) SettingsGet(_ context.Context, _ gen.SettingsGetRequestObject) (gen.SettingsGetResponseObject, error) {
	return gen.SettingsGet200JSONResponse(settingsOut(h.Settings.Get())), nil
}

// SettingsUpdate changes the settings present in the body; the store tells every instance.
func (h *Handler) SettingsUpdate(ctx context.Context, req gen.SettingsUpdateRequestObject) (gen.SettingsUpdateResponseObject, error) {
	b := req.Body
	for _, u := range []*string{b.OauthUrl, b.AuditLimitUrl, b.NotifyUrl} {
		if u != nil {
			if err := h.Hooks.CheckURL(ctx, *u); err != nil {
				return nil, err
			}
		}
	}
	v, err := h.Settings.Update(ctx, settings.Patch{SiteName: b.SiteName, RegistrationEnabled: b.RegistrationEnabled,
		AllowUnpricedModels: b.AllowUnpricedModels, NewUserBalance: b.NewUserBalance, OAuthURL: b.OauthUrl,
		AuditLimitURL: b.AuditLimitUrl, NotifyURL: b.NotifyUrl, ExpiredRedirectURL: b.ExpiredRedirectUrl,
		CarpageNotice: b.CarpageNotice})
	if err != nil {
		return nil, err
	}
	return gen.SettingsUpdate200JSONResponse(settingsOut(v)), nil
}
