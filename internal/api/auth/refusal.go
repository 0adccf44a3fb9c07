package auth

import (
	"html"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
)

// CallbackShapes renders refusals of the SSO callback, which a browser reaches by a redirect:
// a small HTML page when the browser asks for HTML, the management JSON otherwise.
func CallbackShapes() []httpx.ShapeRule {
	return []httpx.ShapeRule{{Prefix: "/auth/callback", Render: renderCallback}}
}

func renderCallback(c echo.Context, status int, e *fault.Error, rid string) error {
	accept := c.Request().Header.Get("Accept")
	if !strings.Contains(accept, "text/html") || strings.HasPrefix(accept, "application/json") {
		return httpx.Management(c, status, e, rid)
	}
	msg := html.EscapeString(e.Message)
	if status >= 500 && rid != "" {
		msg += " (request id " + html.EscapeString(rid) + ")"
	}
	return c.HTML(status, `<!doctype html><html lang="en"><meta charset="utf-8"><title>Sign-in refused</title>`+
		`<body><h1>Sign-in refused</h1><p>`+msg+`</p><p><a href="/app">Back to the site</a></p></body></html>`)
}
