// Package seed001 implements the seed 001 compatible contract (openapi/seed001.yaml): seed 001's
// own paths answering in its shapes, each served by the domain code behind Poolgate's own
// contracts — sign-in and sessions (auth, sso), API keys (the user contract's handlers), health
// (the public contract's), contributed accounts and OAuth onboarding (accounts), the shared quota
// (quota), and the model list and chat completions (the gateway's handlers over the relay).
package seed001

import (
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/seed001"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/accounts"
	gatewayh "github.com/poolgate/poolgate/internal/api/gateway"
	"github.com/poolgate/poolgate/internal/api/public"
	"github.com/poolgate/poolgate/internal/api/user"
	authn "github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/quota"
	"github.com/poolgate/poolgate/internal/sso"
)

// CallbackPath is where the provider sends a single sign-on begun at /api/auth/sso/initiate
// (seed 001's OAUTH_REDIRECT_URI); it must be registered with the provider.
const CallbackPath = "/api/auth/sso/callback"

// Handler implements the seed 001 compatible contract over the services of the others.
type Handler struct {
	Pool    *pgxpool.Pool
	Queries *db.Queries
	Auth    *authn.Service
	SSO     *sso.Service
	// User serves the API keys; Public the health check; Gateway the models and chat.
	User    *user.Handler
	Public  *public.Handler
	Gateway *gatewayh.Handler
	// Accounts are the contributed accounts; Quota the shared quota pool.
	Accounts *accounts.Service
	Quota    *quota.Pool
	// PublicURL is where Poolgate is reached (PUBLIC_URL): the callbacks are under it.
	PublicURL string
}

var _ seed001api.StrictServerInterface = (*Handler)(nil)

// Server is the contract's echo server: the strict handler, except for the model list and chat
// completions, which go to the gateway's handlers as they are (the body relayed raw, streams
// written event by event).
type Server struct {
	seed001api.ServerInterface
	gw *gatewayh.Handler
}

// NewServer makes the contract's server from its handler.
func NewServer(h *Handler) *Server {
	return &Server{ServerInterface: seed001api.NewStrictHandler(h, nil), gw: h.Gateway}
}

// SeedChatCompletionCreate relays the chat completion as the gateway's /v1/chat/completions.
func (s *Server) SeedChatCompletionCreate(c echo.Context) error {
	return s.gw.Authenticated(s.gw.ChatCompletionCreate)(c)
}

// SeedModelList lists the caller's models as the gateway's /v1/models (OpenAI's shape).
func (s *Server) SeedModelList(c echo.Context) error {
	return s.gw.Authenticated(s.gw.OpenAIModelList)(c)
}

// errServedRaw answers a strict method that Server routes elsewhere (never reached).
var errServedRaw = errors.New("served by the gateway's handler, not the strict one")
