package wire

import (
	"github.com/poolgate/poolgate/gen/api/common"
	"github.com/poolgate/poolgate/internal/auth"
)

// Sessions converts a user's live sessions, marking current (the caller's session id, "" for
// none); a session's secret never leaves.
func Sessions(list []auth.Session, current string) commonapi.SessionList {
	out := commonapi.SessionList{Items: make([]commonapi.SessionInfo, 0, len(list))}
	for _, s := range list {
		out.Items = append(out.Items, commonapi.SessionInfo{Id: s.ID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(),
			ExpiresAt: s.ExpiresAt.UTC(), Ip: s.IP, UserAgent: s.UserAgent, Method: s.Method, Current: current != "" && s.ID == current})
	}
	return out
}
