package limits

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// The kinds of refusal a reservation can meet: the user's balance or the key's quota does not
// cover the call's estimate.
const (
	KindBalance  = "balance"
	KindKeyQuota = "key_quota"
)

// Account is one balance a call reserves against: a user's (Key "u<id>", Limit the user's grants
// = balance + used quota as read together from the database) or an API key's quota (Key
// "k<id>", Limit the key's quota limit). Used is the used quota as last read from the database:
// what was charged and written. The ledger's charged total is never below it, so charges that
// reached the database without passing the ledger (an outage, a replayed journal) count as
// soon as an instance rereads them.
type Account struct {
	Key   string
	Kind  string // KindBalance or KindKeyQuota: the refusal's kind when it does not cover a call
	Limit int64
	Used  int64
}

// Hold is the quota a call reserves before its upstream call, against every account (the user's,
// then the key's when it has a quota): all or none, atomically with the limit counters. A call
// starts while every account's balance is above 0; it reserves Amount, or what is left when that
// is less (Admit sets Amount to what was reserved): at most one call in flight can go past a
// balance, by its cost beyond what was left.
type Hold struct {
	Amount   int64
	Accounts []Account
	// Fresh rereads the accounts from the database (same order). The ledger calls it only when
	// it holds nothing for an account yet (first call, expired, or Redis was flushed), so that
	// it starts from the durable truth and not from an instance's cache.
	Fresh func(ctx context.Context) ([]Account, error)
}

// UserAccount is a user's balance as a ledger account, from the database's balance and used
// quota read together.
func UserAccount(id, balance, used int64) Account {
	return Account{Key: "u" + strconv.FormatInt(id, 10), Kind: KindBalance, Limit: balance + used, Used: used}
}

// KeyAccount is an API key's quota as a ledger account.
func KeyAccount(id, quota, used int64) Account {
	return Account{Key: "k" + strconv.FormatInt(id, 10), Kind: KindKeyQuota, Limit: quota, Used: used}
}

// available is an account's balance after its charges and reservations.
func available(a *Account, charged, held int64) int64 { return a.Limit - max(charged, a.Used) - held }

// memLedger is an account's ledger in process: charges settled through it (never below the
// database's used quota) and the reservations of calls in flight.
type memLedger struct {
	charged int64
	holds   map[string]int64 // the reservations of calls in flight, by ticket
	held    int64            // holds summed
}

// hold reserves amount for ticket id.
func (e *memLedger) hold(id string, amount int64) {
	e.held += amount - e.holds[id]
	e.holds[id] = amount
}

// drop ends ticket id's reservation.
func (e *memLedger) drop(id string) {
	if n, ok := e.holds[id]; ok {
		e.held -= n
		delete(e.holds, id)
	}
}

// memLedgers keeps the accounts' ledgers in process (exact for one instance); the memStore's
// mutex guards them, so a reservation and the limit counters change together.
type memLedgers struct {
	m map[string]*memLedger
}

func (l *memLedgers) ledger(a *Account) *memLedger {
	e := l.m[a.Key]
	if e == nil {
		e = &memLedger{charged: a.Used, holds: map[string]int64{}}
		l.m[a.Key] = e
	}
	e.charged = max(e.charged, a.Used)
	return e
}

// settleLocked drops the hold and charges what the call cost; the caller holds mu.
func (l *memLedgers) settleLocked(id string, h *Hold, charge int64) {
	for i := range h.Accounts {
		e := l.ledger(&h.Accounts[i])
		e.drop(id)
		e.charged += max(charge, 0)
	}
}

func (l *memLedgers) availableLocked(a Account) int64 {
	e := l.m[a.Key]
	if e == nil {
		return a.Limit - a.Used
	}
	return available(&a, e.charged, e.held)
}

// ledgerLease is how long a reservation holds in Redis without renewal: a call cut by a crash
// gives its reservation back at most this long after (live calls are renewed every third of it).
const ledgerLease = 60 * time.Second

// ledgerTTL is how long an account's ledger stays in Redis after its last use; a missing ledger
// starts again from the database.
const ledgerTTL = 24 * time.Hour

// Available is an account's live balance: the database's view less the charges not yet written
// and the reservations of calls in flight, on any instance (Redis) or this one (in process).
func (l *Limiter) Available(ctx context.Context, a Account) int64 {
	if l.rds != nil {
		l.waitReleases(ctx)
		if v, err := l.rds.available(ctx, a); err == nil {
			return v
		}
	}
	v, _ := l.mem.available(ctx, a)
	return v
}

// track keeps a ticket holding a Redis reservation for renewal until it is released.
func (l *Limiter) track(t *Ticket, on bool) {
	l.liveMu.Lock()
	defer l.liveMu.Unlock()
	if on {
		l.live[t.ID] = t
	} else {
		delete(l.live, t.ID)
	}
}

// Run renews the Redis reservations of this instance's calls in flight every third of their
// lease (one script call for all of them), until ctx ends. A call cut by a crash is renewed by
// nobody: its reservation expires within the lease.
func (l *Limiter) Run(ctx context.Context) {
	if l.rds == nil {
		return
	}
	tk := time.NewTicker(l.holdLease / 3)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		l.liveMu.Lock()
		ts := make([]*Ticket, 0, len(l.live))
		for _, t := range l.live {
			ts = append(ts, t)
		}
		l.liveMu.Unlock()
		if len(ts) == 0 {
			continue
		}
		if err := l.rds.renew(ctx, ts); err != nil {
			l.log.Warn("limits: renewing reservations failed; retried next period", "error", err)
		}
	}
}

// holdMember is a reservation's member in an account's sorted set: "<ticket id>:<amount>".
func holdMember(id string, amount int64) string {
	var b strings.Builder
	b.WriteString(id)
	b.WriteByte(':')
	b.WriteString(strconv.FormatInt(amount, 10))
	return b.String()
}
