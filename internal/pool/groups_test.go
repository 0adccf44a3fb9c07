package pool_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/pool"
)

func ids(pl pool.Plan) []int64 {
	out := make([]int64, 0, len(pl.Accounts))
	for _, a := range pl.Accounts {
		out = append(out, a.ID)
	}
	return out
}

func TestPlanGroupsAndKeys(t *testing.T) {
	t.Parallel()
	p := pool.New(pool.Deps{})
	m := []string{"m"}
	s := p.Build([]pool.Spec{
		{ID: 1, ChannelID: 1, Models: m, Priority: 0, Weight: 1, ChannelWeight: 1, Tier: pool.TierFree},
		{ID: 2, ChannelID: 2, Models: m, Priority: 5, Weight: 1, ChannelWeight: 1, Tier: pool.TierFree, Groups: []int64{7}},
		{ID: 3, ChannelID: 1, Models: m, Weight: 1, ChannelWeight: 1, Tier: pool.TierFree, Owner: 10, Key: 99},
		{ID: 4, ChannelID: 1, Models: m, Weight: 1, ChannelWeight: 1, Tier: pool.TierFree, Owner: 10},
	})
	// No group: the restricted channel is never offered, even preferred.
	require.Equal(t, []int64{1}, ids(p.Plan(s, pool.Request{Model: "m", User: 1, Tier: pool.TierFree, Prefer: 2}, 5)))
	// Another group: same.
	require.Equal(t, []int64{1}, ids(p.Plan(s, pool.Request{Model: "m", User: 1, Group: 8, Tier: pool.TierFree}, 5)))
	// The group's users: restricted channel first (higher priority), then the open one.
	require.Equal(t, []int64{2, 1}, ids(p.Plan(s, pool.Request{Model: "m", User: 1, Group: 7, Tier: pool.TierFree}, 5)))
	// The bound key: its account, then the owner's dedicated one, then shared.
	require.Equal(t, []int64{3, 4, 1}, ids(p.Plan(s, pool.Request{Model: "m", User: 10, Key: 99, Tier: pool.TierFree}, 5)))
	// The owner's other key never rides the key-bound account, even preferred.
	require.Equal(t, []int64{4, 1}, ids(p.Plan(s, pool.Request{Model: "m", User: 10, Key: 98, Tier: pool.TierFree, Prefer: 3}, 5)))
}
