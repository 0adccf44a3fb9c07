package relay

import (
	"context"
	"time"

	"github.com/poolgate/poolgate/internal/fault"
)

// ModelList is the models a caller may use: those served by an active channel with an account
// and priced (or all served ones when unpriced models are allowed), sorted; Listed is when the
// routing snapshot they come from was read.
type ModelList struct {
	IDs    []string
	Listed time.Time
}

// Models lists the models a caller may use.
func (rl *Relay) Models(ctx context.Context) (ModelList, error) {
	snap, err := rl.routes.get(ctx)
	if err != nil {
		return ModelList{}, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	allowUnpriced := rl.d.Settings.Get().AllowUnpricedModels
	ids := make([]string, 0, len(snap.models))
	for _, m := range snap.models {
		if _, ok := snap.prices[m]; ok || allowUnpriced {
			ids = append(ids, m)
		}
	}
	return ModelList{IDs: ids, Listed: snap.built}, nil
}
