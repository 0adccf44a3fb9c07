package tsclient_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/poolgate/poolgate/internal/apptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
	)
}

// nodeModules is where `make node` installs the pinned Node tools.
var nodeModules, _ = filepath.Abs("../../tools/node/node_modules")

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// TestClient type-checks the client and the flow with `tsc --strict`, then runs the flow under
// Node against a running server. Node and tools/node are required (CI installs them).
func TestClient(t *testing.T) {
	t.Parallel()
	_, err := exec.LookPath("node")
	require.NoError(t, err, "node is required (CI installs it; locally: apt-get install nodejs npm, then make node)")
	require.DirExists(t, nodeModules, "run make node")

	out := t.TempDir()
	run(t, nil, filepath.Join(nodeModules, ".bin", "tsc"), "-p", "tsconfig.test.json", "--outDir", out)
	// The compiled flow imports openapi-fetch: resolve it from the pinned tools.
	require.NoError(t, os.Symlink(nodeModules, filepath.Join(out, "node_modules")))
	require.NoError(t, os.WriteFile(filepath.Join(out, "package.json"), []byte(`{"type":"module"}`), 0o600))

	env := apptest.New(t)
	got := run(t, []string{"POOLGATE_URL=" + env.URL, "UPSTREAM_URL=" + env.UpstreamURL,
		"ADMIN_USERNAME=" + apptest.AdminUsername, "ADMIN_PASSWORD=" + apptest.AdminPassword},
		"node", filepath.Join(out, "test", "flow.js"))
	t.Log(got)
	require.Contains(t, got, "14 passed, 0 failed")
}
