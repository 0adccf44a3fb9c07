// Package accounts lets users contribute their own upstream accounts (docs/accounts.md): a pasted
// credential is checked with one cheap upstream call, sealed, and joins the channel the
// administrator designates for its provider, dedicated to its contributor or shared with the
// pool. It also keeps each user's choice between their dedicated and the shared accounts.
package accounts

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/egress"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/oauth"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/settings"
	"github.com/poolgate/poolgate/internal/store"
)

// MaxPerUser bounds the accounts one user may contribute.
const MaxPerUser = 100

// checkTimeout bounds the upstream call that checks a credential.
const checkTimeout = 20 * time.Second

// The account priorities a user may choose.
const (
	DedicatedFirst = "dedicated_first"
	SharedFirst    = "shared_first"
)

// Error codes of this package (openapi/common/schemas.yaml).
const (
	codeRejected    = "credential_rejected"
	codeNotOffered  = "provider_not_offered"
	msgNotFound     = "no such account of yours"
	msgDuplicate    = "this credential is already in the pool"
	msgUnreachable  = "the upstream could not be reached to check the credential"
	redactedMarker  = "[redacted]"
	maxNicknameRune = 64
)

// Service manages contributed accounts.
type Service struct {
	DB       *pgxpool.Pool
	Queries  *db.Queries
	Box      *secretbox.Box
	Settings *settings.Store
	// Pool checks credentials (its model listing) and tells live cooldowns.
	Pool *pool.Pool
	Bus  *bus.Bus
	// Ephemeral keeps OAuth onboarding states; Refresher exchanges their codes; OAuthProviders
	// override DefaultOAuthProviders().
	Ephemeral      ephemeralStore
	Refresher      *oauth.Refresher
	OAuthProviders map[string]OAuthProvider
	// CallbackURL is Poolgate's OAuth callback ({PUBLIC_URL}/api/user/accounts/oauth/callback),
	// the redirect of providers without an out-of-band one.
	CallbackURL string
	// Guard refuses a proxy on a loopback, private or link-local address unless
	// ALLOW_PRIVATE_OUTBOUND allows it (nil: no check).
	Guard *netguard.Guard
}

// Input is a new contributed account.
type Input struct {
	Provider, Credential, Nickname string
	Shared                         bool
	// Proxy is the account's outbound proxy URL ("": its channel's, if any).
	Proxy string
}

// Change is what a contributor may change; nil fields stay.
type Change struct {
	Credential, Nickname, Proxy *string
	Shared                      *bool
}

// Usage is what other users' calls have used of an account.
type Usage struct{ Calls, Tokens, Quota int64 }

// Account is a contributed account as its contributor sees it.
type Account struct {
	ID             int64
	Provider       string
	Nickname       string
	Shared         bool
	CredentialTail string
	// State is active, cooling, needs_reauth, banned or disabled; ClearsIn is set while cooling.
	State, StateReason string
	ClearsIn           *time.Duration
	UsageByOthers      Usage
	// Proxy is the account's own outbound proxy without its credentials ("" for none).
	Proxy     string
	proxy     string // as stored, with its credentials
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Providers lists the providers accounts can be contributed for, sorted.
func (s *Service) Providers() []string {
	m := s.Settings.Get().ContributedAccountChannels
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// List returns the accounts a user contributed, oldest first.
func (s *Service) List(ctx context.Context, user int64) ([]Account, error) {
	return s.list(ctx, user, nil)
}

func (s *Service) list(ctx context.Context, user int64, id *int64) ([]Account, error) {
	rows, err := s.Queries.ContributedAccountList(ctx, s.DB, db.ContributedAccountListParams{ContributorUserID: user, ID: id})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	now := s.Pool.Now()
	out := make([]Account, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.view(ctx, r, now))
	}
	return out, nil
}

func (s *Service) get(ctx context.Context, user, id int64) (*Account, error) {
	list, err := s.list(ctx, user, &id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fault.New(fault.NotFound, msgNotFound)
	}
	return &list[0], nil
}

// view turns a row into what the owner sees: a cooldown the pool runs (this instance's view, which
// the bus keeps in step) or one recorded in the database makes an active account cooling.
func (s *Service) view(ctx context.Context, r *db.ContributedAccountListRow, now time.Time) Account {
	a := Account{ID: r.ID, Provider: deref(r.Provider), Nickname: r.Nickname, Shared: r.OwnerUserID == nil,
		CredentialTail: r.CredentialTail, State: r.Status, StateReason: r.StatusReason,
		UsageByOthers: Usage{Calls: r.OthersCalls, Tokens: r.OthersTokens, Quota: r.OthersQuota},
		CreatedAt:     r.CreatedAt, UpdatedAt: r.UpdatedAt, Proxy: egress.Redact(r.ProxyURL), proxy: r.ProxyURL}
	if a.State != pool.StatusActive && a.State != "cooling" {
		return a
	}
	until := s.Pool.StateOf(ctx, r.ID, nil).CoolingUntil
	if r.CoolingUntil != nil && r.CoolingUntil.After(until) {
		until = *r.CoolingUntil
	}
	if until.After(now) {
		d := until.Sub(now)
		a.State, a.ClearsIn = "cooling", &d
	} else {
		a.State = pool.StatusActive
	}
	return a
}

// Create checks a credential upstream, seals it and adds the account to the provider's channel.
func (s *Service) Create(ctx context.Context, user int64, in Input) (*Account, error) {
	return s.create(ctx, user, in, "")
}

// create is Create with the tail shown for the credential ("" for its own).
func (s *Service) create(ctx context.Context, user int64, in Input, tail string) (*Account, error) {
	ch, err := s.channel(ctx, in.Provider)
	if err != nil {
		return nil, err
	}
	cred := strings.TrimSpace(in.Credential)
	proxy, err := s.normalizeProxy(ctx, in.Proxy)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, ch, cred, effective(proxy, ch.ProxyURL)); err != nil {
		return nil, err
	}
	nick, err := nickname(in.Nickname)
	if err != nil {
		return nil, err
	}
	if tail == "" {
		tail = secretbox.Tail(cred)
	}
	p := db.ContributedAccountCreateParams{ChannelID: ch.ID, Name: "contributed:" + in.Provider,
		CredentialEnc: s.Box.Seal(cred), CredentialTail: tail, CredentialHash: hash(cred),
		Nickname: nick, ContributorUserID: &user, Provider: &in.Provider, Type: &ch.Type, ProxyURL: proxy}
	if !in.Shared {
		p.OwnerUserID = &user
	}
	var id int64
	err = store.WithTx(ctx, s.DB, func(tx pgx.Tx) error {
		n, err := s.Queries.ContributedAccountCount(ctx, tx, &user)
		if err != nil {
			return store.Translate(err, "")
		}
		if n >= MaxPerUser {
			return fault.New(fault.Conflict, fmt.Sprintf("a user may contribute at most %d accounts", MaxPerUser))
		}
		id, err = s.Queries.ContributedAccountCreate(ctx, tx, p)
		return translateWrite(err)
	})
	if err != nil {
		return nil, err
	}
	s.Bus.Publish(ctx, bus.TopicRoutes, "")
	return s.get(ctx, user, id)
}

// Update changes a contributed account; a new credential is checked first.
func (s *Service) Update(ctx context.Context, user, id int64, c Change) (*Account, error) {
	cur, err := s.get(ctx, user, id)
	if err != nil {
		return nil, err
	}
	p := db.ContributedAccountUpdateParams{ID: id, ContributorUserID: &user}
	if c.Nickname != nil {
		nick, err := nickname(*c.Nickname)
		if err != nil {
			return nil, err
		}
		p.Nickname = &nick
	}
	if c.Shared != nil {
		p.SetOwner = true
		if !*c.Shared {
			p.OwnerUserID = &user
		}
	}
	proxy := cur.proxy
	if c.Proxy != nil {
		v, err := s.normalizeProxy(ctx, *c.Proxy)
		if err != nil {
			return nil, err
		}
		p.ProxyURL = &v
		if v != egress.Redact(cur.proxy) {
			proxy = v
		}
	}
	if c.Credential != nil {
		ch, err := s.channel(ctx, cur.Provider)
		if err != nil {
			return nil, err
		}
		cred := strings.TrimSpace(*c.Credential)
		if err := s.check(ctx, ch, cred, effective(proxy, ch.ProxyURL)); err != nil {
			return nil, err
		}
		tail := secretbox.Tail(cred)
		p.CredentialEnc, p.CredentialTail, p.CredentialHash = s.Box.Seal(cred), &tail, hash(cred)
	}
	if _, err := s.Queries.ContributedAccountUpdate(ctx, s.DB, p); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fault.New(fault.NotFound, msgNotFound)
		}
		return nil, translateWrite(err)
	}
	s.Bus.Publish(ctx, bus.TopicRoutes, "")
	return s.get(ctx, user, id)
}

// Delete removes a contributed account and its credential.
func (s *Service) Delete(ctx context.Context, user, id int64) error {
	n, err := s.Queries.ContributedAccountDelete(ctx, s.DB, db.ContributedAccountDeleteParams{ID: id, ContributorUserID: &user})
	if err != nil {
		return store.Translate(err, "")
	}
	if n == 0 {
		return fault.New(fault.NotFound, msgNotFound)
	}
	s.Bus.Publish(ctx, bus.TopicRoutes, "")
	return nil
}

// Priority reads a user's account priority.
func (s *Service) Priority(ctx context.Context, user int64) (string, error) {
	v, err := s.Queries.UserAccountPriority(ctx, s.DB, user)
	return v, store.Translate(err, "user not found")
}

// SetPriority records a user's account priority and tells every instance's gateway.
func (s *Service) SetPriority(ctx context.Context, user int64, priority string) (string, error) {
	if priority != DedicatedFirst && priority != SharedFirst {
		return "", fault.New(fault.Invalid, "account_priority: must be dedicated_first or shared_first")
	}
	v, err := s.Queries.UserSetAccountPriority(ctx, s.DB, db.UserSetAccountPriorityParams{ID: user, AccountPriority: priority})
	if err != nil {
		return "", store.Translate(err, "user not found")
	}
	s.Bus.Publish(ctx, bus.TopicUser, fmt.Sprint(user))
	return v, nil
}

// channel resolves the channel a provider's contributed accounts join.
func (s *Service) channel(ctx context.Context, provider string) (*db.ContributedAccountChannelRow, error) {
	id, ok := s.Settings.Get().ContributedAccountChannels[provider]
	if !ok {
		return nil, fault.Code(fault.Unprocessable, codeNotOffered,
			fmt.Sprintf("accounts cannot be contributed for provider %q; offered: %s", provider, strings.Join(s.Providers(), ", ")))
	}
	ch, err := s.Queries.ContributedAccountChannel(ctx, s.DB, id)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && ch.Status != pool.StatusActive) {
		return nil, fault.Code(fault.Unprocessable, codeNotOffered,
			fmt.Sprintf("the channel for provider %q is not available; ask an administrator", provider))
	}
	if err != nil {
		return nil, store.Translate(err, "")
	}
	return ch, nil
}

// check makes one cheap upstream call with the credential (the provider's model list). A refusal
// is a 422 naming the upstream's complaint, with the credential redacted from it. It goes through
// the account's outbound proxy, as its calls will.
func (s *Service) check(ctx context.Context, ch *db.ContributedAccountChannelRow, cred, proxy string) error {
	if len(cred) < 8 {
		return fault.New(fault.Invalid, "credential: minimum string length is 8")
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	_, err := s.Pool.FetchModels(cctx, ch.Type, ch.BaseURL, cred, proxy)
	if err == nil {
		return nil
	}
	var st *pool.StatusError
	if errors.As(err, &st) {
		msg := fmt.Sprintf("the upstream refused the credential (HTTP %d)", st.Status)
		if m := strings.ReplaceAll(st.Message, cred, redactedMarker); m != "" {
			msg += ": " + m
		}
		return fault.Code(fault.Unprocessable, codeRejected, msg)
	}
	return fault.Wrap(fault.Upstream, msgUnreachable, err)
}

// effective is the proxy an account's requests use: its own, else its channel's.
func effective(own, channel string) string {
	if own != "" {
		return own
	}
	return channel
}

func nickname(n string) (string, error) {
	n = strings.TrimSpace(n)
	if len([]rune(n)) > maxNicknameRune {
		return "", fault.New(fault.Invalid, "nickname: maximum string length is 64")
	}
	return n, nil
}

func hash(cred string) []byte {
	h := sha256.Sum256([]byte(cred))
	return h[:]
}

func translateWrite(err error) error {
	if err = store.Translate(err, msgNotFound); fault.Is(err, fault.Conflict) {
		return fault.New(fault.Conflict, msgDuplicate)
	}
	return err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// normalizeProxy checks a proxy URL (egress.Normalize) and its address (the outbound guard; a
// host that does not resolve now is checked again when dialled) and returns the form stored.
func (s *Service) normalizeProxy(ctx context.Context, raw string) (string, error) {
	v, err := egress.Normalize(raw)
	if err != nil {
		return "", fault.New(fault.Invalid, err.Error())
	}
	if s.Guard != nil {
		if err := s.Guard.CheckProxy(ctx, v); err != nil && !errors.Is(err, netguard.ErrResolve) {
			return "", fault.New(fault.Invalid, "proxy_url: "+err.Error()+" (see ALLOW_PRIVATE_OUTBOUND)")
		}
	}
	return v, nil
}
