package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/egress"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/secretbox"
)

// Defaults of the refresher.
const (
	// DefaultSkew is how long before expiry an access token is refreshed.
	DefaultSkew = 2 * time.Minute
	// lockTTL bounds a refresh lock whose holder died.
	lockTTL = 30 * time.Second
	// lockPoll is how often a waiter asks whether the lock holder finished.
	lockPoll = 20 * time.Millisecond
	// refreshTimeout bounds one token request.
	refreshTimeout = 20 * time.Second
	maxTokenAnswer = 1 << 20
)

// ReasonRefused is the status reason of an account whose refresh token the provider refused.
const ReasonRefused = "refresh_refused"

// ErrRefused is returned when the token endpoint refused the refresh (the account needs
// re-authorization).
var ErrRefused = errors.New("the provider refused to refresh the account's token; it needs re-authorization")

// StatusSetter takes an account out of rotation (the pool).
type StatusSetter interface {
	SetStatus(ctx context.Context, id int64, status, reason string)
}

// statusNeedsReauth is the pool's status of an account whose credential the provider refused.
const statusNeedsReauth = "needs_reauth"

// Refresher refreshes OAuth accounts' access tokens.
type Refresher struct {
	DB      *pgxpool.Pool
	Queries *db.Queries
	Box     *secretbox.Box
	// Redis makes the refresh single across instances (nil: in process only).
	Redis  redis.UniversalClient
	Prefix string
	// Guard checks token URLs (private addresses refused unless ALLOW_PRIVATE_OUTBOUND).
	Guard *netguard.Guard
	// Proxies sends the refresh of an account with an outbound proxy through it.
	Proxies *egress.Transports
	// Pool takes an account whose refresh was refused out of rotation (needs_reauth).
	Pool StatusSetter
	Bus  *bus.Bus
	Log  *slog.Logger
	Now  func() time.Time
	Skew time.Duration
	// OnRefused is told of an account whose refresh was refused (its owner is to be told).
	OnRefused func(ctx context.Context, account int64)

	mu       sync.Mutex
	latest   map[int64]*Credential // the newest credential this instance knows, by account
	inflight map[int64]*flight
	// Refreshes counts token requests made by this instance.
	Refreshes atomic.Int64
}

type flight struct {
	done chan struct{}
	tok  string
	err  error
}

func (r *Refresher) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Refresher) skew() time.Duration {
	if r.Skew > 0 {
		return r.Skew
	}
	return DefaultSkew
}

// Token returns the access token to use for account id, whose credential in the caller's
// snapshot is cred: the newest known while it is not about to expire, else a refreshed one.
// force (after the upstream refused the token) refreshes unless the token already changed.
func (r *Refresher) Token(ctx context.Context, id int64, cred *Credential, force bool) (string, error) {
	now, skew := r.now(), r.skew()
	r.mu.Lock()
	if l := r.latest[id]; l != nil {
		if l.AccessToken != cred.AccessToken && l.fresh(now, skew) && (force || l.ExpiresAt.After(cred.ExpiresAt)) {
			r.mu.Unlock()
			return l.AccessToken, nil // refreshed since the caller's snapshot was read
		}
		if l.AccessToken == cred.AccessToken {
			cred = l
		}
	}
	if !force && cred.fresh(now, skew) {
		r.mu.Unlock()
		return cred.AccessToken, nil
	}
	if r.inflight == nil {
		r.inflight = map[int64]*flight{}
	}
	f := r.inflight[id]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		r.inflight[id] = f
		r.mu.Unlock()
		f.tok, f.err = r.refresh(context.WithoutCancel(ctx), id, cred.AccessToken, force)
		r.mu.Lock()
		delete(r.inflight, id)
		r.mu.Unlock()
		close(f.done)
		return f.tok, f.err
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// refresh runs under the account's lock across instances: it rereads the stored credential (an
// instance may have refreshed it meanwhile) and asks the token endpoint only if it is still the
// stale one.
func (r *Refresher) refresh(ctx context.Context, id int64, stale string, force bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, lockTTL)
	defer cancel()
	unlock, err := r.lock(ctx, id)
	if err != nil {
		return "", err
	}
	defer unlock()
	row, err := r.Queries.AccountOAuthCredential(ctx, r.DB, id)
	if err != nil {
		return "", fmt.Errorf("read account %d credential: %w", id, err)
	}
	plain, err := r.Box.Open(row.CredentialEnc)
	if err != nil {
		return "", fmt.Errorf("open account %d credential: %w", id, err)
	}
	cur, ok := Parse(plain)
	if !ok {
		return "", fault.New(fault.Unavailable, "the account's credential is not an OAuth credential")
	}
	if cur.AccessToken != stale && cur.fresh(r.now(), r.skew()) || (!force && cur.fresh(r.now(), r.skew())) {
		r.remember(id, cur)
		return cur.AccessToken, nil
	}
	next, err := r.request(ctx, cur, row.ProxyURL)
	if errors.Is(err, ErrRefused) {
		r.refused(ctx, id)
		return "", err
	}
	if err != nil {
		return "", err
	}
	if err := r.Queries.AccountSetCredential(ctx, r.DB, db.AccountSetCredentialParams{ID: id,
		CredentialEnc: r.Box.Seal(next.Encode()), CredentialTail: secretbox.Tail(next.AccessToken)}); err != nil {
		return "", fmt.Errorf("store account %d credential: %w", id, err)
	}
	r.remember(id, next)
	if r.Bus != nil {
		r.Bus.Publish(ctx, bus.TopicRoutes, "")
	}
	return next.AccessToken, nil
}

func (r *Refresher) remember(id int64, c *Credential) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.latest == nil {
		r.latest = map[int64]*Credential{}
	}
	r.latest[id] = c
}

// lock takes the account's refresh lock in Redis, waiting while another instance holds it.
func (r *Refresher) lock(ctx context.Context, id int64) (func(), error) {
	if r.Redis == nil {
		return func() {}, nil
	}
	key := r.Prefix + "oauth:refresh:" + strconv.FormatInt(id, 10)
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		ok, err := r.Redis.SetNX(ctx, key, token, lockTTL).Result()
		if err != nil {
			return nil, fmt.Errorf("refresh lock: %w", err)
		}
		if ok {
			return func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := unlockScript.Run(uctx, r.Redis, []string{key}, token).Err(); err != nil && r.Log != nil {
					r.Log.Warn("release refresh lock", "account_id", id, "error", err)
				}
			}, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("refresh lock: %w", ctx.Err())
		case <-t.C:
		}
	}
}

var unlockScript = redis.NewScript(`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`)

// tokenAnswer is a token endpoint's answer (RFC 6749 §5.1).
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Error        string `json:"error"`
}

// request asks the token endpoint for a new access token with the refresh token.
func (r *Refresher) request(ctx context.Context, cur *Credential, proxy string) (*Credential, error) {
	if cur.RefreshToken == "" || cur.TokenURL == "" {
		return nil, ErrRefused
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cur.RefreshToken}}
	if cur.ClientID != "" {
		form.Set("client_id", cur.ClientID)
	}
	if cur.ClientSecret != "" {
		form.Set("client_secret", cur.ClientSecret)
	}
	ans, status, err := r.post(ctx, cur.TokenURL, form, proxy)
	if err != nil {
		return nil, err
	}
	r.Refreshes.Add(1)
	if status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden ||
		(status == http.StatusOK && ans.AccessToken == "") {
		return nil, ErrRefused
	}
	if status != http.StatusOK {
		return nil, fault.New(fault.Upstream, fmt.Sprintf("the token endpoint answered HTTP %d", status))
	}
	next := *cur
	next.AccessToken = ans.AccessToken
	if ans.RefreshToken != "" {
		next.RefreshToken = ans.RefreshToken
	}
	next.ExpiresAt = time.Time{}
	if ans.ExpiresIn > 0 {
		next.ExpiresAt = r.now().Add(time.Duration(ans.ExpiresIn) * time.Second).UTC()
	}
	return &next, nil
}

// Exchange trades an authorization code (form: the authorization_code grant with its PKCE
// verifier) for tokens at tokenURL and returns the credential to seal.
func (r *Refresher) Exchange(ctx context.Context, tokenURL, clientID string, form url.Values) (*Credential, error) {
	ans, status, err := r.post(ctx, tokenURL, form, "")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK || ans.AccessToken == "" {
		msg := fmt.Sprintf("the provider refused the authorization code (HTTP %d)", status)
		if ans.Error != "" {
			msg += ": " + ans.Error
		}
		return nil, fault.Code(fault.Unprocessable, "authorization_refused", msg)
	}
	c := &Credential{Type: TypeOAuth, AccessToken: ans.AccessToken, RefreshToken: ans.RefreshToken,
		TokenURL: tokenURL, ClientID: clientID}
	if ans.ExpiresIn > 0 {
		c.ExpiresAt = r.now().Add(time.Duration(ans.ExpiresIn) * time.Second).UTC()
	}
	return c, nil
}

// post sends a token request (form-encoded) and reads the JSON answer. The token URL is checked
// by the guard; the request goes through the account's proxy when it has one.
func (r *Refresher) post(ctx context.Context, tokenURL string, form url.Values, proxy string) (*tokenAnswer, int, error) {
	if r.Guard != nil {
		if err := r.Guard.Check(ctx, tokenURL); err != nil {
			return nil, 0, fault.Wrap(fault.Invalid, "token_url is not allowed", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, fault.Wrap(fault.Invalid, "token_url is not usable", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	direct := http.DefaultTransport
	if r.Guard != nil {
		direct = r.Guard.Transport()
	}
	client := &http.Client{Transport: direct, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if proxy != "" && r.Proxies != nil {
		client.Transport = r.Proxies.For(proxy, direct)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, 0, fault.Wrap(fault.Upstream, "the token endpoint could not be reached", err)
	}
	defer res.Body.Close()
	var ans tokenAnswer
	raw, _ := io.ReadAll(io.LimitReader(res.Body, maxTokenAnswer))
	_ = json.Unmarshal(raw, &ans)
	return &ans, res.StatusCode, nil
}

// refused marks the account needs_reauth (shown to its owner and administrators) and tells
// OnRefused.
func (r *Refresher) refused(ctx context.Context, id int64) {
	if r.Log != nil {
		r.Log.Warn("oauth refresh refused; account needs re-authorization", "account_id", id)
	}
	if r.Pool != nil {
		r.Pool.SetStatus(ctx, id, statusNeedsReauth, ReasonRefused)
	}
	if r.OnRefused != nil {
		r.OnRefused(ctx, id)
	}
}
