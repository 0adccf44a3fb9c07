package accounts_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/accounts"
)

func TestParseOAuthProviders(t *testing.T) {
	t.Parallel()
	got, err := accounts.ParseOAuthProviders("")
	require.NoError(t, err)
	require.Empty(t, got)

	got, err = accounts.ParseOAuthProviders(`{"anthropic":{"client_id":"c1"},"openai":{"client_id":"c2","token_url":"http://127.0.0.1:9/token","paste_code":true}}`)
	require.NoError(t, err)
	def := accounts.DefaultOAuthProviders()
	want := def["anthropic"]
	want.ClientID = "c1"
	require.Equal(t, want, got["anthropic"], "laid over the provider's defaults")
	require.Equal(t, "http://127.0.0.1:9/token", got["openai"].TokenURL)
	require.Equal(t, def["openai"].AuthorizeURL, got["openai"].AuthorizeURL)
	require.True(t, got["openai"].PasteCode)

	for _, bad := range []string{`[]`, `{"openai":{}}`, `{"openai":{"client_id":"c","token_url":"ftp://x/token"}}`,
		`{"custom":{"client_id":"c"}}`} {
		_, err := accounts.ParseOAuthProviders(bad)
		require.Error(t, err, bad)
	}
}

func TestSplitPastedCode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ code, state, wantCode, wantState string }{
		{"abc#st1", "", "abc", "st1"},
		{" abc#st1 ", "st1", "abc", "st1"},
		{"abc", "st1", "abc", "st1"},
	} {
		code, state, err := accounts.SplitPastedCode(c.code, c.state)
		require.NoError(t, err, c.code)
		require.Equal(t, c.wantCode, code)
		require.Equal(t, c.wantState, state)
	}
	for _, c := range [][2]string{{"abc#st1", "st2"}, {"abc", ""}, {"#st1", ""}, {"", "st1"}} {
		_, _, err := accounts.SplitPastedCode(c[0], c[1])
		require.Error(t, err, c)
	}
}
