// Package usage reads the usage log: filtered pages with keyset cursors, CSV exports streamed in
// bounded memory, and statistics by time bucket or dimension. It serves the admin and user
// contracts alike (a user's view is the same filter with the user fixed).
package usage

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// Filter selects usage logs; nil fields do not filter.
type Filter struct {
	UserID, APIKeyID, ChannelID, AccountID *int64
	Model, RequestID                       *string
	// StatusClass is "2xx" (below 400), "4xx" or "5xx".
	StatusClass *string
	// From is inclusive, To exclusive.
	From, To *time.Time
}

// Reader reads the usage log.
type Reader struct {
	DB      db.DBTX
	Queries *db.Queries
	// Now is the clock for default time ranges (nil: time.Now).
	Now func() time.Time
}

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func statusClass(s *string) (*int32, error) {
	if s == nil {
		return nil, nil
	}
	var c int32
	switch *s {
	case "2xx":
		c = 2
	case "4xx":
		c = 4
	case "5xx":
		c = 5
	default:
		return nil, fault.New(fault.Invalid, "status_class must be 2xx, 4xx or 5xx")
	}
	return &c, nil
}

// Check reports a filter that can match nothing because it is malformed.
func (f *Filter) Check() error {
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return fault.New(fault.Invalid, "from must be before to")
	}
	_, err := statusClass(f.StatusClass)
	return err
}

func (f *Filter) params(before *int64, limit int32) (db.UsageLogListParams, error) {
	if err := f.Check(); err != nil {
		return db.UsageLogListParams{}, err
	}
	sc, err := statusClass(f.StatusClass)
	if err != nil {
		return db.UsageLogListParams{}, err
	}
	return db.UsageLogListParams{UserID: f.UserID, APIKeyID: f.APIKeyID, Model: f.Model, ChannelID: f.ChannelID,
		AccountID: f.AccountID, RequestID: f.RequestID, StatusClass: sc, FromAt: f.From, ToAt: f.To,
		BeforeID: before, Lim: limit}, nil
}

// ParseCursor reads a page cursor (the id the next page starts below); "" or nil is the first page.
func ParseCursor(s *string) (*int64, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(*s, 10, 64)
	if err != nil || id < 1 {
		return nil, fault.New(fault.Invalid, "cursor is not one this server gave")
	}
	return &id, nil
}

// Page is one page of logs and the cursor of the next ("" on the last page).
type Page struct {
	Items []*db.UsageLog
	Next  string
}

// List returns up to limit logs matching f, newest first, below the cursor.
func (r *Reader) List(ctx context.Context, f Filter, cursor *string, limit int) (*Page, error) {
	before, err := ParseCursor(cursor)
	if err != nil {
		return nil, err
	}
	// One more than asked tells whether a next page exists without a count.
	p, err := f.params(before, int32(min(max(limit, 1), 1000))+1) //nolint:gosec // bounded above
	if err != nil {
		return nil, err
	}
	rows, err := r.Queries.UsageLogList(ctx, r.DB, p)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := &Page{Items: rows}
	if len(rows) > limit {
		out.Items = rows[:limit]
		out.Next = strconv.FormatInt(rows[limit-1].ID, 10)
	}
	return out, nil
}

// exportBatch is how many rows an export holds in memory at once.
const exportBatch = 2000

// Each calls fn for every log matching f, newest first, reading exportBatch rows at a time, so
// memory stays bounded whatever the number of rows. It stops at fn's first error.
func (r *Reader) Each(ctx context.Context, f Filter, fn func(*db.UsageLog) error) error {
	var before *int64
	for {
		p, err := f.params(before, exportBatch)
		if err != nil {
			return err
		}
		rows, err := r.Queries.UsageLogList(ctx, r.DB, p)
		if err != nil {
			return store.Translate(err, "")
		}
		for _, l := range rows {
			if err := fn(l); err != nil {
				return err
			}
		}
		if len(rows) < exportBatch {
			return nil
		}
		last := rows[len(rows)-1].ID
		before = &last
	}
}

// StatsQuery selects and groups usage for statistics.
type StatsQuery struct {
	Filter
	// GroupBy is day, hour, model, channel, user or key ("" means day).
	GroupBy string
	// TZ is the IANA zone days and hours are cut in ("" means UTC).
	TZ string
}

// DefaultStatsRange is the range of a statistics query without `from`.
const DefaultStatsRange = 7 * 24 * time.Hour

// Stats is the answer to a StatsQuery with its resolved range.
type Stats struct {
	From, To time.Time
	TZ       string
	GroupBy  string
	Rows     []*db.UsageStatsRow
}

var errTZ = errors.New("unknown time zone")

// Stats aggregates the usage matching q.
func (r *Reader) Stats(ctx context.Context, q StatsQuery) (*Stats, error) {
	out := &Stats{TZ: q.TZ, GroupBy: q.GroupBy}
	if out.TZ == "" {
		out.TZ = "UTC"
	}
	if out.GroupBy == "" {
		out.GroupBy = "day"
	}
	switch out.GroupBy {
	case "day", "hour", "model", "channel", "user", "key":
	default:
		return nil, fault.New(fault.Invalid, "group_by must be day, hour, model, channel, user or key")
	}
	if _, err := time.LoadLocation(out.TZ); err != nil || out.TZ == "Local" {
		return nil, fault.Wrap(fault.Invalid, "tz: unknown time zone", errors.Join(errTZ, err))
	}
	out.To = r.now()
	if q.To != nil {
		out.To = *q.To
	}
	out.From = out.To.Add(-DefaultStatsRange)
	if q.From != nil {
		out.From = *q.From
	}
	if !out.From.Before(out.To) {
		return nil, fault.New(fault.Invalid, "from must be before to")
	}
	rows, err := r.Queries.UsageStats(ctx, r.DB, db.UsageStatsParams{GroupBy: out.GroupBy, Tz: out.TZ,
		FromAt: out.From, ToAt: out.To, UserID: q.UserID, Model: q.Model, ChannelID: q.ChannelID, APIKeyID: q.APIKeyID})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out.Rows = rows
	return out, nil
}
