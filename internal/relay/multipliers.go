package relay

import (
	"context"
	"fmt"

	"github.com/poolgate/poolgate/internal/billing"
)

// multipliers are the channel × group, channel-model × group and user × channel price
// multipliers (thousandths) of the routing snapshot; a missing entry is ×1.
type multipliers struct {
	channelGroup map[[2]int64]int64 // (channel, group)
	modelGroup   map[modelGroupKey]int64
	userChannel  map[[2]int64]int64 // (user, channel)
}

type modelGroupKey struct {
	channel int64
	model   string
	group   int64
}

func lookup[K comparable](m map[K]int64, k K) int64 {
	if v, ok := m[k]; ok {
		return v
	}
	return 1000
}

// charge is what a call costing cost is charged: cost × the user's group multiplier × the
// channel × group, channel-model × group and user × channel multipliers of the channel that
// served it, taken exactly and rounded up once (billing.MultiplyAll).
func (m *multipliers) charge(cost int64, u *userState, channel int64, model string) int64 {
	p := u.p()
	if m == nil {
		return billing.Multiply(cost, p.multiplier)
	}
	return billing.MultiplyAll(cost, p.multiplier,
		lookup(m.channelGroup, [2]int64{channel, p.group}),
		lookup(m.modelGroup, modelGroupKey{channel, model, p.group}),
		lookup(m.userChannel, [2]int64{u.id, channel}))
}

// loadMultipliers reads every multiplier for a snapshot.
func (t *routeTable) loadMultipliers(ctx context.Context) (*multipliers, error) {
	rows, err := t.q.MultiplierSnapshot(ctx, t.pool)
	if err != nil {
		return nil, fmt.Errorf("load multipliers: %w", err)
	}
	m := &multipliers{channelGroup: map[[2]int64]int64{}, modelGroup: map[modelGroupKey]int64{},
		userChannel: map[[2]int64]int64{}}
	for _, r := range rows {
		p := int64(r.MultiplierPermille)
		switch r.Kind {
		case "channel":
			m.channelGroup[[2]int64{r.ChannelID, r.SubjectID}] = p
		case "channel_model":
			m.modelGroup[modelGroupKey{r.ChannelID, r.Model, r.SubjectID}] = p
		case "user":
			m.userChannel[[2]int64{r.SubjectID, r.ChannelID}] = p
		}
	}
	return m, nil
}
