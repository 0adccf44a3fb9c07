package wire

import (
	"github.com/poolgate/poolgate/gen/api/common"
	"github.com/poolgate/poolgate/internal/accounts"
)

// OAuthAuthorization converts an OAuth onboarding's authorization.
func OAuthAuthorization(a *accounts.Authorization) commonapi.OAuthAuthorization {
	return commonapi.OAuthAuthorization{Url: a.URL, State: a.State, RedirectUri: a.RedirectURI, PasteCode: a.PasteCode,
		ExpiresIn: int64(a.ExpiresIn.Seconds())}
}

// OAuthAccountAdded converts the account an OAuth onboarding added.
func OAuthAccountAdded(a *accounts.Added) commonapi.OAuthAccountAdded {
	return commonapi.OAuthAccountAdded{AccountId: a.ID, Provider: a.Provider, Shared: a.Shared}
}
