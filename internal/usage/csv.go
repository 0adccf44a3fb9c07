package usage

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/poolgate/poolgate/gen/db"
)

// CSVHeader is the export's header row.
var CSVHeader = []string{"id", "created_at", "request_id", "user_id", "api_key_id", "channel_id", "account_id",
	"model", "upstream_model", "endpoint", "stream", "status_code", "prompt_tokens", "completion_tokens",
	"cached_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens", "quota",
	"duration_ms", "first_token_ms"}

// flushEvery is how many rows are written between flushes to the client.
const flushEvery = 500

// WriteCSV writes every log matching f to w as CSV, newest first, flushing (when w is an
// http.Flusher-like writer with Flush) every few hundred rows so the answer streams.
func (r *Reader) WriteCSV(ctx context.Context, w io.Writer, f Filter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	flusher, _ := w.(interface{ Flush() })
	rec := make([]string, len(CSVHeader))
	n := 0
	err := r.Each(ctx, f, func(l *db.UsageLog) error {
		csvRecord(rec, l)
		if err := cw.Write(rec); err != nil {
			return err
		}
		if n++; n%flushEvery == 0 {
			cw.Flush()
			if flusher != nil {
				flusher.Flush()
			}
			return cw.Error()
		}
		return nil
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

func optInt(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

func csvRecord(rec []string, l *db.UsageLog) {
	ft := ""
	if l.FirstTokenMs != nil {
		ft = strconv.Itoa(int(*l.FirstTokenMs))
	}
	rec[0] = strconv.FormatInt(l.ID, 10)
	rec[1] = l.CreatedAt.UTC().Format(time.RFC3339Nano)
	rec[2] = cell(l.RequestID)
	rec[3] = strconv.FormatInt(l.UserID, 10)
	rec[4] = optInt(l.APIKeyID)
	rec[5] = optInt(l.ChannelID)
	rec[6] = optInt(l.AccountID)
	rec[7] = cell(l.Model)
	rec[8] = cell(l.UpstreamModel)
	rec[9] = cell(l.Endpoint)
	rec[10] = strconv.FormatBool(l.Stream)
	rec[11] = strconv.Itoa(int(l.StatusCode))
	rec[12] = strconv.FormatInt(l.PromptTokens, 10)
	rec[13] = strconv.FormatInt(l.CompletionTokens, 10)
	rec[14] = strconv.FormatInt(l.CachedTokens, 10)
	rec[15] = strconv.FormatInt(l.CacheWrite5mTokens, 10)
	rec[16] = strconv.FormatInt(l.CacheWrite1hTokens, 10)
	rec[17] = strconv.FormatInt(l.ReasoningTokens, 10)
	rec[18] = strconv.FormatInt(l.Quota, 10)
	rec[19] = strconv.Itoa(int(l.DurationMs))
	rec[20] = ft
}

// cell defuses spreadsheet formulas in caller-supplied text (a model name like `=HYPERLINK(...)`):
// a leading =, +, -, @, tab or carriage return gets a quote in front, as OWASP advises.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
