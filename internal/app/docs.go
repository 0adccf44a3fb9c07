package app

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"

	"github.com/poolgate/poolgate/openapi"
)

// mountDocs serves the raw specs under /openapi/ and Swagger UI (assets embedded, no CDN) at
// /docs with every contract in its dropdown, the gateway's first (Swagger UI opens the first).
//
// swgui writes each SettingsUI key into the page's script as is: a key with a dot, such as
// `urls.primaryName`, is a syntax error there and leaves the page blank, so the primary contract
// is chosen by its place in `urls`, never by that key.
func mountDocs(e *echo.Echo) {
	urls := make([]string, 0, len(openapi.Contracts))
	for _, c := range openapi.Contracts {
		urls = append(urls, `{"url":"/openapi/`+c+`.yaml","name":"`+c+`"}`)
	}
	ui := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "Poolgate API",
		SwaggerJSON: "/openapi/gateway.yaml",
		BasePath:    "/docs/",
		ShowTopBar:  true,
		SettingsUI: map[string]string{
			"urls":                     "[" + strings.Join(urls, ",") + "]",
			"defaultModelsExpandDepth": "1",
			"persistAuthorization":     "true",
		},
	})
	e.GET("/docs", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/docs/") })
	e.GET("/docs/*", echo.WrapHandler(ui))
	specs := http.FileServer(http.FS(openapi.FS))
	e.GET("/openapi/*", func(c echo.Context) error {
		name := strings.TrimPrefix(c.Request().URL.Path, "/openapi/")
		if _, err := fs.Stat(openapi.FS, name); err != nil || !strings.HasSuffix(name, ".yaml") {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		c.Response().Header().Set("Content-Type", "application/yaml; charset=utf-8")
		r := c.Request().Clone(c.Request().Context())
		r.URL.Path = "/" + name
		specs.ServeHTTP(c.Response(), r)
		return nil
	})
}
