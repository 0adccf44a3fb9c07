// Package remote imports upstream accounts from remote account sources and direct injections
// (seed 003): it normalises the three payload shapes, merges or replaces accounts keyed by their
// token, fetches sources over a guarded HTTP client, records every import as a job, and runs
// scheduled syncs on one instance at a time.
//
// Imported accounts join an OpenAI-type channel: the one a source or an injection names
// (channel_id), else the channel named "remote-<provider>" ("remote-gpt", "remote-grok"), which
// is created, disabled and without a base URL, when it does not exist yet: an import never fails
// for want of a channel, and the accounts are routed once an administrator gives the channel its
// upstream.
package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/secretbox"
)

// Messages of the seed's errors, exactly.
const (
	MsgSourceNotFound     = "source not found"
	MsgSourceDisabled     = "source is disabled"
	MsgSyncFailed         = "remote account sync failed"
	MsgURLRequired        = "url is required"
	MsgPayloadRequired    = "payload, accounts, or tokens is required"
	MsgReplaceNeedsSource = "replace requires source_id"
	MsgReplaceNeedsData   = "replace requires a non-empty account payload"
)

// Stable error codes beside the seed's messages.
const (
	CodeSourceDisabled = "source_disabled"
	CodeSyncFailed     = "remote_sync_failed"
	// CodeChannelMissing: the channel an import names, or a provider's default channel, is not
	// OpenAI-type.
	CodeChannelMissing = "remote_channel_missing"
)

// Triggers of an import job.
const (
	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
	TriggerInject   = "inject"
)

// DefaultChannelPrefix names the default channel of a provider: "remote-gpt", "remote-grok".
const DefaultChannelPrefix = "remote-"

// openaiChannel is the channel type remote accounts join.
const openaiChannel = "openai"

// Defaults of Config.
const (
	defaultFetchTimeout = 60 * time.Second
	defaultMaxPayload   = 64 << 20
	defaultTick         = 5 * time.Second
)

// Config holds a Service's dependencies and limits.
type Config struct {
	Pool    *pgxpool.Pool
	Queries *db.Queries
	Box     *secretbox.Box
	Guard   *netguard.Guard
	Log     *slog.Logger
	// Secret signs every fetch (X-Poolgate-Signature, internal/hooksig) like every other request
	// Poolgate sends to a third party (HOOK_SECRET); nil sends none.
	Secret []byte
	// Changed runs after an import changed accounts (the app publishes a routing invalidation).
	Changed func(ctx context.Context)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// FetchTimeout bounds one source fetch, body included (default 60 s).
	FetchTimeout time.Duration
	// MaxPayload bounds a fetched payload in bytes (default 64 MiB).
	MaxPayload int64
	// Tick is how often Run looks for due scheduled syncs (default 5 s).
	Tick time.Duration
}

// Service imports remote accounts. It is safe for concurrent use.
type Service struct {
	cfg    Config
	client *http.Client
}

// New makes a Service; Guard, Pool, Queries and Box are required.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = defaultFetchTimeout
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = defaultMaxPayload
	}
	if cfg.Tick <= 0 {
		cfg.Tick = defaultTick
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Changed == nil {
		cfg.Changed = func(context.Context) {}
	}
	return &Service{cfg: cfg, client: &http.Client{Transport: cfg.Guard.Transport(), Timeout: cfg.FetchTimeout,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		}}}
}

// Close releases idle connections to sources.
func (s *Service) Close() { s.client.CloseIdleConnections() }

// now is the clock, in UTC to the microsecond (what PostgreSQL keeps).
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// NewSourceID makes a source id: 12 hex digits.
func NewSourceID() string { return randomHex(6) }

// newJobID makes a job id: 32 hex digits.
func newJobID() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CheckURL validates a source URL when it is saved: an absolute http or https URL whose host is
// allowed. A host that does not resolve yet is accepted; every sync checks it again.
func (s *Service) CheckURL(ctx context.Context, rawURL string) error {
	err := s.cfg.Guard.Check(ctx, rawURL)
	switch {
	case err == nil, errors.Is(err, netguard.ErrResolve):
		return nil
	case errors.Is(err, netguard.ErrURL):
		return fault.New(fault.Invalid, "url must be an absolute http or https URL")
	case errors.Is(err, netguard.ErrBlocked):
		return fault.Code(fault.Invalid, "address_not_allowed",
			"url must not resolve to a loopback, private or link-local address (see ALLOW_PRIVATE_OUTBOUND)")
	default:
		return fmt.Errorf("check url: %w", err)
	}
}

// CheckChannel verifies that a channel named by id exists and is OpenAI-type.
func (s *Service) CheckChannel(ctx context.Context, id int64) error {
	_, err := s.channel(ctx, s.cfg.Pool, &id, "")
	return err
}

// channel finds the channel accounts of a provider join: id when given, else the provider's
// default channel by name.
func (s *Service) channel(ctx context.Context, tx db.DBTX, id *int64, provider string) (int64, error) {
	if id != nil {
		c, err := s.cfg.Queries.RemoteChannelGet(ctx, tx, *id)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fault.New(fault.NotFound, "channel not found")
		}
		if err != nil {
			return 0, fmt.Errorf("read channel %d: %w", *id, err)
		}
		if c.Type != openaiChannel {
			return 0, fault.Code(fault.Unprocessable, CodeChannelMissing,
				fmt.Sprintf("channel %d has type %s; remote accounts join openai channels", c.ID, c.Type))
		}
		return c.ID, nil
	}
	name := DefaultChannelPrefix + provider
	c, err := s.cfg.Queries.RemoteChannelGetByName(ctx, tx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return s.createChannel(ctx, tx, name)
	}
	if err != nil {
		return 0, fmt.Errorf("read channel %s: %w", name, err)
	}
	if c.Type != openaiChannel {
		return 0, fault.Code(fault.Unprocessable, CodeChannelMissing,
			fmt.Sprintf("channel %q has type %s; remote accounts join openai channels", name, c.Type))
	}
	return c.ID, nil
}

// createChannel makes a provider's default channel (see RemoteChannelCreate): Poolgate knows no
// upstream base URL for web-account tokens, so the channel stays disabled until an administrator
// sets one. A channel created meanwhile by another import is used instead.
func (s *Service) createChannel(ctx context.Context, tx db.DBTX, name string) (int64, error) {
	c, err := s.cfg.Queries.RemoteChannelCreate(ctx, tx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return s.channel(ctx, tx, nil, strings.TrimPrefix(name, DefaultChannelPrefix))
	}
	if err != nil {
		return 0, fmt.Errorf("create channel %s: %w", name, err)
	}
	s.cfg.Log.InfoContext(ctx, "created the default channel of imported accounts; set its base_url and models to route them",
		"channel", name, "channel_id", c.ID)
	return c.ID, nil
}
