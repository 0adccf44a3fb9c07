package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/apptest"
)

// ledgerCall posts one chat completion whose cost is known in advance: the fake upstream echoes
// the 19 words back as 20 ("echo:" and the words), exactly max_tokens, and only output is priced.
func ledgerCall(t *testing.T, env *apptest.Env, key string) (int, string) {
	t.Helper()
	words := strings.TrimSpace(strings.Repeat("w ", 19))
	req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions", bytes.NewReader([]byte(
		`{"model":"`+model+`","messages":[{"role":"user","content":"`+words+`"}],"max_tokens":20}`)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.HTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if resp.StatusCode != http.StatusOK {
		require.NoError(t, json.Unmarshal(body, &e), string(body))
	}
	return resp.StatusCode, e.Error.Code
}

// TestLedgerFiftyCalls: a balance that pays for exactly 50 calls (each reserving its max_tokens
// at the output price) answers exactly 50 of 300 calls sent by 100 concurrent callers per
// instance over two instances sharing Redis, and on one instance without Redis; the rest answer
// 402 insufficient_quota; the final balance is exactly 0 with exactly 50 usage rows; every
// instance's GET /api/user/me shows the live balance.
func TestLedgerFiftyCalls(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "two instances sharing Redis", false: "one instance without Redis"}[shared], func(t *testing.T) {
			t.Parallel()
			var envs []*apptest.Env
			if shared {
				a := apptest.New(t)
				envs = []*apptest.Env{a, apptest.New(t, apptest.Sharing(a))}
			} else {
				envs = []*apptest.Env{apptest.New(t, apptest.WithoutRedis())}
			}
			a := envs[0]
			a.Channel("main", []string{model}, "sk-upstream-ledger-0001")
			res, err := a.Admin().ModelCreateWithResponse(context.Background(), adminclient.ModelCreate{
				Name: model, InputPrice: 0, OutputPrice: 50_000_000}) // 50 units per output token: 1000 per call
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
			u := a.NewUser("ledger", 50*1000)
			for _, e := range envs { // every instance serves the priced model
				require.Eventually(t, func() bool {
					return e.App.Relay != nil && meBalance(t, e, u.Token) == 50*1000
				}, 5*time.Second, 20*time.Millisecond)
			}

			const calls, perInstance = 300, 100
			jobs := make(chan int, calls)
			for i := range calls {
				jobs <- i
			}
			close(jobs)
			var mu sync.Mutex
			got := map[int]int{}
			codes := map[string]int{}
			var wg sync.WaitGroup
			for w := range perInstance * len(envs) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range jobs {
						status, code := ledgerCall(t, envs[w%len(envs)], u.Key)
						mu.Lock()
						got[status]++
						codes[code]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			require.Equal(t, map[int]int{http.StatusOK: 50, http.StatusPaymentRequired: calls - 50}, got)
			require.Equal(t, calls-50, codes["insufficient_quota"])
			require.Len(t, a.Upstream.Requests(), 50)
			for _, e := range envs {
				e.FlushUsage()
			}
			require.Equal(t, int64(50), usageRows(t, envs, u.ID))
			require.Equal(t, int64(0), a.Balance(u.ID))
			for _, e := range envs {
				require.Equal(t, int64(0), meBalance(t, e, u.Token))
			}
		})
	}
}

// meBalance is the balance GET /api/user/me shows on an instance.
func meBalance(t *testing.T, env *apptest.Env, token string) int64 {
	t.Helper()
	res, err := env.User(token).MeGetWithResponse(context.Background())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return res.JSON200.Balance
}
