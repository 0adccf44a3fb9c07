package settings_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/testdb"
)

func ptr[T any](v T) *T { return &v }

// newBus starts a bus on rdb (nil for none) that stops when the test ends.
func newBus(t *testing.T, rdb redis.UniversalClient, prefix string) *bus.Bus {
	t.Helper()
	b := bus.New(rdb, prefix, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { b.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	select {
	case <-b.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("bus did not start")
	}
	return b
}

func newStore(t *testing.T, pool *pgxpool.Pool, b *bus.Bus, defaults *settings.Values) *settings.Store {
	t.Helper()
	var s *settings.Store
	if defaults == nil {
		s = settings.New(pool, db.New(), b)
	} else {
		s = settings.NewWithDefaults(pool, db.New(), b, *defaults)
	}
	require.NoError(t, s.Load(context.Background()))
	return s
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	pool := testdb.New(t)
	s := settings.New(pool, db.New(), newBus(t, nil, ""))
	require.Equal(t, settings.Defaults(), *s.Get(), "usable before Load")
	require.NoError(t, s.Load(context.Background()))
	require.Equal(t, settings.Values{SiteName: "Poolgate", RegistrationEnabled: true, QuotaPerUnit: 500000, SessionTTLHours: 24,
		SharedQuotaBase: 100, SharedQuotaBonusPerAccount: map[string]int64{"*": 100}, SharedQuotaRecoveryHours: 5,
		SharedQuotaUnit: "calls", PaymentMinAmount: "1.00", PaymentOrderExpiryMinutes: 30}, *s.Get())
}

// withQuotaDefaults is v with the shared quota and payment settings of a fresh install.
func withQuotaDefaults(v settings.Values) settings.Values {
	d := settings.Defaults()
	v.SharedQuotaBase, v.SharedQuotaBonusPerAccount = d.SharedQuotaBase, d.SharedQuotaBonusPerAccount
	v.SharedQuotaRecoveryHours, v.SharedQuotaUnit = d.SharedQuotaRecoveryHours, d.SharedQuotaUnit
	v.PaymentMinAmount, v.PaymentOrderExpiryMinutes = d.PaymentMinAmount, d.PaymentOrderExpiryMinutes
	return v
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	s := newStore(t, pool, newBus(t, nil, ""), nil)

	v, err := s.Update(ctx, settings.Patch{SiteName: ptr("Team Pool"), NewUserBalance: ptr(int64(5000)), QuotaPerUnit: ptr(int64(700000))})
	require.NoError(t, err)
	want := withQuotaDefaults(settings.Values{SiteName: "Team Pool", RegistrationEnabled: true, NewUserBalance: 5000, QuotaPerUnit: 700000, SessionTTLHours: 24})
	require.Equal(t, want, *v)
	require.Equal(t, want, *s.Get())

	// Only what the patch names changes; false and zero are values, not absences.
	v, err = s.Update(ctx, settings.Patch{RegistrationEnabled: ptr(false), NewUserBalance: ptr(int64(0)), AllowUnpricedModels: ptr(true)})
	require.NoError(t, err)
	want = withQuotaDefaults(settings.Values{SiteName: "Team Pool", RegistrationEnabled: false, AllowUnpricedModels: true, QuotaPerUnit: 700000, SessionTTLHours: 24})
	require.Equal(t, want, *v)

	v, err = s.Update(ctx, settings.Patch{})
	require.NoError(t, err)
	require.Equal(t, want, *v, "an empty patch changes nothing")

	// The identity settings.
	v, err = s.Update(ctx, settings.Patch{EmailVerificationRequired: ptr(true), OIDCOnly: ptr(true), SessionTTLHours: ptr(2),
		RegistrationMinTrustLevel: ptr(3)})
	require.NoError(t, err)
	want.EmailVerificationRequired, want.OIDCOnly, want.SessionTTLHours, want.RegistrationMinTrustLevel = true, true, 2, 3
	require.Equal(t, want, *v)

	// A store started later reads what was stored.
	require.Equal(t, want, *newStore(t, pool, newBus(t, nil, ""), nil).Get())

	// Values handed out earlier are not changed under their holders.
	before := s.Get()
	_, err = s.Update(ctx, settings.Patch{SiteName: ptr("Renamed")})
	require.NoError(t, err)
	require.Equal(t, "Team Pool", before.SiteName)
	require.Equal(t, "Renamed", s.Get().SiteName)
}

func TestStoredWinsOverDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.New(t)
	base := settings.Defaults()
	base.SiteName = "From Env"
	base.NotifyURL = "https://hooks.example/notify"
	s := newStore(t, pool, newBus(t, nil, ""), &base)
	require.Equal(t, base, *s.Get(), "unset keys take the given defaults")

	_, err := s.Update(ctx, settings.Patch{NotifyURL: ptr("")})
	require.NoError(t, err)
	require.Empty(t, s.Get().NotifyURL, "a stored empty value turns a default off")
	require.Equal(t, "From Env", s.Get().SiteName)
}

func redisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// TestSharedInstances runs two stores on one database with a Redis bus: an update through one is
// seen by the other without a restart.
func TestSharedInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opt, err := redis.ParseURL(redisURL())
	require.NoError(t, err)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "pgtest:settings:" + hex.EncodeToString(b) + ":"
	pool := testdb.New(t)
	clients := make([]*redis.Client, 2)
	stores := make([]*settings.Store, 2)
	for i := range clients {
		clients[i] = redis.NewClient(opt)
		t.Cleanup(func() { _ = clients[i].Close() })
		stores[i] = newStore(t, pool, newBus(t, clients[i], prefix), nil)
	}
	_, err = stores[0].Update(ctx, settings.Patch{SiteName: ptr("Shared"), RegistrationEnabled: ptr(false)})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v := stores[1].Get()
		return v.SiteName == "Shared" && !v.RegistrationEnabled
	}, 2*time.Second, 10*time.Millisecond)

	_, err = stores[1].Update(ctx, settings.Patch{SiteName: ptr("Back")})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return stores[0].Get().SiteName == "Back" }, 2*time.Second, 10*time.Millisecond)
}

// TestSharedQuotaBonusReplaced: a stored bonus map replaces the default one whole (never merged
// into it, and the defaults stay as they were).
func TestSharedQuotaBonusReplaced(t *testing.T) {
	t.Parallel()
	pool := testdb.New(t)
	s := newStore(t, pool, newBus(t, nil, ""), nil)
	v, err := s.Update(context.Background(), settings.Patch{SharedQuotaBonusPerAccount: map[string]int64{"gemini": 5}})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"gemini": 5}, v.SharedQuotaBonusPerAccount)
	require.Equal(t, map[string]int64{"*": 100}, settings.Defaults().SharedQuotaBonusPerAccount)
}
