// Package browsertest runs browser scenarios in Go tests: a scenario is JavaScript driving a
// page with Playwright (playwright-core from tools/node) in Debian's headless Chromium, with a
// fresh profile per run. A failing scenario fails the test with the step it failed in, and keeps
// a full-page screenshot, the page's HTML and its console (uncaught page errors included) as
// artifacts.
//
// A scenario is a CommonJS module exporting `async function (t)`, where t has:
//
//	t.page, t.context   the Playwright page and browser context
//	t.env               the environment: the app's URL and credentials the test passes
//	t.step(name, fn)    runs one named step; an uncaught error in the page fails it
//	t.expect(ok, msg)   fails the scenario with msg unless ok
//	t.log(...)          prints a line in the test's output
//
// Artifacts go to $BROWSERTEST_ARTIFACTS/<test name>/ (default .artifacts/browsertest/ at the
// repository's root; CI can upload that directory), and are cleared when the test starts again.
// Chromium is $BROWSERTEST_CHROMIUM, default /usr/bin/chromium. The tools are installed by
// .ci/run (or `make node` and `apt-get install chromium`); a missing one fails the test.
package browsertest

import (
	"bytes"
	"context"
	_ "embed" // the harness script
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/poolgate/poolgate/internal/nodetool"
)

//go:embed harness.js
var harness []byte

// DefaultTimeout bounds a scenario when Scenario.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// Scenario is one browser run.
type Scenario struct {
	// Script is the scenario module's source (often a go:embed of testdata/<name>.js).
	Script string
	// Env is passed to the scenario as environment variables (t.env): the app's URL,
	// credentials, what to expect.
	Env map[string]string
	// Timeout bounds the whole run (browser start included); zero means DefaultTimeout.
	Timeout time.Duration
}

// Run runs a scenario and fails t when it fails, naming the step and the artifacts kept.
func Run(t testing.TB, s Scenario) {
	t.Helper()
	chromium := Chromium(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "scenario.js")
	runner := filepath.Join(dir, "harness.js")
	profile := filepath.Join(dir, "profile")
	must(t, os.WriteFile(script, []byte(s.Script), 0o600))
	must(t, os.WriteFile(runner, harness, 0o600))
	must(t, os.Mkdir(profile, 0o700))
	artifacts := ArtifactDir(t)
	must(t, os.RemoveAll(artifacts))

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodetool.Node(t), runner, script) //nolint:gosec // the test's own scenario
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodetool.Modules(t), "BROWSERTEST_CHROMIUM="+chromium,
		"BROWSERTEST_ARTIFACTS="+artifacts, "BROWSERTEST_PROFILE="+profile)
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("browsertest: the scenario did not finish within %s:\n%s", timeout, out.String())
	}
	if err != nil {
		t.Fatalf("browsertest: the scenario failed (%v); artifacts in %s:\n%s", err, artifacts, out.String())
	}
	if testing.Verbose() {
		t.Log(out.String())
	}
}

// Chromium is the browser the scenarios run in: $BROWSERTEST_CHROMIUM, else /usr/bin/chromium.
func Chromium(t testing.TB) string {
	t.Helper()
	p := os.Getenv("BROWSERTEST_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil { //nolint:gosec // the operator's own setting
		t.Fatalf("browsertest: no Chromium at %s (apt-get install chromium; .ci/run does it)", p)
	}
	return p
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// ArtifactDir is where a failing scenario of t keeps its screenshot, HTML and console:
// $BROWSERTEST_ARTIFACTS/<test name>, default <repository>/.artifacts/browsertest/<test name>.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("BROWSERTEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join(nodetool.Root(t), ".artifacts", "browsertest")
	}
	return filepath.Join(base, strings.Trim(unsafeName.ReplaceAllString(t.Name(), "_"), "_"))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
}
