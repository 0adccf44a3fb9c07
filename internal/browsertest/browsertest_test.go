package browsertest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/browsertest"
)

// recorder is a testing.TB that records a failure instead of stopping the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }
func (r *recorder) Helper()                           {}

func page(t *testing.T, html string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(html))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestPassingScenario(t *testing.T) {
	t.Parallel()
	url := page(t, `<!doctype html><title>x</title><button onclick="document.body.dataset.n='1'">go</button>`)
	browsertest.Run(t, browsertest.Scenario{Env: map[string]string{"PAGE": url}, Script: `
module.exports = async function (t) {
  await t.step('click', async () => {
    await t.page.goto(t.env.PAGE);
    await t.page.click('button');
    t.expect(await t.page.evaluate(() => document.body.dataset.n) === '1', 'the click ran');
  });
};`})
}

func TestFailingScenarioKeepsArtifacts(t *testing.T) {
	t.Parallel()
	url := page(t, `<!doctype html><title>x</title><p>hello</p><script>console.log('loaded')</script>`)
	r := &recorder{TB: t}
	browsertest.Run(r, browsertest.Scenario{Env: map[string]string{"PAGE": url}, Script: `
module.exports = async function (t) {
  await t.step('look for what is not there', async () => {
    await t.page.goto(t.env.PAGE);
    t.expect(await t.page.locator('p').innerText() === 'goodbye', 'the page says goodbye');
  });
};`})
	require.Contains(t, r.failed, `failed in step "look for what is not there"`)
	require.Contains(t, r.failed, "the page says goodbye")
	dir := browsertest.ArtifactDir(t)
	shot, err := os.Stat(filepath.Join(dir, "failure.png"))
	require.NoError(t, err, "a screenshot is kept")
	require.Positive(t, shot.Size())
	html, err := os.ReadFile(filepath.Join(dir, "page.html"))
	require.NoError(t, err)
	require.Contains(t, string(html), "hello")
	console, err := os.ReadFile(filepath.Join(dir, "console.log"))
	require.NoError(t, err)
	require.True(t, strings.Contains(string(console), "loaded"), string(console))
	require.NoError(t, os.RemoveAll(dir))
}

func TestPageErrorFailsTheStep(t *testing.T) {
	t.Parallel()
	url := page(t, `<!doctype html><title>x</title><script>var cfg = { urls.primaryName: 1 };</script>`)
	r := &recorder{TB: t}
	browsertest.Run(r, browsertest.Scenario{Env: map[string]string{"PAGE": url}, Script: `
module.exports = async function (t) {
  await t.step('open', async () => {
    await t.page.goto(t.env.PAGE);
    await t.page.waitForSelector('#never', { timeout: 60000 });
  });
};`})
	require.Contains(t, r.failed, "the page threw: SyntaxError")
	require.NoError(t, os.RemoveAll(browsertest.ArtifactDir(t)))
}
