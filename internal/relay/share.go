package relay

import (
	"context"
	"slices"
	"time"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// ShareLink is a share link as a call through it needs it. Its calls ride the link's hidden API
// key; a credential host, when set, checks each caller's authToken through the shareAuth hooks.
type ShareLink struct {
	ID, Name string
	// Models are the models the link allows (empty: all).
	Models   []string
	authHost string
	key      string // the hidden API key its calls are charged through
}

// allows reports whether the link lets callers use model.
func (l *ShareLink) allows(model string) bool {
	return len(l.Models) == 0 || slices.Contains(l.Models, model)
}

// NeedsToken reports whether callers must present an authToken (a credential host decides).
func (l *ShareLink) NeedsToken() bool { return l.authHost != "" }

// Share reads a link and checks it may be used now. Links are read on every call (one
// primary-key query) so limits and status changes apply at once on every instance.
func (rl *Relay) Share(ctx context.Context, id string) (*ShareLink, error) {
	row, err := rl.d.Queries.ShareLinkGet(ctx, rl.d.Pool, id)
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return nil, fault.Code(fault.NotFound, "share_not_found", "share link not found")
		}
		return nil, err
	}
	switch {
	case row.Status != "active":
		return nil, fault.Code(fault.Forbidden, "share_disabled", "this share link is disabled")
	case row.ExpiresAt != nil && !row.ExpiresAt.After(time.Now()):
		return nil, fault.Code(fault.Forbidden, "share_expired", "this share link has expired")
	case row.RequestLimit != nil && row.RequestCount >= *row.RequestLimit:
		return nil, fault.Code(fault.RateLimited, "share_limit_reached", "this share link has answered all the questions it allows")
	case row.QuotaLimit != nil && row.UsedQuota >= *row.QuotaLimit:
		return nil, fault.Code(fault.RateLimited, "share_limit_reached", "this share link has used all the quota it allows")
	}
	key, err := rl.d.Box.Open(row.KeyEnc)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	return &ShareLink{ID: row.ID, Name: row.Name, authHost: row.AuthHost, key: key, Models: row.Models}, nil
}

// ShareInit opens a share link for a caller: when the link has a credential host, its
// shareAuth/init decides on the caller's token.
func (rl *Relay) ShareInit(ctx context.Context, l *ShareLink, token string) error {
	if l.authHost == "" {
		return nil
	}
	if token == "" {
		return fault.Code(fault.Unauthorized, "missing_auth_token", "this share link needs an authToken")
	}
	if rl.d.Hooks == nil {
		return fault.New(fault.Unavailable, "share link checks are not available")
	}
	v, err := rl.d.Hooks.ShareInit(ctx, l.authHost, token)
	if err != nil {
		return err
	}
	if !v.OK {
		return fault.Code(fault.Forbidden, "share_auth_refused", v.Message)
	}
	return nil
}

// ShareCaller is the caller of a call through a share link: the link's hidden key, with the
// caller's authToken as the credential the hooks see.
func (rl *Relay) ShareCaller(ctx context.Context, l *ShareLink, token string) (Caller, error) {
	if l.authHost != "" && token == "" {
		return Caller{}, fault.Code(fault.Unauthorized, "missing_auth_token", "this share link needs an authToken as the bearer token")
	}
	cl, err := rl.keys.lookup(ctx, l.key, time.Now())
	if err != nil {
		if fe, ok := fault.As(err); ok && fe.Kind == fault.Unauthorized {
			return Caller{}, fault.Code(fault.Forbidden, "share_disabled", "this share link's key is disabled")
		}
		return Caller{}, err
	}
	cl.Token = token
	return cl, nil
}
