package app

import (
	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/web"
)

// consolePages are the paths answered with the web console (a single-page app that picks the
// page from the path): the user's /app (where /logintoken lands), the administrator's /admin,
// the share-link chat (/share/{id}, and FastGPT's /chat/share?shareId=), the status page and
// the pricing page.
var consolePages = []string{"/app", "/app/*", "/admin", "/admin/*", "/share/:share_id", "/chat/share", "/uptime", "/pricing"}

// mountApp serves the web console: its pages and, under /console/, its assets.
func mountApp(e *echo.Echo) {
	page := echo.WrapHandler(web.Index())
	for _, p := range consolePages {
		e.GET(p, page)
	}
	e.GET("/console/*", echo.WrapHandler(web.Static("/console")))
}
