package gateway

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/relay"
)

// ShareInit opens a share link: the credential host's shareAuth/init decides when configured.
func (h *Handler) ShareInit(c echo.Context, shareID gatewayapi.ShareId, params gatewayapi.ShareInitParams) error {
	ctx := c.Request().Context()
	l, err := h.Relay.Share(ctx, shareID)
	if err != nil {
		return err
	}
	token := ""
	if params.AuthToken != nil {
		token = *params.AuthToken
	}
	if err := h.Relay.ShareInit(ctx, l, token); err != nil {
		return err
	}
	models := l.Models
	if models == nil {
		models = []string{}
	}
	return c.JSON(http.StatusOK, gatewayapi.ShareInfo{Success: true, Id: l.ID, Name: l.Name, Models: models,
		BaseUrl: "/share/" + l.ID + "/v1"})
}

// ShareChatCompletionCreate serves an OpenAI chat completion through a share link: the caller's
// bearer token is the link's authToken; the call rides the link's hidden API key.
func (h *Handler) ShareChatCompletionCreate(c echo.Context, shareID gatewayapi.ShareId) error {
	r := c.Request()
	l, err := h.Relay.Share(r.Context(), shareID)
	if err != nil {
		return err
	}
	token := ""
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		token = strings.TrimSpace(v[7:])
	}
	cl, err := h.Relay.ShareCaller(r.Context(), l, token)
	if err != nil {
		return err
	}
	return h.Relay.Serve(c.Response(), r, relay.Call{Endpoint: relay.Chat, Caller: cl, Share: l,
		RequestID: c.Response().Header().Get(httpx.HeaderRequestID)})
}
