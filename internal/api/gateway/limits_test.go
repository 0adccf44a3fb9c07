package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

// limitRule creates a rule through the admin API.
func limitRule(t *testing.T, env *apptest.Env, in adminclient.LimitRuleInput) adminclient.LimitRule {
	t.Helper()
	res, err := env.Admin().LimitCreateWithResponse(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	return *res.JSON201
}

// userLimits reads GET /api/user/limits on an instance.
func userLimits(t *testing.T, env *apptest.Env, token string) []userclient.UserLimit {
	t.Helper()
	res, err := env.User(token).LimitUserListWithResponse(context.Background())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	return res.JSON200.Items
}

// chatRaw posts one chat completion and returns the status, the Retry-After header and the body.
func chatRaw(t *testing.T, env *apptest.Env, key string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions",
		bytes.NewReader([]byte(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}],"max_tokens":20}`)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.HTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Retry-After"), body
}

// chatLoose is chatRaw for a goroutine other than the test's: a failure to call is status 0
// with the error as the body, not a failed test.
func chatLoose(env *apptest.Env, key string) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions",
		bytes.NewReader([]byte(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}],"max_tokens":20}`)))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.HTTP.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return resp.StatusCode, body
}

// usageRows counts a user's usage rows once every instance has written what it queued (each
// instance batches its own usage).
func usageRows(t *testing.T, envs []*apptest.Env, userID int64) int64 {
	t.Helper()
	for _, e := range envs {
		e.FlushUsage()
	}
	var n int64
	require.NoError(t, envs[0].App.Pool.QueryRow(context.Background(), "SELECT count(*) FROM usage_logs WHERE user_id = $1", userID).Scan(&n))
	return n
}

type refusal struct {
	Error struct {
		Type     string `json:"type"`
		Code     string `json:"code"`
		ClearsIn int64  `json:"clears_in"`
	} `json:"error"`
}

// burst sends n calls at once, spread over the instances, and counts the answers by status.
func burst(t *testing.T, envs []*apptest.Env, key string, n int) (map[int]int, []refusal, []string) {
	t.Helper()
	var mu sync.Mutex
	got := map[int]int{}
	var refused []refusal
	var retry []string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, ra, body := chatRaw(t, envs[i%len(envs)], key)
			mu.Lock()
			defer mu.Unlock()
			got[status]++
			if status == http.StatusTooManyRequests {
				var r refusal
				require.NoError(t, json.Unmarshal(body, &r))
				refused = append(refused, r)
				retry = append(retry, ra)
			}
		}()
	}
	close(start)
	wg.Wait()
	return got, refused, retry
}

// TestLimitSixtyPerThreeHours: a 60/3h per-user rule admits exactly 60 of 200 concurrent calls,
// over two instances sharing Redis and on one instance without it; the others answer 429
// rate_limit_exceeded with Retry-After and clears_in, never reach the upstream and are not logged.
func TestLimitSixtyPerThreeHours(t *testing.T) {
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
			a.Channel("main", []string{model}, "sk-upstream-limits-0001")
			a.Price(model, inPrice, outPrice)
			u := a.NewUser("lim", 1_000_000)
			rule := limitRule(t, a, adminclient.LimitRuleInput{Scope: adminclient.LimitRuleInputScopeUser, Model: "gpt-4o*",
				Window: "3h", Requests: ptr(int64(60))})
			require.Equal(t, "3h", rule.Window)
			for _, e := range envs { // every instance has the rule and serves the channel
				require.Eventually(t, func() bool { return len(userLimits(t, e, u.Token)) == 1 }, 5*time.Second, 20*time.Millisecond)
			}
			if shared {
				require.Eventually(t, func() bool {
					return envs[1].App.Relay != nil && len(userLimits(t, envs[1], u.Key)) == 1
				}, 5*time.Second, 20*time.Millisecond)
			}

			got, refused, retry := burst(t, envs, u.Key, 200)
			require.Equal(t, map[int]int{http.StatusOK: 60, http.StatusTooManyRequests: 140}, got)
			for i, r := range refused {
				require.Equal(t, "rate_limit_exceeded", r.Error.Code)
				require.Equal(t, "rate_limit_error", r.Error.Type)
				require.Greater(t, r.Error.ClearsIn, int64(3*3600-60))
				require.LessOrEqual(t, r.Error.ClearsIn, int64(3*3600))
				require.Equal(t, strconv.FormatInt(r.Error.ClearsIn, 10), retry[i])
			}
			require.Len(t, a.Upstream.Requests(), 60)
			require.Equal(t, int64(60), usageRows(t, envs, u.ID))

			// Every instance reports the same use; clears_in counts down.
			for _, e := range envs {
				ls := userLimits(t, e, u.Key)
				require.Len(t, ls, 1)
				require.Equal(t, rule.Id, ls[0].Id)
				require.Equal(t, int64(60), ls[0].UsedRequests)
				require.Equal(t, int64(0), ls[0].RemainingRequests.MustGet())
				require.Greater(t, ls[0].ClearsIn, int64(3*3600-60))
			}
			first := userLimits(t, a, u.Token)[0].ClearsIn
			require.Eventually(t, func() bool { return userLimits(t, a, u.Token)[0].ClearsIn < first }, 5*time.Second, 100*time.Millisecond)

			// Deleting the rule lifts the limit on every instance.
			del, err := a.Admin().LimitDeleteWithResponse(context.Background(), rule.Id)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, del.StatusCode())
			for _, e := range envs {
				require.Eventually(t, func() bool { s, _, _ := chatRaw(t, e, u.Key); return s == http.StatusOK }, 5*time.Second, 20*time.Millisecond)
			}
		})
	}
}

// TestLimitShapes: a refused call answers in the caller's protocol: Claude's rate_limit_error and
// Gemini's RESOURCE_EXHAUSTED, each with clears_in and Retry-After.
func TestLimitShapes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	limitRule(t, b.env, adminclient.LimitRuleInput{Scope: adminclient.LimitRuleInputScopeKey, Model: "*", Window: "1m",
		Requests: ptr(int64(1))})
	status, _, _ := chatRaw(t, b.env, b.user.Key)
	require.Equal(t, http.StatusOK, status)

	post := func(path, body string, h map[string]string) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodPost, b.env.URL+path, bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := b.env.HTTP.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, out
	}
	resp, body := post("/v1/messages", `{"model":"`+model+`","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": b.user.Key, "anthropic-version": "2023-06-01"})
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
	var ce struct {
		Type  string `json:"type"`
		Error struct {
			Type     string `json:"type"`
			ClearsIn int64  `json:"clears_in"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &ce))
	require.Equal(t, "error", ce.Type)
	require.Equal(t, "rate_limit_error", ce.Error.Type)
	require.Positive(t, ce.Error.ClearsIn)
	require.LessOrEqual(t, ce.Error.ClearsIn, int64(60))
	require.Equal(t, strconv.FormatInt(ce.Error.ClearsIn, 10), resp.Header.Get("Retry-After"))

	resp, body = post("/v1beta/models/"+model+":generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`,
		map[string]string{"x-goog-api-key": b.user.Key})
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(body))
	var ge struct {
		Error struct {
			Code     int    `json:"code"`
			Status   string `json:"status"`
			ClearsIn int64  `json:"clears_in"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &ge))
	require.Equal(t, "RESOURCE_EXHAUSTED", ge.Error.Status)
	require.Equal(t, 429, ge.Error.Code)
	require.Positive(t, ge.Error.ClearsIn)
	require.Len(t, b.env.Upstream.Requests(), 1)
}

// TestLimitRulesAPI: bad rules answer 400 naming the field; PUT replaces; 404 for unknown ids.
func TestLimitRulesAPI(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	for _, bad := range []adminclient.LimitRuleInput{
		{Scope: adminclient.LimitRuleInputScopeUser, Model: "*", Window: "1m"},                            // no limit
		{Scope: adminclient.LimitRuleInputScopeUser, Model: "*", Window: "1w", Requests: ptr(int64(1))},   // window
		{Scope: adminclient.LimitRuleInputScopeUser, Model: "a*b", Window: "1m", Requests: ptr(int64(1))}, // pattern
		{Scope: adminclient.LimitRuleInputScopeGlobal, SubjectId: ptr(int64(3)), Model: "*", Window: "1m", Requests: ptr(int64(1))},
	} {
		res, err := env.Admin().LimitCreateWithResponse(ctx, bad)
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, res.StatusCode(), string(res.Body))
	}
	r := limitRule(t, env, adminclient.LimitRuleInput{Scope: adminclient.LimitRuleInputScopeGlobal, Model: "*", Window: "60s",
		Concurrency: ptr(int64(4))})
	require.Equal(t, "1m", r.Window)
	require.Nil(t, wire.Ptr(r.SubjectId))
	up, err := env.Admin().LimitUpdateWithResponse(ctx, r.Id, adminclient.LimitRuleInput{Scope: adminclient.LimitRuleInputScopeKey,
		Model: "gpt-4o", Window: "1d", Requests: ptr(int64(100)), Tokens: ptr(int64(5000))})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, "1d", up.JSON200.Window)
	require.Nil(t, wire.Ptr(up.JSON200.Concurrency))
	require.Equal(t, int64(5000), up.JSON200.Tokens.MustGet())
	list, err := env.Admin().LimitListWithResponse(ctx)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	miss, err := env.Admin().LimitUpdateWithResponse(ctx, r.Id+100, adminclient.LimitRuleInput{Scope: adminclient.LimitRuleInputScopeKey,
		Model: "*", Window: "1m", Requests: ptr(int64(1))})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, miss.StatusCode())
	del, err := env.Admin().LimitDeleteWithResponse(ctx, r.Id+100)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, del.StatusCode())
}

// TestLimitSequentialCaller: a user whose rule allows one call at a time, sending each call as
// soon as the previous answer arrived, is never refused by that previous call, while another
// user's 16 concurrent callers keep the instances' Redis releases busy (each call's release
// reaches Redis after its answer, and a next call may get there first: docs/limits.md, "A
// caller's next call never meets its previous one"). On one instance, and on two sharing Redis
// with the caller's calls alternating between them (as behind a load balancer). On one instance
// every one of 300 calls is answered 200 (before, a 429 "1 concurrent requests" came within the
// first 2–11 calls); on two, at most 1 % are refused (before, 7–8 %).
func TestLimitSequentialCaller(t *testing.T) {
	t.Parallel()
	for _, two := range []bool{false, true} {
		t.Run(map[bool]string{false: "one instance", true: "two instances sharing Redis"}[two], func(t *testing.T) {
			t.Parallel()
			envs := []*apptest.Env{apptest.New(t)}
			if two {
				envs = append(envs, apptest.New(t, apptest.Sharing(envs[0])))
			}
			a := envs[0]
			a.Channel("main", []string{model}, "sk-upstream-seq-0001")
			a.Price(model, inPrice, outPrice)
			seq, load := a.NewUser("seq", 1_000_000), a.NewUser("load", 1_000_000)
			limitRule(t, a, adminclient.LimitRuleInput{Scope: adminclient.LimitRuleInputScopeUser, SubjectId: &seq.ID,
				Model: "*", Window: "1m", Concurrency: ptr(int64(1))})
			for _, e := range envs { // every instance has the rule and serves the channel
				require.Eventually(t, func() bool { return e.App.Relay != nil && len(userLimits(t, e, seq.Key)) == 1 },
					5*time.Second, 20*time.Millisecond)
			}

			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						if status, body := chatLoose(envs[i%len(envs)], load.Key); status != http.StatusOK {
							t.Errorf("load call: %d %s", status, body)
							return
						}
					}
				})
			}
			var refused []string
			for i := range 300 {
				if status, body := chatLoose(envs[i%len(envs)], seq.Key); status != http.StatusOK {
					refused = append(refused, strconv.Itoa(i)+": "+strconv.Itoa(status)+" "+string(body))
				}
			}
			close(stop)
			wg.Wait()
			if !two {
				require.Empty(t, refused) // this instance knows its releases: exact
				return
			}
			// Another instance's release is on its way: a refusal it may explain waits 5 ms for it
			// and is admitted again; one that took longer still refuses (7–8 % before; here at
			// most 1 %).
			require.LessOrEqual(t, len(refused), 3, "%v", refused)
		})
	}
}
