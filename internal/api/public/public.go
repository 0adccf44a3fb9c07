// Package public implements the public contract: health, first-run setup and public settings.
package public

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	publicapi "github.com/poolgate/poolgate/gen/api/public"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/payment"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/relay"
	"github.com/poolgate/poolgate/internal/settings"
)

// Handler implements the public contract.
type Handler struct {
	Pool     *pgxpool.Pool
	Redis    redis.UniversalClient // nil when not configured
	Queries  *db.Queries
	Auth     *auth.Service
	Settings *settings.Store
	// Accounts is the account pool (share-server pages read its state).
	Accounts *pool.Pool
	Version  string
	// Hooks decides token sign-ins when a login-check hook is configured (logintoken.go).
	Hooks *hook.Service
	// Bus tells every instance when a sign-in changed a user's tier.
	Bus *bus.Bus
	// SecureCookies marks the session cookie Secure (production behind TLS).
	SecureCookies bool
	// Payments handles the payment gateways' notifies and redirects.
	Payments *payment.Service
	// Relay answers the public catalog and prices (the routing snapshot).
	Relay *relay.Relay
}

var _ publicapi.StrictServerInterface = (*Handler)(nil)

// HealthGet reports the database and Redis state; 503 when the database is down.
func (h *Handler) HealthGet(ctx context.Context, _ publicapi.HealthGetRequestObject) (publicapi.HealthGetResponseObject, error) {
	res, ok := h.Health(ctx)
	if !ok {
		return publicapi.HealthGet503JSONResponse(res), nil
	}
	return publicapi.HealthGet200JSONResponse(res), nil
}

// Health checks PostgreSQL and Redis (also seed 001's /api/health); ok is false when the
// database is unreachable.
func (h *Handler) Health(ctx context.Context) (res publicapi.Health, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	res = publicapi.Health{Status: publicapi.HealthStatusOk, Database: publicapi.HealthDatabaseOk, Redis: publicapi.HealthRedisDisabled, Version: h.Version}
	if h.Redis != nil {
		res.Redis = publicapi.HealthRedisOk
		if h.Redis.Ping(ctx).Err() != nil {
			res.Redis = publicapi.HealthRedisDown
		}
	}
	if h.Pool.Ping(ctx) != nil {
		res.Database = publicapi.HealthDatabaseDown
		res.Status = publicapi.HealthStatusUnavailable
		return res, false
	}
	return res, true
}

// SetupStatusGet says whether an administrator still has to be created.
func (h *Handler) SetupStatusGet(ctx context.Context, _ publicapi.SetupStatusGetRequestObject) (publicapi.SetupStatusGetResponseObject, error) {
	exists, err := h.Queries.UserAdminExists(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	return publicapi.SetupStatusGet200JSONResponse{NeedsSetup: !exists}, nil
}

// SetupCreate creates the first administrator, once.
func (h *Handler) SetupCreate(ctx context.Context, req publicapi.SetupCreateRequestObject) (publicapi.SetupCreateResponseObject, error) {
	u, err := h.Auth.CreateFirstAdmin(ctx, req.Body.Username, req.Body.Password)
	if err != nil {
		return nil, err
	}
	return publicapi.SetupCreate201JSONResponse{User: wire.User(u)}, nil
}

// SettingsPublicGet returns the settings a sign-in page needs.
func (h *Handler) SettingsPublicGet(ctx context.Context, _ publicapi.SettingsPublicGetRequestObject) (publicapi.SettingsPublicGetResponseObject, error) {
	exists, err := h.Queries.UserAdminExists(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	s := h.Settings.Get()
	out := publicapi.SettingsPublicGet200JSONResponse{SiteName: s.SiteName, RegistrationEnabled: s.RegistrationEnabled,
		NeedsSetup: !exists, Version: h.Version, EmailVerificationRequired: &s.EmailVerificationRequired, OidcOnly: &s.OIDCOnly}
	providers, err := h.Queries.OIDCProviderList(ctx, h.Pool)
	if err != nil {
		return nil, err
	}
	list := []publicapi.SsoProvider{}
	for _, p := range providers {
		if p.Enabled {
			list = append(list, publicapi.SsoProvider{Name: p.Name, Slug: p.Slug})
		}
	}
	out.SsoProviders = &list
	return out, nil
}
