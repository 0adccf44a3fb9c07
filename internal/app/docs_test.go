package app_test

import (
	_ "embed" // the browser scenario
	"encoding/json"
	"testing"
	"time"

	"net/url"
	"path"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/browsertest"
	"github.com/poolgate/poolgate/openapi"
)

//go:embed testdata/swagger.js
var swaggerScenario string

// TestSwaggerUIInBrowser loads /docs in headless Chromium, switches to each of the contracts
// and finds all their operations rendered, signs in through Authorize with an admin token and
// runs GET /api/settings from the page ("Try it out" → 200). A failure keeps a screenshot.
func TestSwaggerUIInBrowser(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	type contract struct {
		Name       string `json:"name"`
		Title      string `json:"title"`
		Operations int    `json:"operations"`
	}
	var cs []contract
	for _, name := range openapi.Contracts {
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = true
		loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
			return openapi.FS.ReadFile(path.Clean(strings.TrimPrefix(u.Path, "/")))
		}
		doc, err := loader.LoadFromURI(&url.URL{Path: name + ".yaml"})
		require.NoError(t, err)
		n := 0
		for _, item := range doc.Paths.Map() {
			n += len(item.Operations())
		}
		cs = append(cs, contract{Name: name, Title: doc.Info.Title, Operations: n})
	}
	list, err := json.Marshal(cs)
	require.NoError(t, err)
	// Seven contracts are rendered one after the other (admin's hundred operations twice): the
	// bound is wider than a single page's.
	browsertest.Run(t, browsertest.Scenario{Script: swaggerScenario, Timeout: 4 * time.Minute, Env: map[string]string{
		"BASE_URL": env.URL, "ADMIN_TOKEN": env.AdminToken, "CONTRACTS": string(list),
	}})
}
