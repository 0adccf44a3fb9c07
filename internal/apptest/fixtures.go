package apptest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	authclient "github.com/poolgate/poolgate/clients/go/auth"
	userclient "github.com/poolgate/poolgate/clients/go/user"
)

// TestUser is a registered user with a JWT and an API key.
type TestUser struct {
	ID    int64
	Name  string
	Token string
	Key   string
	KeyID int64
}

// NewUser registers a user with the given balance and creates an API key for them.
func (e *Env) NewUser(name string, balance int64) *TestUser {
	e.T.Helper()
	ctx := context.Background()
	res, err := e.Auth().PasswordRegisterWithResponse(ctx, authclient.RegisterRequest{Username: name, Password: "password-" + name})
	require.NoError(e.T, err)
	require.Equal(e.T, http.StatusOK, res.StatusCode(), string(res.Body))
	u := &TestUser{ID: res.JSON200.User.Id, Name: name, Token: res.JSON200.Token}
	if balance != 0 {
		up, err := e.Admin().UserUpdateWithResponse(ctx, u.ID, adminclient.UserUpdate{Balance: &balance})
		require.NoError(e.T, err)
		require.Equal(e.T, http.StatusOK, up.StatusCode(), string(up.Body))
	}
	k, err := e.User(u.Token).ApiKeyCreateWithResponse(ctx, userclient.ApiKeyCreateRequest{Name: "test"})
	require.NoError(e.T, err)
	require.Equal(e.T, http.StatusCreated, k.StatusCode(), string(k.Body))
	u.Key, u.KeyID = k.JSON201.Key, k.JSON201.Id
	return u
}

// Channel creates an OpenAI-type channel on the fake upstream serving models, with one account
// per credential; it returns the channel id.
func (e *Env) Channel(name string, models []string, credentials ...string) int64 {
	e.T.Helper()
	ctx := context.Background()
	res, err := e.Admin().ChannelCreateWithResponse(ctx, adminclient.ChannelCreate{
		Name: name, Type: adminclient.Openai, BaseUrl: e.UpstreamURL, Models: models})
	require.NoError(e.T, err)
	require.Equal(e.T, http.StatusCreated, res.StatusCode(), string(res.Body))
	for _, cred := range credentials {
		a, err := e.Admin().AccountCreateWithResponse(ctx, res.JSON201.Id, adminclient.AccountCreate{Credential: cred})
		require.NoError(e.T, err)
		require.Equal(e.T, http.StatusCreated, a.StatusCode(), string(a.Body))
	}
	return res.JSON201.Id
}

// Price prices a model (quota units per million tokens).
func (e *Env) Price(model string, input, output int64) {
	e.T.Helper()
	res, err := e.Admin().ModelCreateWithResponse(context.Background(), adminclient.ModelCreate{
		Name: model, InputPrice: input, OutputPrice: output})
	require.NoError(e.T, err)
	require.Equal(e.T, http.StatusCreated, res.StatusCode(), string(res.Body))
}

// SharedQuota sets every user's shared quota base (docs/accounts.md); load tests lift it out of
// the way.
func (e *Env) SharedQuota(base int64) {
	e.T.Helper()
	res, err := e.Admin().SettingsUpdateWithResponse(context.Background(), adminclient.SettingsUpdate{SharedQuotaBase: &base})
	require.NoError(e.T, err)
	require.Equal(e.T, http.StatusOK, res.StatusCode(), string(res.Body))
}

// FlushUsage waits until every usage record is written.
func (e *Env) FlushUsage() {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A call's usage is queued when its handler ends, which can be just after the client has
	// read the whole answer: wait for the calls in flight first.
	for e.App.Relay.InFlight() > 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	require.NoError(e.T, e.App.Usage.Flush(ctx))
}

// Balance reads a user's balance through the admin API.
func (e *Env) Balance(id int64) int64 {
	e.T.Helper()
	res, err := e.Admin().UserGetWithResponse(context.Background(), id)
	require.NoError(e.T, err)
	require.Equal(e.T, http.StatusOK, res.StatusCode(), string(res.Body))
	return res.JSON200.Balance
}

// RequireError asserts a management answer: the status, and the `{"detail":{"error","code"}}`
// body with that code and (when msg is not empty) an error text containing msg.
func RequireError(t testing.TB, status int, code, msg string, gotStatus int, body []byte) {
	t.Helper()
	require.Equal(t, status, gotStatus, string(body))
	var e struct {
		Detail struct {
			Error string `json:"error"`
			Code  string `json:"code"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Equal(t, code, e.Detail.Code, string(body))
	require.NotEmpty(t, e.Detail.Error)
	if msg != "" {
		require.Contains(t, e.Detail.Error, msg)
	}
}
