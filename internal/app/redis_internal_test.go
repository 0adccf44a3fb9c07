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

// TestRedisVersion: the version is read from INFO server; a Redis older than 6.2 is refused at
// start (the limits' release script calls ZMSCORE), this machine's is accepted.
func TestRedisVersion(t *testing.T) {
	t.Parallel()
	for info, want := range map[string]struct {
		v  [2]int
		ok bool
	}{
		"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n": {[2]int{7, 0}, true},
		"redis_version:6.2.0\r\n":               {[2]int{6, 2}, true},
		"redis_version:6.0.16\n":                {[2]int{6, 0}, true},
		"redis_version:x.y\n":                   {[2]int{}, false},
		"# Server\r\nredis_mode:standalone\r\n": {[2]int{}, false},
	} {
		v, ok := redisVersion(info)
		require.Equal(t, want.ok, ok, info)
		if ok {
			require.Equal(t, want.v, v, info)
		}
	}
	require.EqualError(t, versionError("redis_version:6.0.16\n"), "REDIS_URL: Redis 6.2 or later is required; the server is 6.0")
	require.NoError(t, versionError("redis_version:6.2.0\n"))
	require.NoError(t, versionError("no version here"))
	c, err := redisClient("redis://127.0.0.1:6379/0")
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, checkRedisVersion(t.Context(), c))
}
