package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// shareLink is a share link as a call through it needs it.
type shareLink struct {
	id, name string
	authHost string
	key      string // the hidden API key its calls are charged through
	models   []string
	answer   *answerCapture // collects the answer for shareAuth/finish (share_answer.go)
}

const shareKey = "gateway.share"

func shareOf(c echo.Context) *shareLink {
	l, _ := c.Get(shareKey).(*shareLink)
	return l
}

// allows reports whether the link lets callers use model.
func (l *shareLink) allows(model string) bool {
	return len(l.models) == 0 || slices.Contains(l.models, model)
}

// loadShare reads a link and checks it may be used now. Links are read on every call (one
// primary-key query) so limits and status changes apply at once on every instance.
func (g *Gateway) loadShare(ctx context.Context, id string) (*shareLink, error) {
	row, err := g.d.Queries.ShareLinkGet(ctx, g.d.Pool, id)
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return nil, fault.Code(fault.NotFound, "share_not_found", "share link not found")
		}
		return nil, err
	}
	switch {
	case row.Status != "active":
		return nil, fault.Code(fault.Forbidden, "share_disabled", "this share link is disabled")
	case row.ExpiresAt != nil && !row.ExpiresAt.After(time.Now()):
		return nil, fault.Code(fault.Forbidden, "share_expired", "this share link has expired")
	case row.RequestLimit != nil && row.RequestCount >= *row.RequestLimit:
		return nil, fault.Code(fault.RateLimited, "share_limit_reached", "this share link has answered all the questions it allows")
	case row.QuotaLimit != nil && row.UsedQuota >= *row.QuotaLimit:
		return nil, fault.Code(fault.RateLimited, "share_limit_reached", "this share link has used all the quota it allows")
	}
	key, err := g.d.Box.Open(row.KeyEnc)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	return &shareLink{id: row.ID, name: row.Name, authHost: row.AuthHost, key: key, models: row.Models}, nil
}

// ShareInit opens a share link: the credential host's shareAuth/init decides when configured.
func (g *Gateway) ShareInit(c echo.Context, shareID gatewayapi.ShareId, params gatewayapi.ShareInitParams) error {
	ctx := c.Request().Context()
	l, err := g.loadShare(ctx, shareID)
	if err != nil {
		return err
	}
	if l.authHost != "" {
		token := ""
		if params.AuthToken != nil {
			token = *params.AuthToken
		}
		if err := g.shareAuthInit(ctx, l, token); err != nil {
			return err
		}
	}
	models := l.models
	if models == nil {
		models = []string{}
	}
	return c.JSON(http.StatusOK, gatewayapi.ShareInfo{Success: true, Id: l.id, Name: l.name, Models: models,
		BaseUrl: "/share/" + l.id + "/v1"})
}

func (g *Gateway) shareAuthInit(ctx context.Context, l *shareLink, token string) error {
	if token == "" {
		return fault.Code(fault.Unauthorized, "missing_auth_token", "this share link needs an authToken")
	}
	if g.d.Hooks == nil {
		return fault.New(fault.Unavailable, "share link checks are not available")
	}
	v, err := g.d.Hooks.ShareInit(ctx, l.authHost, token)
	if err != nil {
		return err
	}
	if !v.OK {
		return fault.Code(fault.Forbidden, "share_auth_refused", v.Message)
	}
	return nil
}

// ShareChatCompletionCreate serves an OpenAI chat completion through a share link: the caller's
// bearer token is the link's authToken; the call rides the link's hidden API key.
func (g *Gateway) ShareChatCompletionCreate(c echo.Context, shareID gatewayapi.ShareId) error {
	r := c.Request()
	l, err := g.loadShare(r.Context(), shareID)
	if err != nil {
		return err
	}
	token := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token = strings.TrimSpace(h[7:])
	}
	if l.authHost != "" && token == "" {
		return fault.Code(fault.Unauthorized, "missing_auth_token", "this share link needs an authToken as the bearer token")
	}
	cl, err := g.keys.lookup(r.Context(), l.key, time.Now())
	if err != nil {
		if fe, ok := fault.As(err); ok && fe.Kind == fault.Unauthorized {
			return fault.Code(fault.Forbidden, "share_disabled", "this share link's key is disabled")
		}
		return err
	}
	c.Set(callerKey, cl)
	c.Set(tokenKey, token)
	c.Set(shareKey, l)
	if l.authHost != "" && g.d.Hooks != nil { // shareAuth/finish carries the answer
		l.answer = &answerCapture{ResponseWriter: c.Response().Writer}
		c.Response().Writer = l.answer
	}
	return g.relay(c, epChat, "")
}
