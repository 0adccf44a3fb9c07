package wire

import (
	"github.com/oapi-codegen/nullable"

	"github.com/poolgate/poolgate/gen/api/common"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/usage"
)

// UsageLog converts a usage log row.
func UsageLog(l *db.UsageLog) commonapi.UsageLog {
	var ft *int
	if l.FirstTokenMs != nil {
		v := int(*l.FirstTokenMs)
		ft = &v
	}
	return commonapi.UsageLog{
		Id: l.ID, RequestId: l.RequestID, UserId: l.UserID, ApiKeyId: Null(l.APIKeyID), ChannelId: Null(l.ChannelID),
		AccountId: Null(l.AccountID), Model: l.Model, UpstreamModel: l.UpstreamModel, Endpoint: l.Endpoint, Stream: l.Stream,
		PromptTokens: l.PromptTokens, CompletionTokens: l.CompletionTokens, CachedTokens: l.CachedTokens,
		CacheWrite5mTokens: l.CacheWrite5mTokens, CacheWrite1hTokens: l.CacheWrite1hTokens,
		ReasoningTokens: l.ReasoningTokens, Quota: l.Quota, StatusCode: int(l.StatusCode),
		DurationMs: int(l.DurationMs), FirstTokenMs: Null(ft), CreatedAt: l.CreatedAt,
	}
}

// UsageLogPage converts a page of usage logs.
func UsageLogPage(p *usage.Page) commonapi.UsageLogPage {
	out := commonapi.UsageLogPage{Items: make([]commonapi.UsageLog, 0, len(p.Items)), NextCursor: nullable.NewNullNullable[string]()}
	for _, l := range p.Items {
		out.Items = append(out.Items, UsageLog(l))
	}
	if p.Next != "" {
		out.NextCursor.Set(p.Next)
	}
	return out
}

func latency(timed bool, p50, p95, p99 int32) commonapi.StatsLatency {
	if !timed {
		none := nullable.NewNullNullable[int]()
		return commonapi.StatsLatency{P50: none, P95: none, P99: none}
	}
	return commonapi.StatsLatency{P50: nullable.NewNullableWithValue(int(p50)), P95: nullable.NewNullableWithValue(int(p95)),
		P99: nullable.NewNullableWithValue(int(p99))}
}

// Stats converts usage statistics.
func Stats(s *usage.Stats) commonapi.Stats {
	out := commonapi.Stats{From: s.From, To: s.To, Tz: s.TZ, GroupBy: commonapi.StatsGroupBy(s.GroupBy),
		Items: make([]commonapi.StatsRow, 0, len(s.Rows))}
	for _, r := range s.Rows {
		out.Items = append(out.Items, commonapi.StatsRow{
			Key: r.Bucket, Calls: r.Calls, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
			CachedTokens: r.CachedTokens, CacheWrite5mTokens: r.CacheWrite5mTokens, CacheWrite1hTokens: r.CacheWrite1hTokens,
			ReasoningTokens: r.ReasoningTokens, Quota: r.Quota,
			Errors: commonapi.StatsErrors{Total: r.Errors, RateLimited: r.ErrorsRateLimited, Auth: r.ErrorsAuth,
				Client: r.ErrorsClient, Upstream: r.ErrorsUpstream, Server: r.ErrorsServer},
			LatencyMs:    latency(r.Calls > 0, r.LatencyP50Ms, r.LatencyP95Ms, r.LatencyP99Ms),
			FirstTokenMs: latency(r.StreamsTimed > 0, r.FirstTokenP50Ms, r.FirstTokenP95Ms, r.FirstTokenP99Ms),
		})
	}
	return out
}

// Announcement converts an announcement row.
func Announcement(a *db.Announcement) commonapi.Announcement {
	return commonapi.Announcement{Id: a.ID, Title: a.Title, Content: a.Content, StartsAt: Null(a.StartsAt), EndsAt: Null(a.EndsAt),
		Audience: commonapi.AnnouncementAudience(a.Audience), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// Announcements converts a list of announcement rows.
func Announcements(rows []*db.Announcement) commonapi.AnnouncementList {
	out := commonapi.AnnouncementList{Items: make([]commonapi.Announcement, 0, len(rows))}
	for _, a := range rows {
		out.Items = append(out.Items, Announcement(a))
	}
	return out
}
