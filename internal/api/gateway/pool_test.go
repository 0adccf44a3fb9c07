package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
)

// Credentials of the pool tests' two accounts.
const (
	credA = "sk-upstream-aaaa1111"
	credB = "sk-upstream-bbbb2222"
)

// clock is an injectable clock that moves only when told.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }
func poolPtr[T any](v T) *T              { return &v }

// chat makes one chat completion as the key's owner on env.
func chat(env *apptest.Env, key string) error {
	sdk := client(env, key)
	_, err := sdk.Chat.Completions.New(context.Background(), params())
	return err
}

func ok(text string) fakeupstream.Reply {
	return fakeupstream.Reply{Text: text, Usage: &fakeupstream.Usage{PromptTokens: 1, CompletionTokens: 1}}
}
func apiStatus(err error) (int, string) {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode, apiErr.Code
	}
	return 0, ""
}

// accounts lists a channel's accounts by credential tail.
func accounts(t *testing.T, env *apptest.Env, channel int64) map[string]adminclient.Account {
	t.Helper()
	res, err := env.Admin().AccountListWithResponse(context.Background(), channel)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	out := map[string]adminclient.Account{}
	for _, a := range res.JSON200.Items {
		out[a.CredentialTail[len(a.CredentialTail)-4:]] = a
	}
	return out
}

// credentials lists the credentials the upstream received, in order.
func credentials(env *apptest.Env) []string {
	var out []string
	for _, r := range env.Upstream.Requests() {
		out = append(out, r.Credential)
	}
	return out
}

func TestCooldownEndsByTime(t *testing.T) {
	t.Parallel()
	clk := &clock{}
	env := apptest.New(t, apptest.WithClock(clk.now))
	env.Channel("one", []string{model}, credA)
	env.Price(model, inPrice, outPrice)
	u := env.NewUser("alice", 1_000_000)
	sdk := client(env, u.Key)
	ctx := context.Background()

	env.Upstream.Enqueue(fakeupstream.Reply{Status: 429, Header: map[string]string{"Retry-After": "30"}})
	_, err := sdk.Chat.Completions.New(ctx, params())
	status, code := apiStatus(err)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, "rate_limit_exceeded", code)

	// Cooling: refused without reaching the upstream, with the time left.
	var raw *http.Response
	_, err = sdk.Chat.Completions.New(ctx, params(), option.WithResponseInto(&raw))
	status, _ = apiStatus(err)
	require.Equal(t, http.StatusTooManyRequests, status)
	ra, _ := strconv.Atoi(raw.Header.Get("Retry-After"))
	require.InDelta(t, 30, ra, 2)
	require.Len(t, env.Upstream.Requests(), 1, "a cooling account is not tried")

	// A success elsewhere does not end it; time does.
	clk.advance(29 * time.Second)
	_, err = sdk.Chat.Completions.New(ctx, params())
	require.Error(t, err)
	clk.advance(2 * time.Second)
	env.Upstream.Enqueue(ok("back"))
	res, err := sdk.Chat.Completions.New(ctx, params())
	require.NoError(t, err)
	require.Equal(t, "back", res.Choices[0].Message.Content)
}

func TestModelCooldownLeavesOtherModels(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Channel("one", []string{model, "gpt-4o"}, credA)
	env.Price(model, inPrice, outPrice)
	env.Price("gpt-4o", inPrice, outPrice)
	u := env.NewUser("alice", 1_000_000)
	sdk := client(env, u.Key)
	env.Upstream.Enqueue(fakeupstream.Reply{Status: 429})
	_, err := sdk.Chat.Completions.New(context.Background(), params())
	require.Error(t, err)
	p := params()
	p.Model = "gpt-4o"
	_, err = sdk.Chat.Completions.New(context.Background(), p)
	require.NoError(t, err, "a rate limit on one model cools only that model")
}

func TestBanAndReauthStates(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ch := env.Channel("main", []string{model}, credA, credB)
	env.Price(model, inPrice, outPrice)
	u := env.NewUser("alice", 1_000_000)
	sdk := client(env, u.Key)
	ctx := context.Background()

	env.Upstream.EnqueueFor(credA, fakeupstream.Reply{Status: 403,
		Body: `{"error":{"message":"This organization has been disabled.","type":"invalid_request_error","code":"organization_disabled"}}`})
	env.Upstream.EnqueueFor(credB, fakeupstream.Reply{Status: 401})
	_, err := sdk.Chat.Completions.New(ctx, params())
	status, code := apiStatus(err)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "no_available_account", code)

	accs := accounts(t, env, ch)
	require.Equal(t, adminclient.AccountStatusBanned, accs["1111"].Status)
	require.Equal(t, "banned", accs["1111"].StatusReason)
	require.Equal(t, adminclient.AccountStatusNeedsReauth, accs["2222"].Status)

	// Both are out of rotation: nothing reaches the upstream, whatever happens meanwhile.
	_, err = sdk.Chat.Completions.New(ctx, params())
	status, _ = apiStatus(err)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Len(t, env.Upstream.Requests(), 2)

	// An administrator's reset puts the banned account back at once.
	res, err := env.Admin().AccountResetWithResponse(ctx, ch, accs["1111"].Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, adminclient.AccountStatusActive, res.JSON200.Status)
	out, err := sdk.Chat.Completions.New(ctx, params())
	require.NoError(t, err)
	require.NotEmpty(t, out.Choices)
	require.Equal(t, credA, credentials(env)[2])
}

func TestProbeReenablesNeedsReauthNotBanned(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) { c.PoolProbeInterval = 50 * time.Millisecond }))
	ch := env.Channel("main", []string{model}, credA, credB)
	env.Price(model, inPrice, outPrice)
	u := env.NewUser("alice", 1_000_000)
	env.Upstream.EnqueueFor(credA, fakeupstream.Reply{Status: 401})
	env.Upstream.EnqueueFor(credB, fakeupstream.Reply{Status: 403, Body: `{"error":{"message":"Your account has been disabled","type":"forbidden"}}`})
	err := chat(env, u.Key)
	require.Error(t, err)

	// The probe (GET /models with the credential, which the fake upstream accepts) passes.
	require.Eventually(t, func() bool {
		return accounts(t, env, ch)["1111"].Status == adminclient.AccountStatusActive
	}, 10*time.Second, 50*time.Millisecond, "a passing probe re-enables a needs_reauth account")
	require.Equal(t, adminclient.AccountStatusBanned, accounts(t, env, ch)["2222"].Status, "banned waits for an administrator")
	err = chat(env, u.Key)
	require.NoError(t, err)
}

func TestFailuresInARowDisableUntilProbe(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithConfig(func(c *config.Config) {
		c.PoolFailureThreshold = 2
		c.MaxAttempts = 1
	}))
	ch := env.Channel("main", []string{model}, credA)
	env.Price(model, inPrice, outPrice)
	u := env.NewUser("alice", 1_000_000)
	sdk := client(env, u.Key)
	env.Upstream.Enqueue(fakeupstream.Reply{Status: 500}, fakeupstream.Reply{Status: 502})
	for range 2 {
		_, err := sdk.Chat.Completions.New(context.Background(), params())
		require.Error(t, err)
	}
	a := accounts(t, env, ch)["1111"]
	require.Equal(t, adminclient.AccountStatusDisabled, a.Status)
	require.Equal(t, "failures", a.StatusReason)
}

func TestNoRetryAfterFirstByteAndOneCharge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.Upstream.Enqueue(fakeupstream.Reply{Text: "one two three four five", CutAfter: 2})
	stream := b.sdk.Chat.Completions.NewStreaming(context.Background(), params())
	for stream.Next() {
	}
	require.Error(t, stream.Err())
	require.Len(t, b.env.Upstream.Requests(), 1, "never retried once bytes reached the caller")
	ls := logs(t, b.env, b.user.ID)
	require.Len(t, ls, 1, "one call, one record, one charge")
}

func TestDedicatedBeforeSharedAndTiers(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	ad := env.Admin()
	env.Price(model, inPrice, outPrice)
	alice := env.NewUser("alice", 1_000_000)
	bob := env.NewUser("bob", 1_000_000)
	shared := env.Channel("shared", []string{model}, "sk-shared-free-0001")
	res, err := ad.AccountCreateWithResponse(ctx, shared, adminclient.AccountCreate{Credential: "sk-shared-pro-0002", Tier: poolPtr(adminclient.Pro)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	own, err := ad.AccountCreateWithResponse(ctx, shared, adminclient.AccountCreate{Credential: "sk-alice-own-0003", OwnerUserId: wire.Opt(&alice.ID)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, own.StatusCode(), string(own.Body))
	require.Equal(t, alice.ID, own.JSON201.OwnerUserId.MustGet())

	// Alice rides her dedicated account first, every time.
	for range 3 {
		err := chat(env, alice.Key)
		require.NoError(t, err)
	}
	require.Equal(t, []string{"sk-alice-own-0003", "sk-alice-own-0003", "sk-alice-own-0003"}, credentials(env))

	// Bob (free) never rides Alice's account nor the pro one.
	env.Upstream.Reset()
	for range 4 {
		err := chat(env, bob.Key)
		require.NoError(t, err)
	}
	for _, c := range credentials(env) {
		require.Equal(t, "sk-shared-free-0001", c)
	}

	// Alice's dedicated account failing falls back to the shared pool.
	env.Upstream.Reset()
	env.Upstream.EnqueueFor("sk-alice-own-0003", fakeupstream.Reply{Status: 500})
	err = chat(env, alice.Key)
	require.NoError(t, err)
	require.Equal(t, []string{"sk-alice-own-0003", "sk-shared-free-0001"}, credentials(env))
}

func TestTierRules(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	ad := env.Admin()
	env.Price(model, inPrice, outPrice)
	u := env.NewUser("carol", 1_000_000)
	ch := env.Channel("pro-only", []string{model})
	res, err := ad.AccountCreateWithResponse(ctx, ch, adminclient.AccountCreate{Credential: "sk-pro-account-0001", Tier: poolPtr(adminclient.Pro)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	sdk := client(env, u.Key)

	_, err = sdk.Chat.Completions.New(ctx, params())
	status, code := apiStatus(err)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "tier_required", code)

	up, err := ad.UserUpdateWithResponse(ctx, u.ID, adminclient.UserUpdate{Tier: poolPtr(adminclient.Ultra)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, "ultra", string(*up.JSON200.Tier))
	_, err = sdk.Chat.Completions.New(ctx, params())
	require.NoError(t, err, "ultra rides pro accounts")

	past := time.Now().Add(-time.Hour)
	up, err = ad.UserUpdateWithResponse(ctx, u.ID, adminclient.UserUpdate{Tier: poolPtr(adminclient.Ultra), PlanExpiresAt: wire.Opt(&past)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	_, err = sdk.Chat.Completions.New(ctx, params())
	status, code = apiStatus(err)
	require.Equal(t, http.StatusForbidden, status, "an expired plan rides free accounts only")
	require.Equal(t, "tier_required", code)

	// A channel's minimum tier raises its accounts' tier.
	free := env.Channel("min-pro", []string{model}, "sk-free-in-pro-0002")
	cu, err := ad.ChannelUpdateWithResponse(ctx, free, adminclient.ChannelUpdate{MinTier: poolPtr(adminclient.Pro)})
	require.NoError(t, err)
	require.Equal(t, adminclient.Pro, cu.JSON200.MinTier)
	_, err = sdk.Chat.Completions.New(ctx, params())
	status, _ = apiStatus(err)
	require.Equal(t, http.StatusForbidden, status)
}

// TestTierNeedsTrustLevel: the settings pro_min_trust_level and ultra_min_trust_level lower a
// granted tier to what the user's trust level allows.
func TestTierNeedsTrustLevel(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	ad := env.Admin()
	env.Price(model, inPrice, outPrice)
	u := env.NewUser("dave", 1_000_000)
	ch := env.Channel("pro-only", []string{model})
	res, err := ad.AccountCreateWithResponse(ctx, ch, adminclient.AccountCreate{Credential: "sk-pro-account-0003", Tier: poolPtr(adminclient.Pro)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	one := 1
	up, err := ad.UserUpdateWithResponse(ctx, u.ID, adminclient.UserUpdate{Tier: poolPtr(adminclient.Ultra), TrustLevel: &one})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	pro, ultra := 2, 3
	st, err := ad.SettingsUpdateWithResponse(ctx, adminclient.SettingsUpdate{ProMinTrustLevel: &pro, UltraMinTrustLevel: &ultra})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st.StatusCode(), string(st.Body))
	require.Equal(t, 2, st.JSON200.ProMinTrustLevel)
	require.Equal(t, 3, st.JSON200.UltraMinTrustLevel)
	sdk := client(env, u.Key)

	_, err = sdk.Chat.Completions.New(ctx, params())
	status, code := apiStatus(err)
	require.Equal(t, http.StatusForbidden, status, "trust level 1 rides free accounts only")
	require.Equal(t, "tier_required", code)

	up, err = ad.UserUpdateWithResponse(ctx, u.ID, adminclient.UserUpdate{TrustLevel: &pro})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	_, err = sdk.Chat.Completions.New(ctx, params())
	require.NoError(t, err, "trust level 2 rides pro accounts (ultra lowered to pro)")
}

func TestUserChannelIsDedicated(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	env.Price(model, inPrice, outPrice)
	alice := env.NewUser("alice", 1_000_000)
	bob := env.NewUser("bob", 1_000_000)
	env.Channel("shared", []string{model}, "sk-shared-0001")
	mine := env.Channel("alices", []string{model}, "sk-alices-channel-0002")
	res, err := env.Admin().UserChannelCreateWithResponse(ctx, adminclient.UserChannelCreate{UserId: alice.ID, ChannelId: mine})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	dup, err := env.Admin().UserChannelCreateWithResponse(ctx, adminclient.UserChannelCreate{UserId: alice.ID, ChannelId: mine})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, dup.StatusCode())

	for range 3 {
		err := chat(env, alice.Key)
		require.NoError(t, err)
		err = chat(env, bob.Key)
		require.NoError(t, err)
	}
	for i, c := range credentials(env) {
		if i%2 == 0 {
			require.Equal(t, "sk-alices-channel-0002", c, "alice rides her channel")
		} else {
			require.Equal(t, "sk-shared-0001", c, "bob never rides alice's channel")
		}
	}
	list, err := env.Admin().UserChannelListWithResponse(ctx, &adminclient.UserChannelListParams{UserId: &alice.ID})
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1)
	del, err := env.Admin().UserChannelDeleteWithResponse(ctx, res.JSON201.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
}

func TestPreferredAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	accs := accounts(t, b.env, 1)
	for _, tail := range []string{"2222", "1111", "2222"} {
		_, err := b.sdk.Chat.Completions.New(context.Background(), params(),
			option.WithHeader("X-Poolgate-Account", strconv.FormatInt(accs[tail].Id, 10)))
		require.NoError(t, err)
	}
	require.Equal(t, []string{credB, credA, credB}, credentials(b.env))
}

// postChat sends a raw chat body with the user's key and returns the status.
func postChat(t *testing.T, env *apptest.Env, key, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := env.RawHTTP.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

func TestStickySessionAndMove(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const plain = `{"model":"gpt-4o-mini","user":"conversation-42","messages":[{"role":"user","content":"hi"}]}`
	for range 4 {
		require.Equal(t, http.StatusOK, postChat(t, b.env, b.user.Key, plain))
	}
	creds := credentials(b.env)
	for _, c := range creds {
		require.Equal(t, creds[0], c, "a session stays on its account")
	}
	first, other := creds[0], credA
	if first == credA {
		other = credB
	}

	// Its account is rate-limited: the session moves, and an artefact only the old account
	// accepts (a thinking signature) is stripped before the new one sees it.
	b.env.Upstream.Reset()
	b.env.Upstream.EnqueueFor(first, fakeupstream.Reply{Status: 429})
	const signed = `{"model":"gpt-4o-mini","user":"conversation-42","messages":[{"role":"assistant","content":[` +
		`{"type":"thinking","thinking":"hmm","signature":"sig-from-old-account"},{"type":"text","text":"ok"}]},` +
		`{"role":"user","content":"go on"}]}`
	require.Equal(t, http.StatusOK, postChat(t, b.env, b.user.Key, signed))
	reqs := b.env.Upstream.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, first, reqs[0].Credential)
	require.Contains(t, string(reqs[0].Body), "sig-from-old-account", "the bound account gets the body as sent")
	require.Equal(t, other, reqs[1].Credential)
	require.NotContains(t, string(reqs[1].Body), "signature")
	require.Contains(t, string(reqs[1].Body), `"go on"`)

	// The binding moved: the session now stays on the new account.
	b.env.Upstream.Reset()
	for range 3 {
		require.Equal(t, http.StatusOK, postChat(t, b.env, b.user.Key, plain))
	}
	require.Equal(t, []string{other, other, other}, credentials(b.env))
	// Without artefacts the body is sent as is.
	require.Equal(t, plain, string(b.env.Upstream.Requests()[0].Body))
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	other := apptest.New(t, apptest.Sharing(env))
	ctx := context.Background()
	env.Price(model, inPrice, outPrice)
	ch := env.Channel("one", []string{model})
	res, err := env.Admin().AccountCreateWithResponse(ctx, ch, adminclient.AccountCreate{Credential: credA, MaxConcurrency: poolPtr(1)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	u := env.NewUser("alice", 1_000_000)

	release := make(chan struct{})
	env.Upstream.Enqueue(fakeupstream.Reply{Delay: 30 * time.Second, Text: "slow"})
	var wg sync.WaitGroup
	wg.Add(1)
	slowCtx, cancel := context.WithCancel(ctx)
	go func() {
		defer wg.Done()
		sdk := client(env, u.Key)
		_, _ = sdk.Chat.Completions.New(slowCtx, params())
		close(release)
	}()
	require.Eventually(t, func() bool { return env.Upstream.Count() == 1 }, 5*time.Second, 10*time.Millisecond)

	for _, e := range []*apptest.Env{env, other} {
		err := chat(e, u.Key)
		status, code := apiStatus(err)
		require.Equal(t, http.StatusTooManyRequests, status, "the slot is taken on every instance")
		require.Equal(t, "accounts_busy", code)
	}
	require.EqualValues(t, 1, env.Upstream.Count())

	cancel() // the slow call ends and frees its slot
	<-release
	wg.Wait()
	require.Eventually(t, func() bool {
		err := chat(other, u.Key)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
}

func TestWindowLimitCoolsUntilReset(t *testing.T) {
	t.Parallel()
	clk := &clock{}
	env := apptest.New(t, apptest.WithClock(clk.now))
	ctx := context.Background()
	env.Price(model, inPrice, outPrice)
	ch := env.Channel("one", []string{model})
	res, err := env.Admin().AccountCreateWithResponse(ctx, ch, adminclient.AccountCreate{Credential: credA,
		Limits: &adminclient.AccountLimits{model: "2/1h"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	u := env.NewUser("alice", 1_000_000)
	sdk := client(env, u.Key)
	for range 2 {
		_, err := sdk.Chat.Completions.New(ctx, params())
		require.NoError(t, err)
	}
	_, err = sdk.Chat.Completions.New(ctx, params())
	status, _ := apiStatus(err)
	require.Equal(t, http.StatusTooManyRequests, status, "the window is full")
	require.EqualValues(t, 2, env.Upstream.Count())
	clk.advance(time.Hour + time.Second)
	_, err = sdk.Chat.Completions.New(ctx, params())
	require.NoError(t, err, "the window reset")
}

// TestInstancesShareCooldownsAndStickiness: a cooldown set on one instance and a sticky binding
// made on one hold on the other.
func TestInstancesShareCooldownsAndStickiness(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	b := apptest.New(t, apptest.Sharing(a))
	a.Channel("main", []string{model}, credA, credB)
	a.Price(model, inPrice, outPrice)
	u := a.NewUser("alice", 1_000_000)

	// Stickiness: bound on a, honoured on b.
	const body = `{"model":"gpt-4o-mini","prompt_cache_key":"conv-7","messages":[{"role":"user","content":"hi"}]}`
	require.Equal(t, http.StatusOK, postChat(t, a, u.Key, body))
	bound := credentials(a)[0]
	for range 3 {
		require.Eventually(t, func() bool { return postChat(t, b, u.Key, body) == http.StatusOK }, 3*time.Second, 20*time.Millisecond)
	}
	for _, c := range credentials(a) {
		require.Equal(t, bound, c)
	}

	// Cooldown: both accounts rate-limited through a; b does not try them.
	a.Upstream.Reset()
	a.Upstream.Enqueue(fakeupstream.Reply{Status: 429, Header: map[string]string{"Retry-After": "120"}},
		fakeupstream.Reply{Status: 429, Header: map[string]string{"Retry-After": "120"}})
	err := chat(a, u.Key)
	status, _ := apiStatus(err)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Len(t, a.Upstream.Requests(), 2)
	require.Eventually(t, func() bool {
		// Once b has seen the cooldowns it refuses without reaching the upstream (a call that
		// raced the propagation may have reached it: only the latest attempt counts).
		before := len(a.Upstream.Requests())
		a.Upstream.Enqueue(fakeupstream.Reply{Status: 429, Header: map[string]string{"Retry-After": "120"}},
			fakeupstream.Reply{Status: 429, Header: map[string]string{"Retry-After": "120"}})
		err := chat(b, u.Key)
		s, _ := apiStatus(err)
		return s == http.StatusTooManyRequests && len(a.Upstream.Requests()) == before
	}, 5*time.Second, 20*time.Millisecond, "instance b sees a's cooldowns")
}

// TestFaultyAccountsNeverFailACall: with five faulty accounts (rate-limited, unauthorized,
// banned, failing, dropping the connection) and one healthy account in a channel, every call
// succeeds: failures the error table blames on the account (cooling, needs-reauth, banned) do
// not use up the caller's MAX_ATTEMPTS (3) while untried accounts remain. The faulty accounts
// come first in the band, so the first call meets all five before the healthy one.
func TestFaultyAccountsNeverFailACall(t *testing.T) {
	t.Parallel()
	const (
		limited   = "sk-faulty-429-0001"
		unauth    = "sk-faulty-401-0002"
		banned    = "sk-faulty-403-0003"
		failing   = "sk-faulty-500-0004"
		cut       = "sk-faulty-cut-0005"
		healthy   = "sk-healthy-000006"
		callCount = 20
	)
	env := apptest.New(t)
	ch := env.Channel("mixed", []string{model}, limited, unauth, banned, failing, cut, healthy)
	env.Price(model, inPrice, outPrice)
	u := env.NewUser("alice", 1_000_000)
	for range callCount { // every time a faulty account is tried, it fails the same way
		env.Upstream.EnqueueFor(limited, fakeupstream.Reply{Status: 429, Header: map[string]string{"Retry-After": "600"}})
		env.Upstream.EnqueueFor(unauth, fakeupstream.Reply{Status: 401})
		env.Upstream.EnqueueFor(banned, fakeupstream.Reply{Status: 403,
			Body: `{"error":{"message":"Your account has been deactivated.","type":"invalid_request_error","code":"account_deactivated"}}`})
		env.Upstream.EnqueueFor(failing, fakeupstream.Reply{Status: 500})
		env.Upstream.EnqueueFor(cut, fakeupstream.Reply{Drop: true})
	}

	for i := range callCount {
		require.NoError(t, chat(env, u.Key), "call %d of %d", i+1, callCount)
	}

	tries := map[string]int{}
	for _, c := range credentials(env) {
		tries[c]++
	}
	require.Equal(t, callCount, tries[healthy], "every call was answered by the healthy account")
	for _, c := range []string{limited, unauth, banned} {
		require.Equal(t, 1, tries[c], "%s left rotation after its first failure", c)
	}
	// Bounded: the accounts that stay in rotation cost at most one extra request each per call.
	require.LessOrEqual(t, tries[failing]+tries[cut], 2*callCount)

	accs := accounts(t, env, ch)
	require.Equal(t, adminclient.AccountStatusNeedsReauth, accs["0002"].Status)
	require.Equal(t, adminclient.AccountStatusBanned, accs["0003"].Status)
	ls := logs(t, env, u.ID)
	require.Len(t, ls, callCount, "one usage record per call")
	for _, l := range ls {
		require.Equal(t, http.StatusOK, l.StatusCode)
	}
}
