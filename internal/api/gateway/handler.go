// Package gateway implements the gateway contract's HTTP side: it authenticates each call (the
// API key in the header each SDK uses, or a signed-in session's JWT or cookie), hands it to the relay (internal/relay) with the route's
// endpoint, lists models and opens share links in each protocol's shape, and renders faults in
// the caller's protocol's error shape.
package gateway

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/header"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/relay"
)

// Handler serves the gateway contract over the relay.
type Handler struct {
	Relay *relay.Relay
	// Auth resolves a signed-in session (its JWT, or the session cookie) presented instead of an
	// API key (nil: API keys only).
	Auth *auth.Service
}

var _ gatewayapi.ServerInterface = (*Handler)(nil)

// Mount adds the gateway routes behind API key authentication.
func (h *Handler) Mount(e *echo.Echo) {
	gatewayapi.RegisterHandlers(httpx.Router{E: e, MW: []echo.MiddlewareFunc{h.authenticate}}, h)
}

// authenticate resolves the API key from the header each SDK uses: Authorization: Bearer,
// x-api-key, x-goog-api-key, or ?key=. Share links authenticate with their own token (share.go).
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasPrefix(c.Path(), "/share/") {
			return next(c)
		}
		r := c.Request()
		key := ""
		if v := header.Get(r.Header, "Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			key = strings.TrimSpace(v[7:])
		} else if v := header.Get(r.Header, "X-Api-Key"); v != "" {
			key = v
		} else if v := header.Get(r.Header, "X-Goog-Api-Key"); v != "" {
			key = v
		} else if r.URL.RawQuery != "" {
			key = r.URL.Query().Get("key")
		}
		cookie := false
		if key == "" && h.Auth != nil {
			if ck, err := r.Cookie(auth.SessionCookie); err == nil && ck.Value != "" {
				key, cookie = ck.Value, true
			}
		}
		if key == "" {
			return missingKey(r.URL.Path)
		}
		var cl relay.Caller
		var err error
		if h.Auth != nil && (cookie || auth.LooksLikeJWT(key)) {
			cl, err = h.sessionCaller(c, key, cookie)
		} else {
			cl, err = h.Relay.Authenticate(r.Context(), key)
		}
		if err != nil {
			return err
		}
		if !cl.AllowsAddr(r.RemoteAddr) { // the connection's peer: see docs/gateway.md, API key restrictions
			return relay.ErrAddrNotAllowed
		}
		httpx.SetLocal(c, cl)
		return next(c)
	}
}

// Authenticated wraps next, a handler serving a gateway call on another contract's path (seed
// 001's /api/plugin-api/chat/completions and /models), in the gateway's caller authentication.
func (h *Handler) Authenticated(next echo.HandlerFunc) echo.HandlerFunc { return h.authenticate(next) }

// missingKey is the 401 for a call without a key, naming where the caller's own SDK sends it.
func missingKey(path string) error {
	msg := "You didn't provide an API key. Send it as Authorization: Bearer sk-..."
	switch {
	case strings.HasPrefix(path, "/v1/messages"):
		msg = "x-api-key header is required (or Authorization: Bearer)"
	case strings.HasPrefix(path, "/v1beta/") || isGeminiPath("", path): // by the path alone
		msg = "Method doesn't allow unregistered callers. Send your API key as the x-goog-api-key header or the key query parameter."
	}
	return fault.Code(fault.Unauthorized, "missing_api_key", msg)
}

// sessionCaller resolves a session presented instead of an API key: its JWT, or the cookie
// (refused from another site's page, like every cookie-authenticated state change).
func (h *Handler) sessionCaller(c echo.Context, tok string, cookie bool) (relay.Caller, error) {
	r := c.Request()
	if cookie && h.Auth.CSRF != nil && h.Auth.CSRF.Check(r) != nil {
		return relay.Caller{}, fault.Code(fault.Forbidden, "csrf_refused", "cross-site request refused")
	}
	uid, sid, err := h.Auth.ResolveSession(r.Context(), tok, cookie)
	if err != nil {
		if fault.Is(err, fault.Unauthorized) {
			return relay.Caller{}, fault.Code(fault.Unauthorized, "invalid_api_key", "Your session has ended or is invalid; sign in again.")
		}
		return relay.Caller{}, err
	}
	return h.Relay.SessionCaller(r.Context(), uid, "session:"+sid)
}

// serve hands a call to the relay; model is the model named in the URL (Gemini), else "".
func (h *Handler) serve(c echo.Context, ep *relay.Endpoint, model string, geminiArray bool) error {
	cl, _ := httpx.Local(c).(relay.Caller)
	return h.Relay.Serve(c.Response(), c.Request(), relay.Call{Endpoint: ep, Model: model, Caller: cl,
		GeminiArray: geminiArray, RequestID: header.Get(c.Response().Header(), httpx.HeaderRequestID)})
}
