package app

import (
	_ "embed" // the signed-in page
	"net/http"

	"github.com/labstack/echo/v4"
)

// appPage is the page /logintoken lands on (seed 000 redirects a signed-in user to /app): a
// small, self-contained page that shows who is signed in (GET /api/user/me with the session
// cookie) and can sign out. The web console replaces it.
//
//go:embed web/app.html
var appPage []byte

// mountApp serves appPage at /app and under it.
func mountApp(e *echo.Echo) {
	page := func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline' 'self'")
		return c.Blob(http.StatusOK, "text/html; charset=utf-8", appPage)
	}
	e.GET("/app", page)
	e.GET("/app/*", page)
}
