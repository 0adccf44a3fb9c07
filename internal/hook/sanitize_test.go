package hook_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/hook"
)

func TestSanitizeError(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`call notify hook: Post "https://user:pw@hooks.example/notify?key=abc": context deadline exceeded`: `call notify hook: Post "https://hooks.example": context deadline exceeded`,
		`receiver answered 500 Internal Server Error`:                                                      `receiver answered 500 Internal Server Error`,
		`echoed sk-abcdefghijklmnop and Bearer tok.en/123 back`:                                            `echoed sk-ab… and Bearer … back`,
		`dial http://10.0.0.1:8090/shareAuth/finish.`:                                                      `dial http://10.0.0.1:8090.`,
	} {
		require.Equal(t, want, hook.SanitizeError(in), in)
	}
	long := hook.SanitizeError(strings.Repeat("错", 200))
	require.LessOrEqual(t, len(long), 300+len("…"))
	require.True(t, strings.HasSuffix(long, "…"))
	require.Equal(t, "hooks.example:8443", hook.HostOf("https://u:p@hooks.example:8443/x?y=z"))
}
