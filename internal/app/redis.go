package app

import (
	"fmt"
	"net/url"

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
