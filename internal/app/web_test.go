package app_test

import (
	_ "embed" // the browser scenario
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/browsertest"
)

//go:embed testdata/app.js
var appScenario string

// TestLoginTokenLandsOnApp follows a /logintoken sign-in link in Chromium to the console at /app,
// which shows the signed-in user, and signs out there.
func TestLoginTokenLandsOnApp(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	u := env.NewUser("lander", 123_456)
	browsertest.Run(t, browsertest.Scenario{Script: appScenario, Env: map[string]string{
		"BASE_URL": env.URL, "ACCESS_TOKEN": u.Key, "USERNAME": u.Name,
	}})

	// Without a browser: /app and anything under it answer the page.
	for _, p := range []string{"/app", "/app/", "/app/keys"} {
		res, err := http.Get(env.URL + p) //nolint:noctx // test
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, p)
		require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
		require.Contains(t, string(b), `<div id="root">`)
	}
}
