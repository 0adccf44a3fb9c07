package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/store"
)

// PostedList is a channel's upstream model list as a client (the administrator's browser)
// fetched it, for an upstream the server cannot reach itself.
type PostedList struct {
	ChannelID int64
	Body      []byte // the upstream's answer to GET {base_url}/models
}

// ErrUnknownChannel is returned by StorePosted for a channel that does not exist.
var ErrUnknownChannel = errors.New("no such channel")

// ErrNoModels is returned by StorePosted for a posted list that names no model.
var ErrNoModels = errors.New("no model in it (expected data[].id or models[].name)")

// ModelIDs reads the model ids of an upstream model list in any protocol's shape: OpenAI's and
// Claude's `data[].id`, Gemini's `models[].name` (without its "models/" prefix); sorted, unique.
func ModelIDs(body []byte) []string {
	var out []string
	for _, m := range gjson.GetBytes(body, "data.#.id").Array() {
		if m.Str != "" {
			out = append(out, m.Str)
		}
	}
	for _, m := range gjson.GetBytes(body, "models.#.name").Array() {
		if id := strings.TrimPrefix(m.Str, "models/"); id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// StorePosted stores each posted list as its channel's synced upstream list, all or none, and
// returns what applying them would change (SyncPreview of those channels).
func (p *Pool) StorePosted(ctx context.Context, lists []PostedList) ([]ModelDiff, error) {
	chans, err := p.d.Queries.ChannelList(ctx, p.d.DB)
	if err != nil {
		return nil, err
	}
	known := make(map[int64]bool, len(chans))
	for _, c := range chans {
		known[c.ID] = true
	}
	posted := make(map[int64]bool, len(lists))
	models := make([][]string, len(lists))
	for i, l := range lists {
		if !known[l.ChannelID] {
			return nil, fmt.Errorf("channel %d: %w", l.ChannelID, ErrUnknownChannel)
		}
		if models[i] = ModelIDs(l.Body); len(models[i]) == 0 {
			return nil, fmt.Errorf("model list of channel %d: %w", l.ChannelID, ErrNoModels)
		}
		posted[l.ChannelID] = true
	}
	at := p.now()
	err = store.WithTx(ctx, p.d.DB, func(tx pgx.Tx) error {
		for i, l := range lists {
			if err := p.d.Queries.ChannelSetSynced(ctx, tx, db.ChannelSetSyncedParams{ID: l.ChannelID, Ok: true,
				UpstreamModels: models[i], At: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p.SyncPreview(ctx, func(id int64) bool { return posted[id] })
}
