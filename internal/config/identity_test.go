package config_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/config"
)

func TestLoadIdentity(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"PUBLIC_URL": "https://gate.example.com/", "TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7,::1",
		"SMTP_URL": "smtps://mailer:mail-pass@smtp.example.com:465", "SMTP_FROM": "Gate <noreply@example.com>",
		"OIDC_ISSUER": "https://id.example.com/", "OIDC_CLIENT_ID": "poolgate", "OIDC_CLIENT_SECRET": "oidc-secret",
		"ADMIN_API_LOGIN_INIT_KEY": "init-admin-password",
	}))
	require.NoError(t, err)
	require.Equal(t, "https://gate.example.com", c.PublicURL)
	require.Len(t, c.TrustedProxies, 3)
	require.Equal(t, "10.0.0.0/8", c.TrustedProxies[0].String())
	require.Equal(t, "192.168.1.7/32", c.TrustedProxies[1].String())
	require.Equal(t, "::1/128", c.TrustedProxies[2].String())
	require.Equal(t, "https://id.example.com", c.OIDCIssuer)
	require.Equal(t, "init-admin-password", c.AdminLoginInitKey)
	logged := strings.Join(toStrings(c.Redacted()), " ")
	for _, secret := range []string{"mail-pass", "oidc-secret", "init-admin-password"} {
		require.NotContains(t, logged, secret)
	}
	require.Contains(t, logged, "smtps://mailer:***@smtp.example.com:465")

	_, err = config.Load(env(map[string]string{
		"PUBLIC_URL": "gate.example.com", "TRUSTED_PROXIES": "proxy", "SMTP_URL": "http://u:leaked@x",
		"OIDC_ISSUER": "id.example.com", "ADMIN_API_LOGIN_INIT_KEY": "short",
	}))
	require.Error(t, err)
	require.Equal(t, []string{
		`PUBLIC_URL must be an absolute http(s) URL such as https://gate.example.com, got "gate.example.com"`,
		`TRUSTED_PROXIES: "proxy" is not a CIDR or an IP address`,
		`SMTP_URL must be smtp://user:pass@host:port or smtps://..., got "http://u:***@x"`,
		`OIDC_ISSUER must be an absolute http(s) URL, got "id.example.com"`,
		`OIDC_CLIENT_ID is required with OIDC_ISSUER`,
		`ADMIN_API_LOGIN_INIT_KEY must be at least 8 characters`,
	}, strings.Split(err.Error(), "\n"))
	require.NotContains(t, err.Error(), "leaked")
}

func toStrings(kv []any) []string {
	out := make([]string, 0, len(kv))
	for _, v := range kv {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
