package relay

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/provider/openai"
)

// TestCredentialHeaderMadeOncePerCredential: an account's credential header is made once and
// shared while its credential stays (the same backing for every call), made again when it
// changes (an OAuth token refreshed), and is what the adapter's SetHeaders would set.
func TestCredentialHeaderMadeOncePerCredential(t *testing.T) {
	t.Parallel()
	var a account
	ad := openai.Adapter{}
	name, v := a.credentialHeader(ad, "sk-one")
	want := http.Header{}
	ad.SetHeaders(want, nil, "sk-one")
	require.Equal(t, want, http.Header{name: v})
	require.Equal(t, 1, cap(v), "an append by a transport copies")

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			n2, v2 := a.credentialHeader(ad, "sk-one")
			require.Equal(t, name, n2)
			require.Equal(t, v, v2)
		})
	}
	wg.Wait()
	_, again := a.credentialHeader(ad, "sk-one")
	require.Same(t, &v[0], &again[0], "made once while the credential stays")

	_, v3 := a.credentialHeader(ad, "sk-two")
	require.Equal(t, []string{"Bearer sk-two"}, v3)
	require.Equal(t, []string{"Bearer sk-one"}, v, "the earlier value is left as it was")
}
