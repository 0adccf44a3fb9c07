package remote_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/remote"
)

func TestParseShapes(t *testing.T) {
	t.Parallel()
	tokens, err := remote.Parse([]byte(`{"tokens": ["example-token-1", "example-token-2"]}`), "")
	require.NoError(t, err)
	require.Equal(t, &remote.Batch{Total: 2, Accounts: []remote.Account{
		{Token: "example-token-1", Provider: "gpt"}, {Token: "example-token-2", Provider: "gpt"}}}, tokens)

	accounts, err := remote.Parse([]byte(`{"accounts": [
		{"access_token": "example-token-3", "provider": "gpt", "type": "plus"},
		{"token": "example-token-4", "provider": "grok", "type": "basic", "metadata": {"team": "ops"}, "quota": 3}
	]}`), "grok")
	require.NoError(t, err)
	require.Equal(t, &remote.Batch{Total: 2, Accounts: []remote.Account{
		{Token: "example-token-3", Provider: "gpt", Type: "plus"},
		{Token: "example-token-4", Provider: "grok", Type: "basic", Metadata: []byte(`{"team": "ops"}`)}}}, accounts)

	array, err := remote.Parse([]byte(` ["example-token-5", {"access_token": "example-token-6", "provider": "gpt"}] `), "grok")
	require.NoError(t, err)
	require.Equal(t, &remote.Batch{Total: 2, Accounts: []remote.Account{
		{Token: "example-token-5", Provider: "grok"}, {Token: "example-token-6", Provider: "gpt"}}}, array)

	both, err := remote.Parse([]byte(`{"tokens": ["a-token"], "accounts": [{"token": "b-token", "status": "Disabled", "name": "b"}]}`), "gpt")
	require.NoError(t, err)
	require.Equal(t, &remote.Batch{Total: 2, Accounts: []remote.Account{
		{Token: "a-token", Provider: "gpt"}, {Token: "b-token", Provider: "gpt", Status: "disabled", Name: "b"}}}, both)

	empty, err := remote.Parse([]byte(`{"tokens": []}`), "")
	require.NoError(t, err)
	require.Equal(t, &remote.Batch{}, empty)
}

func TestParseFailures(t *testing.T) {
	t.Parallel()
	b, err := remote.Parse([]byte(`[
		"good-token",
		"",
		{"provider": "gpt"},
		{"token": "claude-token", "provider": "claude"},
		42,
		{"token": 7},
		{"token": "  spaced-token  ", "status": "cooling", "metadata": "not an object"}
	]`), "")
	require.NoError(t, err)
	require.Equal(t, 7, b.Total)
	require.Equal(t, 5, b.Failed())
	require.Equal(t, []remote.Account{{Token: "good-token", Provider: "gpt"}, {Token: "spaced-token", Provider: "gpt"}}, b.Accounts)
	require.Equal(t, []string{
		"[1]: no access_token or token",
		"[2]: no access_token or token",
		"[3]: unsupported provider (gpt or grok)",
		"[4]: expected a token string or an account object",
		"[5]: invalid account: token must be string",
	}, b.Errors)
	for _, e := range b.Errors {
		require.NotContains(t, e, "claude-token", "errors never carry tokens")
	}

	for _, bad := range []string{``, `null`, `"token"`, `{}`, `{"data": []}`, `[`, `{"tokens": "abc"}`, `{"tokens": [}`} {
		_, err := remote.Parse([]byte(bad), "")
		require.ErrorIs(t, err, remote.ErrPayload, bad)
	}
	_, err = remote.Parse([]byte(`{"tokens": "secret-token-value"}`), "")
	require.NotContains(t, err.Error(), "secret-token-value")
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"tokens": ["a"]}`))
	f.Add([]byte(`{"accounts": [{"token": "b", "provider": "grok", "metadata": {"x": 1}}]}`))
	f.Add([]byte(`["c", {"access_token": "d"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := remote.Parse(data, "")
		if err != nil {
			require.ErrorIs(t, err, remote.ErrPayload)
			return
		}
		require.Equal(t, b.Total, len(b.Accounts)+len(b.Errors))
		for _, a := range b.Accounts {
			require.NotEmpty(t, a.Token)
			require.Contains(t, []string{"gpt", "grok"}, a.Provider)
		}
	})
}
