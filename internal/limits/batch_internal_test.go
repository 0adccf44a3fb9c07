package limits

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// testLimiter is a limiter on the local Redis under a key prefix of the test's own, and its client.
func testLimiter(t *testing.T) (*Limiter, *redis.Client) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Ping(context.Background()).Err())
	prefix := "test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	return New(Config{Redis: rdb, Prefix: prefix}), rdb
}

// TestBatchResent: a batch of admissions and one of releases, each sent twice (as after a lost
// answer), count every call once: the resent admissions answer their first run's start and
// amount, and the resent releases change nothing (the charge is counted with the reservation it
// replaces, once).
func TestBatchResent(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t)
	ctx := context.Background()
	rules := []Rule{{ID: 7, Scope: ScopeUser, Model: "*", Window: time.Minute, Requests: 5, Tokens: 1000, Concurrency: 3}}
	cs := Match(rules, Who{User: 9}, "m")
	acct := Account{Key: "u9", Kind: KindBalance, Limit: 1000}
	as := make([]*admission, 3)
	for i := range as {
		h := &Hold{Amount: 100, Accounts: []Account{acct}}
		as[i] = &admission{t: &Ticket{ID: newID(), Estimate: 50, counters: cs, hold: h}, init: true}
	}
	require.NoError(t, l.rds.admitBatch(ctx, "b1", as))
	first := make([]int64, len(as))
	for i, a := range as {
		require.NoError(t, a.err)
		require.Nil(t, a.ref)
		first[i] = a.t.Start
	}
	require.NoError(t, l.rds.admitBatch(ctx, "b1", as), "the same batch again")
	for i, a := range as {
		require.NoError(t, a.err)
		require.Nil(t, a.ref, "a resent admission is not refused on the slot its first run took")
		require.Equal(t, first[i], a.t.Start)
		require.Equal(t, int64(100), a.t.hold.Amount)
	}
	u := l.Status(ctx, cs)[0]
	require.Equal(t, Usage{Requests: 3, Tokens: 150, Concurrency: 3, ClearsIn: u.ClearsIn}, u)
	require.Equal(t, int64(700), l.Available(ctx, acct))
	_, ref := l.Admit(ctx, cs, 50, &Hold{Amount: 100, Accounts: []Account{acct}})
	require.NotNil(t, ref, "three in flight")
	require.Equal(t, KindConcurrency, ref.Kind)

	q := make([]pending, len(as))
	for i, a := range as {
		q[i] = pending{t: a.t, served: true, tokens: 20, charge: 40}
	}
	require.NoError(t, l.rds.releaseBatch(ctx, q))
	require.NoError(t, l.rds.releaseBatch(ctx, q), "the same releases again")
	u = l.Status(ctx, cs)[0]
	require.Equal(t, Usage{Requests: 3, Tokens: 60, Concurrency: 0, ClearsIn: u.ClearsIn}, u)
	require.Equal(t, int64(1000-3*40), l.Available(ctx, acct))
	keys, err := rdb.Keys(ctx, l.rds.prefix+"*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		for _, a := range as {
			require.NotContains(t, k, a.t.ID, "no key per call")
		}
	}
}

// TestBatchIsolatesFailure: a call whose part of a batch fails in Redis (here its counter's state
// key holds another type) gets an error of its own; the others in the batch are admitted as usual.
func TestBatchIsolatesFailure(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t)
	ctx := context.Background()
	rules := []Rule{{ID: 3, Scope: ScopeUser, Model: "*", Window: time.Minute, Requests: 10}}
	cs := Match(rules, Who{User: 1}, "m")
	bad := &admission{t: &Ticket{ID: newID(), counters: Match(rules, Who{User: 2}, "m")}}
	good := &admission{t: &Ticket{ID: newID(), counters: cs}}
	require.NoError(t, rdb.Set(ctx, l.rds.prefix+bad.t.counters[0].Key+":m", "x", time.Minute).Err())
	require.NoError(t, l.rds.admitBatch(ctx, "b1", []*admission{bad, good}))
	require.ErrorIs(t, bad.err, errUnexpected)
	require.NoError(t, good.err)
	require.Nil(t, good.ref)
	require.Equal(t, int64(1), l.Status(ctx, cs)[0].Requests)
}

// batchCall is one call of a mixed batch: who calls, its estimate, and its reservation.
type batchCall struct {
	who      Who
	est      int64
	amount   int64
	accounts []Account // nil: no reservation
}

// TestBatchShapes: a batch mixing shapes — users, rules, keys, calls with and without a
// reservation, a reservation without counters, accounts under two shapes (different used
// quota) — answers what the in-process store answers for the same calls one after the other:
// calls refused mid-batch by a counter or a balance, a reservation cut to what is left; the
// counters and balances after it, after a release batch of the same shapes (served, unserved,
// used equal to the estimate), and after both are sent again, are the in-process store's.
func TestBatchShapes(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t)
	ctx := context.Background()
	mem := newMemStore(time.Now)
	rules := []Rule{
		{ID: 1, Scope: ScopeUser, Model: "*", Window: time.Minute, Requests: 3, Tokens: 500, Concurrency: 4},
		{ID: 2, Scope: ScopeGlobal, Model: "*", Window: time.Hour, Requests: 100},
		{ID: 3, Scope: ScopeKey, Model: "*", Window: 2 * time.Minute, Tokens: 300},
	}
	u1 := UserAccount(1, 1000, 0)
	u1b := UserAccount(1, 1000, 40) // the same balance read later: 40 charged meanwhile
	u2 := UserAccount(2, 250, 0)
	k10 := KeyAccount(10, 200, 0)
	calls := []batchCall{
		{who: Who{User: 1, Key: 10}, est: 100, amount: 60, accounts: []Account{u1, k10}},
		{who: Who{User: 2}, est: 200, amount: 100, accounts: []Account{u2}},
		{who: Who{User: 1, Key: 10}, est: 150, amount: 60, accounts: []Account{u1b, k10}},
		{who: Who{}, amount: 30, accounts: []Account{u1}}, // a reservation alone
		{who: Who{User: 2}, est: 50, amount: 100, accounts: []Account{u2}},
		{who: Who{User: 3, Key: 11}, est: 10},
		{who: Who{User: 2}, est: 10, amount: 100, accounts: []Account{u2}},               // 50 left
		{who: Who{User: 1, Key: 10}, est: 100, amount: 60, accounts: []Account{u1, k10}}, // 350 tokens on key 10
		{who: Who{User: 1, Key: 10}, est: 10, amount: 60, accounts: []Account{u1, k10}},
		{who: Who{User: 1, Key: 11}, est: 10},                              // a fourth request
		{who: Who{User: 2}, est: 10, amount: 100, accounts: []Account{u2}}, // u2's balance is used up
	}
	ticket := func(c batchCall, id string) *Ticket {
		tk := &Ticket{ID: id, Estimate: c.est, counters: Match(rules, c.who, "m")}
		if c.accounts != nil {
			tk.hold = &Hold{Amount: c.amount, Accounts: append([]Account(nil), c.accounts...)}
		}
		return tk
	}
	as := make([]*admission, len(calls))
	refs := make([]*Ticket, len(calls))
	for i, c := range calls {
		id := newID()
		as[i] = &admission{t: ticket(c, id), init: true}
		refs[i] = ticket(c, id)
	}
	require.NoError(t, l.rds.admitBatch(ctx, "b1", as))
	outcome := func(ref *Refusal, tk *Ticket) string {
		switch {
		case ref != nil:
			return ref.Kind
		case tk.hold != nil:
			return "reserved " + strconv.FormatInt(tk.hold.Amount, 10)
		}
		return "admitted"
	}
	var got, want []string
	for i, a := range as {
		require.NoError(t, a.err)
		ref, err := mem.admit(ctx, refs[i], true)
		require.NoError(t, err)
		got, want = append(got, outcome(a.ref, a.t)), append(want, outcome(ref, refs[i]))
	}
	require.Equal(t, want, got)
	require.Equal(t, []string{"reserved 60", "reserved 100", "reserved 60", "reserved 30", "reserved 100", "admitted",
		"reserved 50", KindTokens, "reserved 60", KindRequests, KindBalance}, got,
		"refused mid-batch, and a reservation cut to what is left")
	starts := make([]int64, len(as))
	for i, a := range as {
		starts[i] = a.t.Start
	}
	require.NoError(t, l.rds.admitBatch(ctx, "b1", as), "the same batch again")
	for i, a := range as {
		require.Equal(t, got[i], outcome(a.ref, a.t))
		require.Equal(t, starts[i], a.t.Start)
	}

	counters := Applying(rules, Who{User: 1, Key: 10})
	counters = append(counters, Applying(rules, Who{User: 2, Key: 11})...)
	counters = append(counters, Applying(rules, Who{User: 3})...)
	same := func(what string) {
		t.Helper()
		r, err := l.rds.status(ctx, counters)
		require.NoError(t, err)
		m, err := mem.status(ctx, counters)
		require.NoError(t, err)
		for i := range r {
			r[i].ClearsIn, m[i].ClearsIn = 0, 0
			// The counter's state hash agrees with its buckets and its calls in flight (nothing
			// has left the window yet).
			k := l.rds.prefix + counters[i].Key
			st, err := rdb.HMGet(ctx, k+":m", "n", "s", "k", "f").Result()
			require.NoError(t, err)
			if st[0] == nil {
				continue // never written: the counter took no call
			}
			buckets, err := rdb.ZCard(ctx, k+":r").Result()
			require.NoError(t, err)
			fields, err := rdb.HLen(ctx, k+":t").Result()
			require.NoError(t, err)
			require.Equal(t, 2*buckets, fields, what+": two fields per bucket")
			flight, err := rdb.ZCard(ctx, k+":c").Result()
			require.NoError(t, err)
			require.Equal(t, []any{strconv.FormatInt(r[i].Requests, 10), strconv.FormatInt(r[i].Tokens, 10),
				strconv.FormatInt(buckets, 10), strconv.FormatInt(flight, 10)}, st, what+": "+counters[i].Key)
			if counters[i].Rule.Concurrency > 0 {
				require.Equal(t, flight, r[i].Concurrency, what+": "+counters[i].Key)
			}
		}
		require.Equal(t, m, r, what)
		for _, a := range []Account{u1b, u2, k10} {
			rv, err := l.rds.available(ctx, a)
			require.NoError(t, err)
			mv, err := mem.available(ctx, a)
			require.NoError(t, err)
			require.Equal(t, mv, rv, what+": "+a.Key)
		}
	}
	same("admitted")

	var q, mq []pending
	for i, a := range as {
		if a.ref != nil {
			continue
		}
		p := pending{t: a.t, served: i%3 != 1, tokens: int64(10 * i), charge: int64(5 * i)}
		if i == 8 {
			p.tokens = a.t.Estimate // the estimate's entry stays what it was
		}
		q = append(q, p)
		p.t = refs[i]
		mq = append(mq, p)
	}
	require.NoError(t, l.rds.releaseBatch(ctx, q))
	for _, p := range mq {
		require.NoError(t, mem.release(ctx, p.t, p.served, p.tokens, p.charge))
	}
	same("released")
	require.NoError(t, l.rds.releaseBatch(ctx, q), "the same releases again")
	same("released twice")
}

// TestBatchInitAndDuplicates: in one batch, a call whose account has no ledger yet answers
// errNeedInit (init 0) while the calls before and after it are admitted; admitted again with
// init, it starts the ledger. A ticket released twice in one batch counts once.
func TestBatchInitAndDuplicates(t *testing.T) {
	t.Parallel()
	l, _ := testLimiter(t)
	ctx := context.Background()
	rules := []Rule{{ID: 1, Scope: ScopeUser, Model: "*", Window: time.Minute, Requests: 10, Tokens: 1000, Concurrency: 5}}
	old, fresh := UserAccount(1, 1000, 100), UserAccount(2, 500, 50)
	hold := func(a Account) *Hold { return &Hold{Amount: 40, Accounts: []Account{a}} }
	first := &admission{t: &Ticket{ID: newID(), counters: Match(rules, Who{User: 1}, "m"), hold: hold(old)}, init: true}
	require.NoError(t, l.rds.admitBatch(ctx, "b0", []*admission{first}))
	require.NoError(t, first.err)

	as := []*admission{
		{t: &Ticket{ID: newID(), Estimate: 30, counters: Match(rules, Who{User: 1}, "m"), hold: hold(old)}},
		{t: &Ticket{ID: newID(), Estimate: 30, counters: Match(rules, Who{User: 2}, "m"), hold: hold(fresh)}},
		{t: &Ticket{ID: newID(), Estimate: 30, counters: Match(rules, Who{User: 1}, "m"), hold: hold(old)}},
	}
	require.NoError(t, l.rds.admitBatch(ctx, "b1", as))
	require.NoError(t, as[0].err)
	require.ErrorIs(t, as[1].err, errNeedInit)
	require.NoError(t, as[2].err)
	u, err := l.rds.status(ctx, Match(rules, Who{User: 2}, "m"))
	require.NoError(t, err)
	require.Equal(t, int64(0), u[0].Requests, "a call waiting for its ledger takes nothing")
	as[1].init = true
	require.NoError(t, l.rds.admitBatch(ctx, "b2", as[1:2]))
	require.NoError(t, as[1].err)
	require.Nil(t, as[1].ref)
	v, err := l.rds.available(ctx, fresh)
	require.NoError(t, err)
	require.Equal(t, int64(500-40), v)

	dup := pending{t: as[0].t, served: true, tokens: 20, charge: 25}
	require.NoError(t, l.rds.releaseBatch(ctx, []pending{dup, {t: as[2].t, served: false}, dup}))
	u, err = l.rds.status(ctx, Match(rules, Who{User: 1}, "m"))
	require.NoError(t, err)
	require.Equal(t, Usage{Requests: 2, Tokens: 20, Concurrency: 1, ClearsIn: u[0].ClearsIn}, u[0])
	v, err = l.rds.available(ctx, old)
	require.NoError(t, err)
	require.Equal(t, int64(1000-40-25), v, "the first call's reservation held, the duplicate charged once")
}
