package hook

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/poolgate/poolgate/gen/api/hooks"
)

// kindAccountEvent is the outbox kind of account events (ACCOUNT_EVENT_URL).
const kindAccountEvent = "account_event"

// accountEvent is an account event on its way to the outbox: what happened, to which account,
// when. The subject (account and owner) is read when the writer builds it.
type accountEvent struct {
	event   hooksapi.AccountEventEvent
	account int64
	at      time.Time
}

// AccountNeedsReauth queues the account.needs_reauth event of an account whose OAuth refresh the
// provider refused, for its owner to be told (ACCOUNT_EVENT_URL); nothing when no URL is
// configured. It does not touch the database on the caller's path.
func (s *Service) AccountNeedsReauth(account int64) {
	u := s.cfg.URLs().AccountEvent
	if u == "" {
		return
	}
	s.enqueue(pending{kind: kindAccountEvent, url: u,
		account: &accountEvent{event: hooksapi.AccountNeedsReauth, account: account, at: s.cfg.Now().UTC()}})
}

// buildAccountEvent reads the account and its contributor and makes the event's body.
func (s *Service) buildAccountEvent(ctx context.Context, e *accountEvent) (envelope, error) {
	row, err := s.q.AccountEventSubject(ctx, s.pool, e.account)
	if err != nil {
		return envelope{}, fmt.Errorf("read account %d: %w", e.account, err)
	}
	ev := hooksapi.AccountEvent{Event: e.event, OccurredAt: e.at,
		Id: "acct-" + strconv.FormatInt(e.account, 10) + "-" + stateOf(e.event) + "-" + strconv.FormatInt(e.at.Unix(), 10),
		Account: hooksapi.AccountEventAccount{Id: row.ID, ChannelId: row.ChannelID, Provider: row.Provider, Nickname: row.Nickname,
			Shared: row.Shared, CredentialTail: row.CredentialTail, State: hooksapi.AccountEventAccountState(stateOf(e.event)),
			StateReason: row.StatusReason}}
	if row.UserID != nil {
		ev.Owner = &hooksapi.AccountEventOwner{UserId: *row.UserID, Username: deref(row.Username), Email: row.Email}
	}
	body, err := json.Marshal(ev)
	return envelope{Body: body}, err
}

// stateOf is the account state an event leaves the account in.
func stateOf(hooksapi.AccountEventEvent) string { return string(hooksapi.NeedsReauth) }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
