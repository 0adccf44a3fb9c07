package pool

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/store"
)

// The channels' model catalogue: each channel's upstream model list is fetched and kept beside
// the models it serves (SyncChannels); what applying it would change is shown (SyncPreview) and
// applied on request (ApplySync).

// SyncResult is one channel's fetch of its upstream model list.
type SyncResult struct {
	ChannelID int64
	Ok        bool
	Models    int    // how many models the upstream lists
	Error     string // why the fetch failed ("" when Ok)
}

// SyncChannels fetches the upstream model list of each channel chosen by sel and stores it (or
// the failure) on the channel.
func (p *Pool) SyncChannels(ctx context.Context, sel func(channelID int64) bool) ([]SyncResult, error) {
	chans, err := p.d.Queries.ChannelList(ctx, p.d.DB)
	if err != nil {
		return nil, err
	}
	out := []SyncResult{}
	for _, c := range chans {
		if !sel(c.ID) {
			continue
		}
		r := SyncResult{ChannelID: c.ID}
		models, ferr := p.ChannelModels(ctx, c.ID)
		if ferr != nil {
			r.Error = ferr.Error()
		} else {
			r.Ok, r.Models = true, len(models)
		}
		if models == nil {
			models = []string{}
		}
		if err := p.d.Queries.ChannelSetSynced(ctx, p.d.DB, db.ChannelSetSyncedParams{ID: c.ID, Ok: r.Ok,
			UpstreamModels: models, At: p.now(), SyncError: r.Error}); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ChannelModels lists the models a channel's upstream serves, asked with one of its active
// accounts (ErrNoAccount when it has none).
func (p *Pool) ChannelModels(ctx context.Context, channelID int64) ([]string, error) {
	t, err := p.d.Queries.ChannelProbeTarget(ctx, p.d.DB, channelID)
	if err != nil {
		if store.IsNotFound(err) {
			return nil, ErrNoAccount
		}
		return nil, err
	}
	cred, err := p.d.Box.Open(t.CredentialEnc)
	if err != nil {
		return nil, errors.New("the account's credential cannot be decrypted")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return p.FetchModels(ctx, t.Type, t.BaseURL, cred, t.ProxyURL)
}

// ModelDiff is what applying a synced channel's upstream list would change.
type ModelDiff struct {
	ChannelID   int64
	ChannelName string
	SyncedAt    time.Time
	Add, Remove []string // listed upstream but not served; served but not listed
}

// SyncPreview shows, per synced channel chosen by sel, what applying its upstream list would
// change.
func (p *Pool) SyncPreview(ctx context.Context, sel func(channelID int64) bool) ([]ModelDiff, error) {
	chans, err := p.d.Queries.ChannelList(ctx, p.d.DB)
	if err != nil {
		return nil, err
	}
	out := []ModelDiff{}
	for _, c := range chans {
		if c.ModelsSyncedAt == nil || !sel(c.ID) {
			continue
		}
		add, remove := modelDiff(c.Models, c.UpstreamModels)
		out = append(out, ModelDiff{ChannelID: c.ID, ChannelName: c.Name, SyncedAt: *c.ModelsSyncedAt, Add: add, Remove: remove})
	}
	return out, nil
}

// modelDiff is what the upstream lists that the channel does not serve, and the reverse.
func modelDiff(served, upstream []string) (add, remove []string) {
	add, remove = []string{}, []string{}
	for _, m := range upstream {
		if !slices.Contains(served, m) {
			add = append(add, m)
		}
	}
	for _, m := range served {
		if !slices.Contains(upstream, m) {
			remove = append(remove, m)
		}
	}
	return add, remove
}

// Applied is a channel's model list after ApplySync.
type Applied struct {
	ChannelID int64
	Models    []string
}

// ApplySync adds the upstream's models to the synced channels chosen by sel (with remove, also
// drops the models the upstream no longer lists) in one transaction, then reroutes every
// instance.
func (p *Pool) ApplySync(ctx context.Context, sel func(channelID int64) bool, remove bool) ([]Applied, error) {
	chans, err := p.d.Queries.ChannelList(ctx, p.d.DB)
	if err != nil {
		return nil, err
	}
	out := []Applied{}
	err = store.WithTx(ctx, p.d.DB, func(tx pgx.Tx) error {
		for _, c := range chans {
			if c.ModelsSyncedAt == nil || !sel(c.ID) {
				continue
			}
			models := slices.Clone(c.UpstreamModels)
			if !remove {
				for _, m := range c.Models {
					if !slices.Contains(models, m) {
						models = append(models, m)
					}
				}
			}
			slices.Sort(models)
			if models == nil {
				models = []string{}
			}
			if err := p.d.Queries.ChannelSetModels(ctx, tx, db.ChannelSetModelsParams{ID: c.ID, Models: models}); err != nil {
				return err
			}
			out = append(out, Applied{ChannelID: c.ID, Models: models})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.d.Bus.Publish(ctx, bus.TopicRoutes, "")
	return out, nil
}
