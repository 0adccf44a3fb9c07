// Package nodetool finds the pinned Node tools of tools/node (installed by `make node` or
// .ci/run) for tests that run them: spec linters, the TypeScript generator, Playwright, local
// identity and mail servers. A missing tool fails the test with the command that installs it:
// tests never skip because a tool is missing.
package nodetool

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Root is the repository's root directory (the one holding go.mod), found from the working
// directory of the test.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("nodetool: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("nodetool: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Modules is tools/node/node_modules, for NODE_PATH and require().
func Modules(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(Root(t), "tools", "node", "node_modules")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("nodetool: %s is missing: run `make node` (npm ci --prefix tools/node)", dir)
	}
	return dir
}

// Node is the path of the node binary.
func Node(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("nodetool: node is not installed (apt-get install nodejs npm; .ci/run does it)")
	}
	return p
}

// Bin is the path of an installed tool's command (tools/node/node_modules/.bin/<name>).
func Bin(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Modules(t), ".bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("nodetool: %s is missing: run `make node`", p)
	}
	return p
}

// Command is a command running a tool of tools/node with node on PATH and NODE_PATH set.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	Node(t)
	cmd := exec.Command(Bin(t, name), args...) //nolint:gosec // a pinned tool of the repository
	cmd.Env = append(os.Environ(), "NODE_PATH="+Modules(t))
	return cmd
}
