package limits

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
)

// Topic is the bus topic published when limit rules change (payload unused).
const Topic = "limits"

// Rules caches the limit rules in process: loaded at start and again on every instance when they
// change (Topic), so matching a call costs no database round trip.
type Rules struct {
	pool *pgxpool.Pool
	q    *db.Queries
	log  *slog.Logger
	cur  atomic.Pointer[[]Rule]
}

// NewRules makes the cache and subscribes it to changes; Load fills it.
func NewRules(pool *pgxpool.Pool, q *db.Queries, b *bus.Bus, log *slog.Logger) *Rules {
	r := &Rules{pool: pool, q: q, log: log}
	empty := []Rule{}
	r.cur.Store(&empty)
	if b != nil {
		reload := func(string) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Load(ctx); err != nil {
				r.log.Error("reload limit rules", "error", err)
			}
		}
		b.Subscribe(Topic, reload) // also called when the bus reconnects (it may have missed changes)
	}
	return r
}

// Load reads every rule from the database.
func (r *Rules) Load(ctx context.Context) error {
	rows, err := r.q.LimitRuleList(ctx, r.pool)
	if err != nil {
		return err
	}
	rules := make([]Rule, 0, len(rows))
	for _, x := range rows {
		rules = append(rules, FromRow(x))
	}
	r.cur.Store(&rules)
	return nil
}

// Get returns the rules (never modify them).
func (r *Rules) Get() []Rule {
	if r == nil {
		return nil
	}
	return *r.cur.Load()
}

// FromRow converts a stored rule.
func FromRow(x *db.LimitRule) Rule {
	return Rule{ID: x.ID, Scope: Scope(x.Scope), Subject: deref(x.SubjectID), Model: x.Model,
		Window: time.Duration(x.WindowMs) * time.Millisecond, Requests: deref(x.Requests), Tokens: deref(x.Tokens),
		Concurrency: deref(x.Concurrency), Plan: deref(x.PlanID)}
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
