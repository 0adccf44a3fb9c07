package app

import (
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	adminapi "github.com/poolgate/poolgate/gen/api/admin"
	authapi "github.com/poolgate/poolgate/gen/api/auth"
	publicapi "github.com/poolgate/poolgate/gen/api/public"
	seed001api "github.com/poolgate/poolgate/gen/api/seed001"
	userapi "github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/internal/accounts"
	"github.com/poolgate/poolgate/internal/api/admin"
	authh "github.com/poolgate/poolgate/internal/api/auth"
	gatewayh "github.com/poolgate/poolgate/internal/api/gateway"
	"github.com/poolgate/poolgate/internal/api/public"
	"github.com/poolgate/poolgate/internal/api/seed001"
	"github.com/poolgate/poolgate/internal/api/user"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/httpx"
)

// managementBodyLimit bounds management request bodies; validationBudget bounds the bytes of
// the management bodies being validated and served at once (their decoded trees are many times
// larger).
const (
	managementBodyLimit = 1 << 20
	validationBudget    = 8 << 20
)

// mountContracts mounts the management contracts, each behind its own validator.
func (a *App) mountContracts(e *echo.Echo) {
	guard := httpx.BodyGuard(validationBudget)
	mount := func(spec func() (*openapi3.T, error), admin bool) httpx.Router {
		s, err := spec()
		if err != nil {
			panic("embedded spec does not load: " + err.Error()) // generated code; cannot happen at run time
		}
		mw := []echo.MiddlewareFunc{bodyLimit(managementBodyLimit)}
		if admin {
			mw = append(mw, a.adminFirst) // authorization before validation: nothing of the schema leaks to non-admins
		}
		return httpx.Router{E: e, MW: append(mw, guard, httpx.CleanQuery(queryParams(s)), httpx.KeepAccept, a.validator(s), a.principal(admin))}
	}
	pub := &public.Handler{
		Pool: a.Pool, Redis: a.Redis, Queries: a.Queries, Auth: a.Auth, Settings: a.Settings, Version: a.Cfg.Version,
		Hooks: a.Hooks, Bus: a.Bus, SecureCookies: a.Cfg.AppEnv == config.EnvProduction,
		Accounts: a.Accounts, Payments: a.Payments, Relay: a.Relay,
	}
	publicapi.RegisterHandlers(mount(publicapi.GetSpec, false), publicapi.NewStrictHandler(pub, nil))
	authapi.RegisterHandlers(mount(authapi.GetSpec, false), authapi.NewStrictHandler(&authh.Handler{
		Pool: a.Pool, Queries: a.Queries, Auth: a.Auth, Settings: a.Settings,
		SecureCookies: a.Cfg.AppEnv == config.EnvProduction, SSO: a.SSO, Passkeys: a.Passkeys,
	}, nil))
	contributed := &accounts.Service{DB: a.Pool, Queries: a.Queries, Box: a.Box, Settings: a.Settings, Pool: a.Accounts, Bus: a.Bus, Guard: a.Guard,
		Ephemeral: a.Ephemeral, Refresher: a.OAuth, OAuthProviders: a.OAuthProviders,
		CallbackURL: strings.TrimRight(a.Cfg.PublicURL, "/") + "/api/user/accounts/oauth/callback"}
	usr := &user.Handler{
		Pool: a.Pool, Queries: a.Queries, Bus: a.Bus, Auth: a.Auth, SSO: a.SSO, Passkeys: a.Passkeys,
		Accounts: contributed, Limits: a.Limits, LimitRules: a.LimitRules, Quota: a.Quota,
		Settings: a.Settings, Payments: a.Payments, Relay: a.Relay,
	}
	userapi.RegisterHandlers(mount(userapi.GetSpec, false), userapi.NewStrictHandler(usr, nil))
	adminapi.RegisterHandlers(mount(adminapi.GetSpec, true), adminapi.NewStrictHandler(&admin.Handler{
		Pool: a.Pool, Queries: a.Queries, Bus: a.Bus, Box: a.Box, Settings: a.Settings, Remote: a.Remote,
		Hooks: a.Hooks, Accounts: a.Accounts, Guard: a.Guard, GuardChannelBaseURLs: a.Cfg.GuardChannelBaseURLs,
		Auth: a.Auth, SSO: a.SSO, Contributed: contributed,
	}, nil))
	// Seed 001's own paths, over the same handlers and services (docs/seed001.md).
	seed001api.RegisterHandlers(mount(seed001api.GetSpec, false), seed001.NewServer(&seed001.Handler{
		Pool: a.Pool, Queries: a.Queries, Auth: a.Auth, SSO: a.SSO, User: usr, Public: pub,
		Gateway: &gatewayh.Handler{Relay: a.Relay, Auth: a.Auth}, Accounts: contributed, Quota: a.Quota, PublicURL: a.Cfg.PublicURL,
	}))
}

// queryParams names each operation's query parameters by its route as echo knows it
// ("GET /api/logs"; path parameters as :name).
func queryParams(s *openapi3.T) map[string][]string {
	out := map[string][]string{}
	for path, item := range s.Paths.Map() {
		route := strings.NewReplacer("{", ":", "}", "").Replace(path)
		for method, op := range item.Operations() {
			for _, p := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
				if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
					out[method+" "+route] = append(out[method+" "+route], p.Value.Name)
				}
			}
		}
	}
	return out
}
