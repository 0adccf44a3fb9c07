package billing

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/store"
)

// The usage batch is the one statement whose arguments grow with the rate of calls: twenty
// arrays of a few hundred elements each. pgx encodes them into buffers it drops after every
// statement above a few hundred bytes, and allocates per element on the way (about 2.3 KB and 8
// allocations per record, the largest source of garbage in the gateway under load). The recorder
// therefore encodes the arrays itself, in PostgreSQL's binary array format, into a buffer it
// keeps, and sends them with the generated statement (UsageSettle), prepared once per connection.

// settleStmt names the prepared usage statement on each connection; freshStmt the same statement
// without its ON CONFLICT clause (freshSQL).
const (
	settleStmt = "poolgate_usage_settle"
	freshStmt  = "poolgate_usage_settle_fresh"
)

// settleSQL is UsageSettle's text, taken from the generated query (sqlc keeps it unexported), so
// the statement is written once, in sql/queries/usage_logs.sql.
var settleSQL = sync.OnceValue(func() string {
	var c sqlCapture
	_, _ = db.New().UsageSettle(context.Background(), &c, db.UsageSettleParams{})
	return c.sql
})

// onConflict is UsageSettle's clause that skips a request id already recorded.
const onConflict = "\n    ON CONFLICT (request_id) DO NOTHING\n"

// freshSQL is UsageSettle without onConflict, for a batch none of whose request ids is recorded
// yet — nearly every batch: only a batch retried after an answer that did not arrive, or a
// journal's replay, holds ids already written. ON CONFLICT costs every row a speculative
// insertion (its unique index checked before and confirmed after the row is written): ~2.5 µs of
// the ~12 µs PostgreSQL spends on a usage row here. A batch that does hold a recorded id fails
// whole on the unique index, writing and charging nothing, and is then sent with the clause
// (execSettle). An empty string: the generated statement no longer holds the clause as written
// here, and every batch goes with UsageSettle as it is.
var freshSQL = sync.OnceValue(func() string {
	q := settleSQL()
	if strings.Count(q, onConflict) != 1 {
		return ""
	}
	return strings.Replace(q, onConflict, "\n", 1)
})

// requestIDKey is the unique index usage_logs.request_id is checked on.
const requestIDKey = "usage_logs_request_id_key"

// sqlCapture is a db.DBTX that records the statement it is asked to run and runs nothing.
type sqlCapture struct{ sql string }

var errCaptured = errors.New("billing: statement captured, not run")

func (c *sqlCapture) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	c.sql = sql
	return pgconn.CommandTag{}, errCaptured
}

func (c *sqlCapture) Query(_ context.Context, sql string, _ ...any) (pgx.Rows, error) {
	c.sql = sql
	return nil, errCaptured
}

func (c *sqlCapture) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	c.sql = sql
	return capturedRow{}
}

type capturedRow struct{}

func (capturedRow) Scan(...any) error { return errCaptured }

// PostgreSQL type OIDs of the elements and arrays UsageSettle takes.
const (
	oidBool, oidInt8, oidInt4, oidText, oidTimestamptz                          = 16, 20, 23, 25, 1184
	oidBoolArray, oidInt8Array, oidInt4Array, oidTextArray, oidTimestamptzArray = 1000, 1016, 1007, 1009, 1185
)

// settleColumns are UsageSettle's parameters in order: each array's element type and how a record
// gives its element. The prepared statement's parameter types are checked against them, so a
// change of the query that this list does not follow fails the first batch, loudly, rather than
// writing a column into another.
var settleColumns = []struct {
	array, elem uint32
	put         func(b []byte, r *Record) []byte
}{
	{oidTextArray, oidText, func(b []byte, r *Record) []byte { return putText(b, r.RequestID) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.UserID) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.APIKeyID) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.ChannelID) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.AccountID) }},
	{oidTextArray, oidText, func(b []byte, r *Record) []byte { return putText(b, r.Model) }},
	{oidTextArray, oidText, func(b []byte, r *Record) []byte { return putText(b, r.Endpoint) }},
	{oidBoolArray, oidBool, func(b []byte, r *Record) []byte { return putBool(b, r.Stream) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.PromptTokens) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.CompletionTokens) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.CachedTokens) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.CacheWrite5mTokens) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.CacheWrite1hTokens) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.ReasoningTokens) }},
	{oidInt8Array, oidInt8, func(b []byte, r *Record) []byte { return putInt8(b, r.Quota) }},
	{oidInt4Array, oidInt4, func(b []byte, r *Record) []byte { return putInt4(b, int64(r.StatusCode)) }},
	{oidInt4Array, oidInt4, func(b []byte, r *Record) []byte { return putInt4(b, r.Duration.Milliseconds()) }},
	{oidTimestamptzArray, oidTimestamptz, func(b []byte, r *Record) []byte { return putInt8(b, r.At.UnixMicro()-pgEpochMicros) }},
	{oidTextArray, oidText, func(b []byte, r *Record) []byte { return putText(b, r.UpstreamModel) }},
	{oidInt4Array, oidInt4, func(b []byte, r *Record) []byte { return putInt4(b, firstTokenMs(r)) }},
}

// pgEpochMicros is PostgreSQL's timestamp epoch (2000-01-01 UTC) in Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

// firstTokenMs is a record's first-token time for the usage row: -1 for none (the statement
// stores it as null), at least 1 ms otherwise.
func firstTokenMs(r *Record) int64 {
	if r.FirstToken <= 0 {
		return -1
	}
	return max(r.FirstToken.Milliseconds(), 1)
}

func putInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v)) //nolint:gosec // two's complement, as PostgreSQL reads it
}

// putInt4 clamps to int4: statuses and durations bounded by timeouts always fit.
func putInt4(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(int32(min(max(v, -1<<31), 1<<31-1)))) //nolint:gosec // clamped above
}

func putBool(b []byte, v bool) []byte {
	b = binary.BigEndian.AppendUint32(b, 1)
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func putText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s))) //nolint:gosec // bounded by the gateway's limits on ids and names
	return append(b, s...)
}

// settleWire encodes a batch's arguments into buffers reused from batch to batch.
type settleWire struct {
	buf  []byte
	ends []int
	vals [][]byte
}

var settleWires = sync.Pool{New: func() any { return new(settleWire) }}

// encode is recs as UsageSettle's parameters, in PostgreSQL's binary format (one-dimensional
// arrays without nulls); the slices are w's until its next encode.
func (w *settleWire) encode(recs []Record) [][]byte {
	w.buf, w.ends = w.buf[:0], w.ends[:0]
	for _, c := range settleColumns {
		w.buf = binary.BigEndian.AppendUint32(w.buf, 1) // dimensions
		w.buf = binary.BigEndian.AppendUint32(w.buf, 0) // no nulls
		w.buf = binary.BigEndian.AppendUint32(w.buf, c.elem)
		w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(len(recs))) //nolint:gosec // a batch's size
		w.buf = binary.BigEndian.AppendUint32(w.buf, 1)                 // lower bound
		for i := range recs {
			w.buf = c.put(w.buf, &recs[i])
		}
		w.ends = append(w.ends, len(w.buf))
	}
	w.vals = w.vals[:0]
	start := 0
	for _, end := range w.ends {
		w.vals = append(w.vals, w.buf[start:end:end])
		start = end
	}
	return w.vals
}

// binaryFormat: every parameter and result column in binary.
var binaryFormat = []int16{1}

// settleParamOIDs are the array types the statement must take, in order.
var settleParamOIDs = func() []uint32 {
	out := make([]uint32, len(settleColumns))
	for i, c := range settleColumns {
		out[i] = c.array
	}
	return out
}()

// settleResults: the count written in binary, the skipped request ids (text[]) in binary.
var settleResults = []int16{1, 1}

// execSettle runs UsageSettle for recs on one of pool's connections (prepared there once). It
// returns the request ids of the records skipped because their user no longer exists (the
// others are written, or were already).
func execSettle(ctx context.Context, pool *pgxpool.Pool, recs []Record) ([]string, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	w := settleWires.Get().(*settleWire) //nolint:forcetypeassert // the pool holds nothing else
	defer settleWires.Put(w)
	args := w.encode(recs)
	var res *pgconn.Result
	if q := freshSQL(); q != "" {
		res, err = runSettle(ctx, c.Conn(), freshStmt, q, args)
		if err != nil {
			return nil, err
		}
		if store.IsUniqueViolationOf(res.Err, requestIDKey) {
			res = nil // a request id already recorded: the batch again, skipping it
		}
	}
	if res == nil {
		if res, err = runSettle(ctx, c.Conn(), settleStmt, settleSQL(), args); err != nil {
			return nil, err
		}
	}
	if res.Err != nil {
		return nil, res.Err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 2 || len(res.Rows[0][0]) != 8 {
		return nil, errors.New("billing: unexpected answer to the usage statement")
	}
	return textArray(res.Rows[0][1])
}

// runSettle runs the usage statement q, prepared on conn as name (once per connection), with the
// encoded args.
func runSettle(ctx context.Context, conn *pgx.Conn, name, q string, args [][]byte) (*pgconn.Result, error) {
	sd, err := conn.Prepare(ctx, name, q)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(sd.ParamOIDs, settleParamOIDs) {
		return nil, fmt.Errorf("billing: the usage statement takes %v, the recorder encodes %v", sd.ParamOIDs, settleParamOIDs)
	}
	return conn.PgConn().ExecStatement(ctx, sd, args, binaryFormat, settleResults).Read(), nil
}

// textArray reads a one-dimensional text[] without nulls in PostgreSQL's binary format (nil: a
// null array).
func textArray(b []byte) ([]string, error) {
	bad := errors.New("billing: unexpected array in the usage statement's answer")
	if b == nil {
		return nil, nil
	}
	if len(b) < 12 {
		return nil, bad
	}
	dims := binary.BigEndian.Uint32(b)
	if dims == 0 {
		return nil, nil
	}
	if dims != 1 || len(b) < 20 {
		return nil, bad
	}
	n := int(binary.BigEndian.Uint32(b[12:]))
	b = b[20:]
	out := make([]string, 0, min(n, len(b)/4))
	for range n {
		if len(b) < 4 {
			return nil, bad
		}
		l := int(int32(binary.BigEndian.Uint32(b))) //nolint:gosec // a length, -1 for null
		if l < 0 || len(b) < 4+l {
			return nil, bad
		}
		out = append(out, string(b[4:4+l]))
		b = b[4+l:]
	}
	return out, nil
}
