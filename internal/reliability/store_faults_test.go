package reliability_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// answer is one gateway call made under load.
type answer struct {
	caller    caller
	stream    bool
	status    int
	requestID string
	body      []byte
}

// load calls the gateway from workers goroutines, cycling through the protocols, streamed and
// not, until stop is called; answered counts the calls answered so far.
type load struct {
	mu       sync.Mutex
	answers  []answer
	answered atomic.Int64
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func startLoad(t *testing.T, f *faultEnv, workers int) *load {
	t.Helper()
	return startLoadOn(t, f.env.URL, f.user.Key, workers)
}

// startLoadOn is startLoad against the gateway at base, with key.
func startLoadOn(t *testing.T, base, key string, workers int) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	t.Cleanup(func() { l.stop() }) // a failed assertion still ends the load before the servers close
	client := &http.Client{Timeout: time.Minute}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				c, stream := callers[i%len(callers)], i%2 == 1
				res, err := client.Do(c.request(base, key, stream))
				if err != nil {
					l.add(answer{caller: c, stream: stream, status: -1, body: []byte(err.Error())})
					select { // a refused connection answers at once: do not spin
					case <-ctx.Done():
					case <-time.After(10 * time.Millisecond):
					}
					continue
				}
				body, err := readBody(res)
				if err != nil {
					body = append(body, "\nread error: "+err.Error()...)
				}
				l.add(answer{caller: c, stream: stream, status: res.StatusCode, requestID: res.Header.Get("X-Request-Id"), body: body})
			}
		}()
	}
	return l
}

func (l *load) add(a answer) {
	l.mu.Lock()
	l.answers = append(l.answers, a)
	l.mu.Unlock()
	l.answered.Add(1)
}

// waitFor waits until n more calls have been answered.
func (l *load) waitFor(t *testing.T, n int64) {
	t.Helper()
	target := l.answered.Load() + n
	require.Eventually(t, func() bool { return l.answered.Load() >= target }, 2*time.Minute, 5*time.Millisecond)
}

// stop ends the load and returns every answer.
func (l *load) stop() []answer {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answers
}

// TestPostgresOutage stops a throwaway PostgreSQL under load and starts it again. While it is
// down, a call that needs it (a key never seen before, an admin read) answers 503 in its
// protocol's shape with a clear message, and calls served from the in-process caches go on; once
// it is back, Poolgate recovers without a restart, every answered call has its usage row, and the
// balance is exactly the grant minus the charges of those rows (nothing half-written).
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	pg := testsvc.NewPostgres(t)
	f := newFaultEnv(t, apptest.WithDatabase(pg.URL), apptest.WithoutRedis())
	late := f.env.NewUser("late-user", 1_000_000) // its key is first used while the database is down
	granted := f.env.Balance(f.user.ID)
	ctx := context.Background()

	l := startLoad(t, f, 3)
	l.waitFor(t, 12)
	pg.Stop()
	outageStart := l.answered.Load()
	l.waitFor(t, 12)

	for _, c := range callers {
		res, err := f.env.RawHTTP.Do(c.request(f.env.URL, late.Key, false))
		require.NoError(t, err)
		body := readAll(t, res)
		require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "%s: %s", c.name, body)
		require.NotEmpty(t, c.errorMessage(body), "%s: the 503 is in the protocol's shape: %s", c.name, body)
	}
	res, err := f.env.RawHTTP.Do(mustRequest(t, http.MethodGet, f.env.URL+"/api/users/"+itoa(f.user.ID), f.env.AdminToken))
	require.NoError(t, err)
	body := readAll(t, res)
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "an admin read while the database is down: %s", body)
	require.NotEmpty(t, gjson.GetBytes(body, "detail.error").String(), "%s", body)
	require.Equal(t, "unavailable", gjson.GetBytes(body, "detail.code").String(), "%s", body)

	pg.Start()
	outageEnd := l.answered.Load()
	require.Eventually(t, func() bool {
		r, err := f.env.Admin().UserGetWithResponse(ctx, f.user.ID)
		return err == nil && r.StatusCode() == http.StatusOK
	}, 2*time.Minute, 20*time.Millisecond, "Poolgate serves again once the database is back, without a restart")
	res, err = f.env.RawHTTP.Do(callers[0].request(f.env.URL, late.Key, false))
	require.NoError(t, err)
	body = readAll(t, res)
	require.Equal(t, http.StatusOK, res.StatusCode, "the key refused during the outage works now: %s", body)
	l.waitFor(t, 12)
	answers := l.stop()

	rows := f.usage(t)
	var ok int
	for _, a := range answers {
		switch a.status {
		case http.StatusOK:
			ok++
			require.Equal(t, http.StatusOK, rows[a.requestID].status, "%s call %s answered 200 has its usage row", a.caller.name, a.requestID)
			if a.stream {
				require.False(t, a.caller.streamError(a.body), "%s: %s", a.caller.name, a.body)
			}
		case http.StatusServiceUnavailable:
			require.NotEmpty(t, a.caller.errorMessage(a.body), "%s: the 503 is in the protocol's shape: %s", a.caller.name, a.body)
		default:
			t.Fatalf("%s call answered %d: %s", a.caller.name, a.status, a.body)
		}
	}
	t.Logf("%d calls (%d answered 200; %d before the outage, %d during it, %d after), %d usage rows",
		len(answers), ok, outageStart, outageEnd-outageStart, int64(len(answers))-outageEnd, len(rows))

	var charged int64
	for _, r := range rows {
		charged += r.quota
	}
	require.Positive(t, charged)
	require.Equal(t, granted-charged, f.env.Balance(f.user.ID), "balance = grant − the charges of the usage rows")
}

// TestRedisOutage kills a throwaway Redis under load (a limit rule in force, so every call is
// admitted through it) and starts it again empty (stopped and flushed). No call fails: limits
// fall back to in-process counting while it is away and go back to Redis after; every answered
// call has its usage row. Sessions lived in Redis, so the administrator signs in again.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	rd := testsvc.NewRedis(t)
	f := newFaultEnv(t, apptest.WithRedis(rd.URL))
	many := int64(1_000_000)
	lim, err := f.env.Admin().LimitCreateWithResponse(context.Background(), adminclient.LimitRuleInput{
		Scope: adminclient.LimitRuleInputScopeUser, Model: "*", Window: "1h", Requests: &many})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, lim.StatusCode(), string(lim.Body))

	l := startLoad(t, f, 3)
	l.waitFor(t, 12)
	require.Zero(t, f.env.App.Limits.Fallbacks(), "limits counted in Redis while it is up")
	rd.Stop()
	l.waitFor(t, 24)
	require.Positive(t, f.env.App.Limits.Fallbacks(), "limits counted in process while Redis is away")
	rd.Start()
	// Back to Redis once it answers again: some run of calls is admitted without a fallback.
	// (How many calls fall back before the client reconnects depends on the machine's load.)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		before := f.env.App.Limits.Fallbacks()
		l.waitFor(t, 6)
		if f.env.App.Limits.Fallbacks() == before {
			break
		}
		require.True(t, time.Now().Before(deadline), "limits go back to Redis once it answers again")
	}
	answers := l.stop()

	f.env.AdminToken = f.env.Login(apptest.AdminUsername, apptest.AdminPassword)
	rows := f.usage(t)
	for _, a := range answers {
		require.Equal(t, http.StatusOK, a.status, "%s call: %s", a.caller.name, a.body)
		require.Equal(t, http.StatusOK, rows[a.requestID].status, "%s call %s has its usage row", a.caller.name, a.requestID)
	}
	t.Logf("%d calls, all answered 200; %d admitted in process", len(answers), f.env.App.Limits.Fallbacks())
}
