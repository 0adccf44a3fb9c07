// Package bus carries cache invalidations between Poolgate instances: a message published on one
// instance reaches the subscribers of every instance (through Redis pub/sub when configured) and
// is delivered locally at once.
package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Topics published by Poolgate.
const (
	TopicSettings = "settings" // payload unused
	TopicRoutes   = "routes"   // channels, accounts or models changed
	TopicKey      = "key"      // payload: api key id
	TopicUser     = "user"     // payload: user id
	TopicShare    = "share"    // payload: share link id
	TopicSession  = "session"  // payload: ended session id
)

// Bus is a tiny topic-based broadcaster.
type Bus struct {
	rdb      redis.UniversalClient
	channel  string
	instance string
	log      *slog.Logger

	mu       sync.RWMutex
	handlers map[string][]func(payload string)
	ready    chan struct{}
}

// New makes a bus; rdb may be nil for a single instance.
func New(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Bus {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Bus{rdb: rdb, channel: prefix + "invalidate", instance: hex.EncodeToString(b), log: log,
		handlers: map[string][]func(string){}, ready: make(chan struct{})}
}

// Subscribe registers fn for a topic. Handlers must be quick and must not publish.
func (b *Bus) Subscribe(topic string, fn func(payload string)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[topic] = append(b.handlers[topic], fn)
}

// Publish delivers the message locally, then to other instances.
func (b *Bus) Publish(ctx context.Context, topic, payload string) {
	b.deliver(topic, payload)
	if b.rdb == nil {
		return
	}
	msg := b.instance + "\x00" + topic + "\x00" + payload
	if err := b.rdb.Publish(context.WithoutCancel(ctx), b.channel, msg).Err(); err != nil {
		b.log.Warn("publish invalidation", "topic", topic, "error", err)
	}
}

func (b *Bus) deliver(topic, payload string) {
	b.mu.RLock()
	hs := b.handlers[topic]
	b.mu.RUnlock()
	for _, h := range hs {
		h(payload)
	}
}

// Run listens for other instances' messages until ctx ends; without Redis it returns at once.
// When the subscription drops, every topic is delivered with an empty payload (flush everything),
// since messages may have been missed.
func (b *Bus) Run(ctx context.Context) {
	if b.rdb == nil {
		close(b.ready)
		return
	}
	first := true
	for ctx.Err() == nil {
		sub := b.rdb.Subscribe(ctx, b.channel)
		if _, err := sub.Receive(ctx); err != nil {
			_ = sub.Close()
			if ctx.Err() == nil {
				b.log.Warn("subscribe to invalidations", "error", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if first {
			close(b.ready)
			first = false
		} else {
			b.flushAll()
		}
		ch := sub.Channel()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case m, ok := <-ch:
				if !ok {
					break loop
				}
				parts := strings.SplitN(m.Payload, "\x00", 3)
				if len(parts) != 3 || parts[0] == b.instance {
					continue
				}
				b.deliver(parts[1], parts[2])
			}
		}
		_ = sub.Close()
	}
}

// Ready is closed once the bus listens (at once without Redis).
func (b *Bus) Ready() <-chan struct{} { return b.ready }

func (b *Bus) flushAll() {
	b.mu.RLock()
	topics := make([]string, 0, len(b.handlers))
	for t := range b.handlers {
		topics = append(topics, t)
	}
	b.mu.RUnlock()
	for _, t := range topics {
		b.deliver(t, "")
	}
}
