package reliability_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// seen is one response body read by the test, with the request it answered.
type seen struct {
	what string
	body []byte
}

// tee keeps a copy of every response body its client reads.
type tee struct {
	base http.RoundTripper
	mu   sync.Mutex
	all  []seen
}

func (t *tee) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(r)
	if err != nil {
		return res, err
	}
	body, rerr := io.ReadAll(res.Body)
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	t.mu.Lock()
	t.all = append(t.all, seen{what: r.Method + " " + r.URL.Path, body: body})
	t.mu.Unlock()
	return res, rerr
}

// TestNoSecretLeaks creates every kind of secret a user and an administrator hand to Poolgate
// (passwords, an upstream credential, an API key, session tokens), uses them through the
// management APIs and the gateway in each protocol — including upstream errors that quote the
// upstream credential in full — and then scans every response body and every log line (debug
// level) for them. None may appear, except an API key in its own creation answer and a session
// token in the sign-in answer that issued it.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	logs := &testsvc.LockedBuffer{}
	env := apptest.New(t, apptest.WithLog(logs))
	rec := &tee{base: env.HTTP.Transport}
	env.HTTP.Transport = rec
	rawRec := &tee{base: env.RawHTTP.Transport}
	env.RawHTTP.Transport = rawRec
	ctx := context.Background()

	const upstreamKey = "sk-upstream-LEAKCHECK-0123456789abcdef"
	chID := env.Channel("leaky", []string{faultModel}, upstreamKey)
	env.Price(faultModel, 3_000_000, 7_000_000)
	u := env.NewUser("leak-user", 10_000_000)
	userPassword := "password-" + u.Name // apptest's convention

	accounts, err := env.Admin().AccountListWithResponse(ctx, chID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, accounts.StatusCode(), string(accounts.Body))
	_, err = env.Admin().UserListWithResponse(ctx, &adminclient.UserListParams{})
	require.NoError(t, err)
	_, err = env.User(u.Token).ApiKeyListWithResponse(ctx)
	require.NoError(t, err)

	f := &faultEnv{env: env, user: u}
	quoting := `{"error":{"message":"Incorrect API key provided: ` + upstreamKey + `.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
	for _, c := range callers {
		for _, stream := range []bool{false, true} {
			env.Upstream.Enqueue(fakeupstream.Reply{})
			status, body := f.call(t, c, stream)
			require.Equal(t, http.StatusOK, status, "%s: %s", c.name, body)
			env.Upstream.Enqueue(fakeupstream.Reply{Status: http.StatusBadRequest, Body: quoting})
			status, body = f.call(t, c, stream)
			require.Equal(t, http.StatusBadRequest, status, "%s: %s", c.name, body)
			env.Upstream.Enqueue(fakeupstream.Reply{Status: http.StatusInternalServerError, Body: quoting})
			status, body = f.call(t, c, stream)
			require.GreaterOrEqual(t, status, 500, "%s: %s", c.name, body)
		}
	}
	f.usage(t)

	secrets := map[string]string{
		"upstream credential":    upstreamKey,
		"upstream credential id": upstreamKey[len(upstreamKey)-16:],
		"API key":                u.Key,
		"user password":          userPassword,
		"admin password":         apptest.AdminPassword,
		"user session":           u.Token,
		"admin session":          env.AdminToken,
	}
	// Where a secret may appear: the answer that issued it.
	issuedBy := map[string]string{"API key": "/api/user/api-keys", "user session": "/auth/", "admin session": "/auth/"}
	for _, r := range append(rec.all, rawRec.all...) {
		for name, s := range secrets {
			if !bytes.Contains(r.body, []byte(s)) {
				continue
			}
			if p, ok := issuedBy[name]; ok && strings.HasPrefix(r.what, "POST ") && strings.Contains(r.what, p) {
				continue
			}
			t.Errorf("the %s appears in the answer to %s: %.300s", name, r.what, r.body)
		}
	}
	logText := logs.String()
	require.NotEmpty(t, logText)
	for name, s := range secrets {
		if i := strings.Index(logText, s); i >= 0 {
			start := max(i-200, 0)
			t.Errorf("the %s appears in the log: …%s…", name, logText[start:min(i+len(s)+100, len(logText))])
		}
	}
	t.Logf("%d answers and %d bytes of log scanned for %d secrets", len(rec.all)+len(rawRec.all), len(logText), len(secrets))
}
