package remote_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/hookserver"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/remote"
)

// TestSyncSignedAtReferenceServer: remote-source fetches are signed like every other request
// Poolgate sends to a third party, so the reference hook server (which verifies every request
// when it has a secret) serves them; unsigned or wrongly signed fetches are refused.
func TestSyncSignedAtReferenceServer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret := []byte("shared-hook-secret")
	ref := httptest.NewServer(hookserver.New(hookserver.Config{Secret: secret,
		RemoteTokens: []string{"ref-token-1", "ref-token-2"}}).Handler())
	t.Cleanup(ref.Close)
	src := b.source(t, db.RemoteSourceCreateParams{Name: "Reference", URL: ref.URL + "/remote-accounts",
		BearerTokenEnc: b.box.Seal("source-bearer"), Provider: "gpt"})
	g, err := netguard.New("127.0.0.0/8")
	require.NoError(t, err)
	service := func(key []byte) *remote.Service {
		s := remote.New(remote.Config{Pool: b.pool, Queries: b.q, Box: b.box, Guard: g, Secret: key, Now: time.Now,
			Changed: func(context.Context) {}})
		t.Cleanup(s.Close)
		return s
	}

	for _, key := range [][]byte{nil, []byte("another-secret")} {
		job, _, err := service(key).Sync(b.ctx, src.ID, remote.TriggerManual)
		require.Error(t, err)
		require.Equal(t, []string{"fetch: the source answered HTTP 401"}, job.Errors)
	}
	job, _, err := service(secret).Sync(b.ctx, src.ID, remote.TriggerManual)
	require.NoError(t, err)
	require.Equal(t, "success", job.Status)
	require.Equal(t, [2]int32{2, 2}, [2]int32{job.Total, job.Added})
}
