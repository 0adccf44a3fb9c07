package reliability_test

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
)

// TestInvalidBodyBurst sends a burst of 48 large invalid management bodies at once (1 MiB each,
// tens of thousands of small objects: what made request validation swell past 1.4 GB of RSS
// before bodies were read once and held against a shared budget). Every answer is a 4xx, and
// the process's peak heap, sampled while the burst runs, stays bounded.
//
// Like TestSlowReaders it runs before the parallel tests: the heap it measures is the process's.
func TestInvalidBodyBurst(t *testing.T) {
	env := apptest.New(t)
	item := `{"a":[1,{"b":"x"}]},`
	body := `{"site_name":[` + strings.Repeat(item, (1<<20)/len(item)-1) + `1]}`

	base := heapInUse()
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	const burst = 48
	statuses := make([]int, burst)
	errs := make([]error, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPut, env.URL+"/api/settings", strings.NewReader(body))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+env.AdminToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = readBody(res)
			statuses[i] = res.StatusCode
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	for i := range burst {
		require.NoError(t, errs[i])
		require.True(t, statuses[i] >= 400 && statuses[i] < 500, "an invalid body answers a 4xx: %d", statuses[i])
	}
	growth := int64(peak) - base
	t.Logf("%d bodies of 1 MiB at once: peak heap %d MiB above the start", burst, growth>>20)
	require.Less(t, growth, int64(384<<20), "validating a burst of large bodies holds a bounded amount of memory")
}
