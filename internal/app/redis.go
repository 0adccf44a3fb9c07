package app

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// redisClient connects to REDIS_URL: one server (`redis://host:6379/0`), a Redis Cluster (more
// nodes as `addr` parameters: `redis://node1:7000?addr=node2:7000&addr=node3:7000`), or a
// Sentinel set (`master_name`: `redis://sentinel1:26379?master_name=mymaster&addr=sentinel2:26379`).
// Each is go-redis's UniversalClient; every multi-key script the gateway runs keeps its keys under
// one hash tag (docs/limits.md), so it runs on one slot of a cluster.
func redisClient(raw string) (redis.UniversalClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse REDIS_URL: %w", redactedURLError(err))
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, fmt.Errorf("parse REDIS_URL (sentinel): %w", err)
		}
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(raw)
		if err != nil {
			return nil, fmt.Errorf("parse REDIS_URL (cluster): %w", err)
		}
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	return redis.NewClient(o), nil
}

// redactedURLError keeps a URL parse error's reason without the URL (it may hold a password).
func redactedURLError(err error) error {
	if ue, ok := err.(*url.Error); ok { //nolint:errorlint // url.Parse returns *url.Error itself
		return ue.Err
	}
	return err
}

// minRedis is the oldest Redis the gateway's scripts run on: the limits' release script calls
// ZMSCORE (Redis 6.2).
var minRedis = [2]int{6, 2}

// checkRedisVersion refuses a Redis older than minRedis at start, rather than letting every
// release script fail under load. A server that names no redis_version (some compatible
// servers) is taken at its word.
func checkRedisVersion(ctx context.Context, rdb redis.UniversalClient) error {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return fmt.Errorf("connect to redis: %w", err)
	}
	return versionError(info)
}

// versionError is checkRedisVersion's verdict on an INFO server answer.
func versionError(info string) error {
	v, ok := redisVersion(info)
	if ok && (v[0] < minRedis[0] || v[0] == minRedis[0] && v[1] < minRedis[1]) {
		return fmt.Errorf("REDIS_URL: Redis %d.%d or later is required; the server is %d.%d", minRedis[0], minRedis[1], v[0], v[1])
	}
	return nil
}

// redisVersion reads the major and minor version from INFO server's redis_version line.
func redisVersion(info string) (v [2]int, ok bool) {
	for line := range strings.Lines(info) {
		rest, found := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !found {
			continue
		}
		parts := strings.SplitN(rest, ".", 3)
		if len(parts) < 2 {
			return v, false
		}
		var err1, err2 error
		v[0], err1 = strconv.Atoi(parts[0])
		v[1], err2 = strconv.Atoi(parts[1])
		return v, err1 == nil && err2 == nil
	}
	return v, false
}
