// Package web embeds the built web console (dist/, produced by `make web` from src/ with Vite and
// committed, so a clone runs without Node) and serves it: index.html for every console page and
// the content-hashed assets under /console/.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// Assets is the built console: index.html and assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at build time: a missing directory does not compile
	}
	return sub
}

// csp allows only the console's own scripts, styles and calls.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Index answers the console's page (every console path is the one single-page app).
func Index() http.Handler {
	page, err := fs.ReadFile(Assets(), "index.html")
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		_, _ = w.Write(page)
	})
}

// Static serves the built assets at prefix + name (e.g. /console/assets/index-abc.js). Their
// names carry a content hash, so they are cached for a year.
func Static(prefix string) http.Handler {
	files := http.FileServerFS(Assets())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, prefix)
		if !strings.HasPrefix(path.Clean("/"+name), "/assets/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		r2 := r.Clone(r.Context())
		r2.URL.Path = path.Clean("/" + name)
		files.ServeHTTP(w, r2)
	})
}
