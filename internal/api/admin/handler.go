// Package admin implements the admin contract: settings, channels and accounts, models and
// prices, users and usage logs.
package admin

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/accounts"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/remote"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/sso"
)

// Handler implements the admin contract. Changes that affect routing publish bus.TopicRoutes;
// changes to a user publish bus.TopicUser so every instance's caches drop them.
type Handler struct {
	Pool     *pgxpool.Pool
	Queries  *db.Queries
	Bus      *bus.Bus
	Box      *secretbox.Box
	Settings *settings.Store
	// Remote imports remote accounts (sources, syncs, injection).
	Remote *remote.Service
	// Hooks validates hook URLs and share-link credential hosts.
	Hooks *hook.Service
	// Accounts is the account pool (resets, status monitor checks, model listing).
	Accounts *pool.Pool
	// Guard refuses outbound fetches to private addresses (price lists) unless allowed.
	Guard *netguard.Guard
	// GuardChannelBaseURLs applies Guard to channel base URLs when saved (GUARD_CHANNEL_BASE_URLS).
	GuardChannelBaseURLs bool
	// Auth creates users, sets passwords and ends sessions; SSO checks sign-in providers.
	Auth *auth.Service
	SSO  *sso.Service
	// Contributed onboards OAuth-based accounts into channels.
	Contributed *accounts.Service
}

var _ adminapi.StrictServerInterface = (*Handler)(nil)
