package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOptionsDocumented checks that the documented options and the variables Load reads are the
// same set, each documented once with a help text.
func TestOptionsDocumented(t *testing.T) {
	t.Parallel()
	documented := map[string]bool{}
	for _, o := range Options {
		require.NotEmpty(t, o.help, o.name)
		require.False(t, documented[o.name], "%s is documented twice", o.name)
		documented[o.name] = true
	}
	read := map[string]bool{}
	_, err := Load(func(name string) string {
		read[strings.TrimSuffix(name, "_FILE")] = true
		return ""
	})
	require.NoError(t, err)
	require.Equal(t, documented, read)
	for _, o := range Options {
		if o.secret {
			require.Contains(t, []string{"ENCRYPTION_KEY", "JWT_SECRET", "HOOK_SECRET", "METRICS_TOKEN", "SMTP_URL",
				"OIDC_CLIENT_SECRET", "ADMIN_API_LOGIN_INIT_KEY", "OAUTH_ACCOUNT_PROVIDERS"}, o.name)
		}
	}
}
