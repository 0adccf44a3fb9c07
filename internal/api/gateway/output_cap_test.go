package gateway_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// TestLedgerOutputCap: a call that sets no max_tokens reserves the model's output_cap at the
// output price while it runs (the live balance shows it); one that sets max_tokens reserves that;
// without a cap such a call reserves its prompt only. The upstream stalls after its headers, so
// each call stays in flight until the test hangs up.
func TestLedgerOutputCap(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithoutRedis())
	ctx := context.Background()
	env.Channel("main", []string{model}, "sk-upstream-outcap-0001")
	res, err := env.Admin().ModelCreateWithResponse(ctx, adminclient.ModelCreate{Name: model, InputPrice: 0,
		OutputPrice: 1_000_000, OutputCap: wire.Opt(ptr(int64(5000)))}) // one unit per output token
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	require.Equal(t, int64(5000), res.JSON201.OutputCap.MustGet())
	u := env.NewUser("outcap", 100_000)
	require.Eventually(t, func() bool { return meBalance(t, env, u.Token) == 100_000 }, 5*time.Second, 20*time.Millisecond)

	// inFlight starts a call the upstream never finishes, waits until the live balance shows its
	// reservation, then hangs up and waits for the reservation to go.
	inFlight := func(body string, reserved int64) {
		t.Helper()
		env.Upstream.Enqueue(fakeupstream.Reply{Stall: true})
		cctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() {
			req, err := http.NewRequestWithContext(cctx, http.MethodPost, env.URL+"/v1/chat/completions", bytes.NewReader([]byte(body)))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+u.Key)
			req.Header.Set("Content-Type", "application/json")
			if resp, err := env.HTTP.Do(req); err == nil {
				resp.Body.Close()
			}
		})
		require.Eventually(t, func() bool { return meBalance(t, env, u.Token) == 100_000-reserved }, 10*time.Second, 20*time.Millisecond)
		cancel()
		wg.Wait()
		require.Eventually(t, func() bool { return meBalance(t, env, u.Token) == 100_000 }, 10*time.Second, 20*time.Millisecond)
	}
	noMax := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
	inFlight(noMax, 5000)
	inFlight(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}],"max_tokens":10}`, 10)

	// The cap removed (null): a call without max_tokens reserves its prompt only (free here).
	up, err := env.Admin().ModelUpdateWithBodyWithResponse(ctx, res.JSON201.Id, "application/json",
		bytes.NewReader([]byte(`{"output_cap":null}`)))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Nil(t, wire.Ptr(up.JSON200.OutputCap))
	env.Upstream.Enqueue(fakeupstream.Reply{Stall: true})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		req, err := http.NewRequestWithContext(cctx, http.MethodPost, env.URL+"/v1/chat/completions", bytes.NewReader([]byte(noMax)))
		if err != nil {
			t.Error(err)
			return
		}
		req.Header.Set("Authorization", "Bearer "+u.Key)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := env.HTTP.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	require.Eventually(t, func() bool { return env.Upstream.Pending() == 0 }, 10*time.Second, 20*time.Millisecond, "the call reached the upstream")
	require.Equal(t, int64(100_000), meBalance(t, env, u.Token), "nothing reserved beyond the (free) prompt")
	cancel()
	wg.Wait()
}
