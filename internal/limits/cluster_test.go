package limits_test

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/freeport"
	"github.com/poolgate/poolgate/internal/limits"
)

// throwawayCluster starts a 3-node Redis Cluster of the test's own on free ports.
func throwawayCluster(t *testing.T) []string {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip(bin + " is not installed: the Redis Cluster test needs its own 3-node cluster")
		}
	}
	dir := t.TempDir()
	var addrs []string
	for i := range 3 {
		port := clusterPort(t)
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", dir+"/nodes-"+strconv.Itoa(i)+".conf",
			"--dir", dir)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addr := "127.0.0.1:" + strconv.Itoa(port)
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		require.Eventually(t, func() bool { return rdb.Ping(context.Background()).Err() == nil }, 10*time.Second, 10*time.Millisecond)
		_ = rdb.Close()
		addrs = append(addrs, addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	out, err := exec.Command("redis-cli", append(args, "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	require.NoError(t, err, string(out))
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	require.Eventually(t, func() bool {
		info, err := cc.ClusterInfo(context.Background()).Result()
		return err == nil && len(info) > 0 && containsLine(info, "cluster_state:ok")
	}, 20*time.Second, 50*time.Millisecond)
	return addrs
}

// clusterPort is a free port whose cluster bus port (port + 10000) is free too.
func clusterPort(t *testing.T) int {
	t.Helper()
	port, err := freeport.TakeWith(10000)
	require.NoError(t, err, "no free port pair for a cluster node")
	return port
}

func containsLine(s, line string) bool {
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if l := s[:i]; l == line || l == line+"\r" {
			return true
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return false
}

// TestCluster: limits and reservations are exact over two instances sharing a 3-node Redis
// Cluster: every key of a call carries the {lim} hash tag, so the script runs on one slot.
func TestCluster(t *testing.T) {
	t.Parallel()
	addrs := throwawayCluster(t)
	var ls []*limits.Limiter
	for range 2 {
		cc := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, IsClusterMode: true})
		t.Cleanup(func() { _ = cc.Close() })
		ls = append(ls, limits.New(limits.Config{Redis: cc, Prefix: "cluster:"}))
	}
	rules := []limits.Rule{{ID: 1, Scope: limits.ScopeUser, Model: "*flash*", Window: 3 * time.Hour, Requests: 60}}
	cs := limits.Match(rules, limits.Who{User: 42}, "gemini-flash")
	ok, refused := admitMany(t, ls, cs, 200, 0)
	require.Len(t, ok, 60)
	require.Len(t, refused, 140)

	ok, refused = reserveMany(ls, 300, func() *limits.Hold { return userHold(10, 1000, 500, func() int64 { return 500 }) })
	require.Len(t, ok, 50)
	require.Len(t, refused, 250)
	for i, tk := range ok {
		ls[i%2].Release(context.Background(), tk, true, 0, 10)
	}
	require.Equal(t, int64(0), ls[0].Available(context.Background(), userHold(0, 1000, 500, nil).Accounts[0]))
	require.Zero(t, ls[0].Fallbacks()+ls[1].Fallbacks())
}
