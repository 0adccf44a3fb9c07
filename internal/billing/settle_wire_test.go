package billing

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSettleColumns: every field of a record lands in its own column of the usage row (the
// recorder encodes the statement's arrays itself, so a column out of order would show here), ids
// of 0 and no first token are stored as null, the time to the microsecond, and a batch sent
// again writes and charges nothing.
func TestSettleColumns(t *testing.T) {
	t.Parallel()
	b := setupJournal(t)
	ctx := context.Background()
	var key, ch, acct int64
	require.NoError(t, b.pool.QueryRow(ctx, `WITH k AS (INSERT INTO api_keys (user_id, name, key_hash, key_hint) VALUES ($1, 'k', 'h', 'x') RETURNING id),
		c AS (INSERT INTO channels (name, type, base_url) VALUES ('c', 'openai', 'http://u') RETURNING id),
		a AS (INSERT INTO accounts (channel_id, credential_enc, credential_tail) SELECT id, 'e', 't' FROM c RETURNING id)
		SELECT (SELECT id FROM k), (SELECT id FROM c), (SELECT id FROM a)`, b.user).Scan(&key, &ch, &acct))
	at := time.Date(2026, 12, 6, 21, 45, 1, 123456789, time.UTC)
	full := Record{RequestID: "col-1", UserID: b.user, APIKeyID: key, ChannelID: ch, AccountID: acct, Model: "gpt-x", Endpoint: "messages",
		Stream: true, PromptTokens: 101, CompletionTokens: 202, CachedTokens: 33, CacheWrite5mTokens: 4, CacheWrite1hTokens: 5,
		ReasoningTokens: 66, Quota: 777, StatusCode: 201, Duration: 1234 * time.Millisecond, At: at, UpstreamModel: "up-x",
		FirstToken: 89 * time.Millisecond}
	bare := Record{RequestID: "col-2", UserID: b.user, Model: "m", Endpoint: "chat", StatusCode: 502, At: at.Add(-time.Hour),
		FirstToken: 300 * time.Microsecond}
	r := NewRecorder(b.pool, b.q, nil, RecorderConfig{})
	for range 2 {
		require.NoError(t, r.settle(ctx, []Record{full, bare}))
	}

	type row struct {
		user                                             int64
		key, channel, account                            *int64
		model, endpoint, upstream                        string
		stream                                           bool
		prompt, completion, cached, w5m, w1h, reason, qt int64
		status, dur                                      int32
		created                                          time.Time
		first                                            *int32
	}
	read := func(id string) row {
		var x row
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT user_id, api_key_id, channel_id, account_id, model, endpoint, upstream_model, stream,
			prompt_tokens, completion_tokens, cached_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, quota,
			status_code, duration_ms, created_at, first_token_ms FROM usage_logs WHERE request_id = $1`, id).Scan(&x.user, &x.key, &x.channel,
			&x.account, &x.model, &x.endpoint, &x.upstream, &x.stream, &x.prompt, &x.completion, &x.cached, &x.w5m, &x.w1h, &x.reason,
			&x.qt, &x.status, &x.dur, &x.created, &x.first))
		return x
	}
	ptr := func(v int64) *int64 { return &v }
	ms := func(v int32) *int32 { return &v }
	got := read("col-1")
	got.created = got.created.UTC()
	require.Equal(t, row{user: b.user, key: ptr(key), channel: ptr(ch), account: ptr(acct), model: "gpt-x", endpoint: "messages",
		upstream: "up-x", stream: true, prompt: 101, completion: 202, cached: 33, w5m: 4, w1h: 5, reason: 66, qt: 777, status: 201,
		dur: 1234, created: at.Truncate(time.Microsecond), first: ms(89)}, got)
	got = read("col-2")
	got.created = got.created.UTC()
	require.Equal(t, row{user: b.user, model: "m", endpoint: "chat", status: 502, created: at.Add(-time.Hour).Truncate(time.Microsecond),
		first: ms(1)}, got, "zero ids are null; a first token under 1 ms counts 1")

	var n, balance, used, calls, keyUsed int64
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM usage_logs), u.balance, u.used_quota, u.request_count,
		(SELECT used_quota FROM api_keys WHERE id = $2) FROM users u WHERE u.id = $1`, b.user, key).Scan(&n, &balance, &used, &calls, &keyUsed))
	require.Equal(t, []int64{2, 1000000 - 777, 777, 1, 777}, []int64{n, balance, used, calls, keyUsed},
		"charged once though sent twice; the 502 is not a call counted")
}

// TestSettlePartlyRecorded: a batch holding one request id already recorded and one new writes
// and charges the new one only (the statement without ON CONFLICT fails whole on the recorded id,
// then the batch goes again with it), and the statement without the clause is derived from the
// generated one (a change of the query's text that loses it shows here, not as a slower recorder).
func TestSettlePartlyRecorded(t *testing.T) {
	t.Parallel()
	require.NotEmpty(t, freshSQL(), "UsageSettle no longer holds %q as written", onConflict)
	require.NotContains(t, freshSQL(), "ON CONFLICT")
	b := setupJournal(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 11, 30, 0, 0, time.UTC)
	rec := func(id string, quota int64) Record {
		return Record{RequestID: id, UserID: b.user, Model: "m", Endpoint: "chat", StatusCode: 200, Quota: quota, At: at}
	}
	r := NewRecorder(b.pool, b.q, nil, RecorderConfig{})
	require.NoError(t, r.settle(ctx, []Record{rec("part-1", 100)}))
	require.NoError(t, r.settle(ctx, []Record{rec("part-2", 20), rec("part-1", 100), rec("part-3", 3)}))
	var n, balance, calls int64
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM usage_logs), u.balance, u.request_count FROM users u WHERE u.id = $1`,
		b.user).Scan(&n, &balance, &calls))
	require.Equal(t, []int64{3, 1000000 - 123, 3}, []int64{n, balance, calls}, "each request id written and charged once")
}
