package app

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestRedisClientKinds: REDIS_URL names one server, a cluster (addr parameters) or a Sentinel set
// (master_name).
func TestRedisClientKinds(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"redis://127.0.0.1:6379/0":                            "single",
		"redis://127.0.0.1:7000?addr=127.0.0.1:7001":          "cluster",
		"redis://127.0.0.1:26379?master_name=m&addr=h2:26379": "sentinel",
	} {
		c, err := redisClient(raw)
		require.NoError(t, err, raw)
		switch c.(type) {
		case *redis.Client:
			require.Contains(t, []string{"single", "sentinel"}, want, raw) // a failover client is a *redis.Client
		case *redis.ClusterClient:
			require.Equal(t, "cluster", want, raw)
		default:
			t.Fatalf("%s: unexpected client %T", raw, c)
		}
		require.NoError(t, c.Close())
	}
	_, err := redisClient("redis://h:1?bogus=1&addr=h:2")
	require.Error(t, err)
}
