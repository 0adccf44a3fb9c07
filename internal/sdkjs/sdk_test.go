package sdkjs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/nodetool"
)

// models names one model per upstream channel type, all on the test's fake upstream.
var models = map[string]string{"openai": "js-openai", "anthropic": "js-claude", "gemini": "js-gemini"}

// calls is how many metered generations sdk.mjs makes per model (OpenAI: chat, chat stream, the
// stream helper, responses, responses stream; Anthropic: message, helper stream, raw stream;
// Gemini: generateContent, stream, two chat turns), plus one embeddings call.
const callsPerModel, extraCalls = 12, 1

// TestOfficialJavaScriptSDKs runs testdata/sdk.mjs under Node against a fresh app with one channel
// of each protocol, then checks that every answered generation has its usage row.
func TestOfficialJavaScriptSDKs(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	root := strings.TrimSuffix(env.UpstreamURL, "/v1")
	for typ, m := range models {
		base := root
		if typ == "openai" {
			base = env.UpstreamURL
		}
		ch, err := env.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{
			Name: typ, Type: adminclient.ChannelType(typ), BaseUrl: base, Models: []string{m}})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, ch.StatusCode(), string(ch.Body))
		acc, err := env.Admin().AccountCreateWithResponse(ctx, ch.JSON201.Id,
			adminclient.AccountCreate{Credential: "sk-upstream-js-" + typ})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, acc.StatusCode(), string(acc.Body))
		env.Price(m, 2_000_000, 5_000_000)
	}
	user := env.NewUser("jssdk", 1_000_000_000)

	// ESM ignores NODE_PATH: the script runs from a directory whose node_modules is tools/node's.
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join("testdata", "sdk.mjs"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sdk.mjs"), script, 0o600))
	require.NoError(t, os.Symlink(nodetool.Modules(t), filepath.Join(dir, "node_modules")))
	modelsJSON, err := json.Marshal(models)
	require.NoError(t, err)

	runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, nodetool.Node(t), filepath.Join(dir, "sdk.mjs")) //nolint:gosec // the test's own script
	cmd.Env = append(os.Environ(), "POOLGATE_URL="+env.URL, "POOLGATE_KEY="+user.Key, "MODELS="+string(modelsJSON))
	out, err := cmd.CombinedOutput()
	t.Logf("sdk.mjs:\n%s", out)
	require.NoError(t, err, "a check of the official JavaScript SDKs failed (output above)")

	env.FlushUsage()
	want := callsPerModel*len(models) + extraCalls
	got := 0
	var cursor *adminclient.LogCursor
	for {
		limit := adminclient.LogLimit(500)
		page, err := env.Admin().LogListWithResponse(ctx, &adminclient.LogListParams{UserId: &user.ID, Limit: &limit, Cursor: cursor})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, page.StatusCode(), string(page.Body))
		for _, l := range page.JSON200.Items {
			if l.StatusCode == http.StatusOK && l.Quota > 0 {
				got++
			}
		}
		next, err := page.JSON200.NextCursor.Get()
		if err != nil { // null or absent: the last page
			break
		}
		cursor = &next
	}
	require.Equal(t, want, got, "usage rows of answered generations")
}
