// Package hook calls the third-party hooks of openapi/hooks.yaml (the whole contract: statuses,
// retries, bounds, what userToken holds) through the client generated from it: the login check
// (OAUTH_URL), the pre-chat audit (AUDIT_LIMIT_URL), the post-chat notification (NOTIFY_URL) and
// the share-link credential checks (shareAuth init/start/finish). Every request is signed with
// HOOK_SECRET when set (internal/hooksig); answers are read as JSON whatever their Content-Type;
// outbound addresses pass netguard. Notifications go through a durable PostgreSQL outbox
// (outbox.go).
package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/api/hooks"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/hooksig"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/secretbox"
)

// URLs are the hook URLs in effect; empty means not configured.
type URLs struct {
	OAuth, Audit, Notify string
	// AccountEvent receives account events (ACCOUNT_EVENT_URL).
	AccountEvent string
}

// Config configures the hooks.
type Config struct {
	// URLs returns the URLs in effect (settings over environment); read on every call.
	URLs func() URLs
	// Timeout bounds each hook request.
	Timeout time.Duration
	// FailOpen lets gateway calls through when the audit hook fails or times out.
	FailOpen bool
	// UserToken is what the audit and notify hooks receive as userToken (HOOK_USER_TOKEN):
	// UserTokenLogin (default), UserTokenKey, UserTokenHash or UserTokenUserID.
	UserToken string
	// QuotaPerUnit is the quota units one unit of the site's currency buys (the quota_per_unit
	// setting), for shareAuth/finish prices on FastGPT's scale; read on every report.
	QuotaPerUnit func() int64
	// Secret signs every request (X-Poolgate-Signature) when set.
	Secret []byte
	// CarID, NodeType and PlanType are sent with every login check.
	CarID, NodeType, PlanType string
	// Guard refuses private addresses; required.
	Guard *netguard.Guard
	// Transport overrides the guarded transport (tests); nil uses Guard.Transport().
	Transport http.RoundTripper
	// QueueSize bounds the notifications waiting to be written to the outbox.
	QueueSize int
	// RetryBase is the first retry delay of a notification; it doubles up to RetryMax, and a
	// notification is given up after GiveUpAfter.
	RetryBase, RetryMax, GiveUpAfter time.Duration
	// Poll is how often the outbox is checked for due notifications written by other instances.
	Poll time.Duration
	// Now overrides the clock.
	Now func() time.Time
}

// Service calls the hooks.
type Service struct {
	cfg  Config
	pool *pgxpool.Pool
	q    *db.Queries
	box  *secretbox.Box
	log  *slog.Logger
	http *http.Client

	tokens loginTokens

	queue chan pending
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// New makes the service; Run starts its outbox, Close drains it.
func New(cfg Config, pool *pgxpool.Pool, q *db.Queries, box *secretbox.Box, log *slog.Logger) *Service {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10000
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 2 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = 24 * time.Hour
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.URLs == nil {
		cfg.URLs = func() URLs { return URLs{} }
	}
	if cfg.QuotaPerUnit == nil {
		cfg.QuotaPerUnit = func() int64 { return DefaultQuotaPerUnit }
	}
	tr := cfg.Transport
	if tr == nil {
		tr = cfg.Guard.Transport()
	}
	return &Service{cfg: cfg, pool: pool, q: q, box: box, log: log, tokens: loginTokens{m: map[int64]cachedToken{}},
		http: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		queue: make(chan pending, cfg.QueueSize), wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// URLs returns the hook URLs in effect.
func (s *Service) URLs() URLs { return s.cfg.URLs() }

// CheckURL validates a hook URL an administrator wants to save: empty (off), or an absolute http
// or https URL that netguard allows.
func (s *Service) CheckURL(ctx context.Context, raw string) error {
	if raw == "" {
		return nil
	}
	if err := s.cfg.Guard.Check(ctx, raw); err != nil {
		return fault.Code(fault.Invalid, "invalid_hook_url", "hook URL refused: "+err.Error())
	}
	return nil
}

// client is a generated hooks client for server; when exact is set, every request goes to
// exactly that URL (the configured OAUTH_URL, AUDIT_LIMIT_URL or NOTIFY_URL, whatever its path).
func (s *Service) client(server string, exact bool) (*hooksapi.ClientWithResponses, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hook URL is not an absolute http(s) URL")
	}
	opts := []hooksapi.ClientOption{hooksapi.WithHTTPClient(s.http)}
	if exact {
		opts = append(opts, hooksapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			target := *u
			r.URL, r.Host = &target, u.Host
			return nil
		}))
	}
	return hooksapi.NewClientWithResponses(strings.TrimRight(server, "/"), opts...)
}

// sign signs a request once its URL and headers are final (it must be the last editor), when a
// secret is configured.
func (s *Service) sign(body []byte) hooksapi.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		if len(s.cfg.Secret) > 0 {
			hooksig.SignRequest(s.cfg.Secret, r, body, s.cfg.Now())
		}
		return nil
	}
}

func bearer(token string) hooksapi.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}
}

// Blocked is the audit hook refusing a call: the caller gets Status with Message.
type Blocked struct {
	Status  int
	Message string
}

func (b *Blocked) Error() string {
	return fmt.Sprintf("blocked by the audit hook (%d): %s", b.Status, b.Message)
}

// maxMessage bounds a hook's message shown to a caller.
const maxMessage = 4096

func message(body []byte, status int) string {
	if len(body) > maxMessage {
		body = body[:maxMessage]
	}
	if m := strings.TrimSpace(string(body)); m != "" {
		return m
	}
	return http.StatusText(status)
}

// Audit asks AUDIT_LIMIT_URL whether the call may proceed. It returns nil to proceed, a *Blocked
// when the hook answered anything but 200 (4xx statuses are kept; other statuses become 403), and
// a 503 fault when the hook failed (unreachable, timeout, 5xx) under the fail-closed policy.
func (s *Service) Audit(ctx context.Context, c Call) error {
	u := s.cfg.URLs().Audit
	if u == "" {
		return nil
	}
	carID := fmt.Sprint(c.AccountID)
	token := s.userToken(ctx, c)
	body, err := json.Marshal(newEvent(c, carID, token))
	if err != nil {
		return fmt.Errorf("encode audit event: %w", err)
	}
	err = s.audit(ctx, u, carID, token, body)
	var b *Blocked
	if err == nil || errors.As(err, &b) {
		return err
	}
	if s.cfg.FailOpen {
		s.log.Warn("audit hook failed; letting the call through (HOOK_FAIL_OPEN)", "error", err)
		return nil
	}
	return fault.Wrap(fault.Unavailable, "the audit service is unavailable; try again later", err)
}

func (s *Service) audit(ctx context.Context, u, carID, token string, body []byte) error {
	cl, err := s.client(u, true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := cl.AuditCheckWithBody(ctx, &hooksapi.AuditCheckParams{Carid: carID}, "application/json",
		bytes.NewReader(body), bearer(token), s.sign(body))
	if err != nil {
		return fmt.Errorf("call audit hook: %w", err)
	}
	answer := readAnswer(res)
	switch st := res.StatusCode; {
	case st == http.StatusOK:
		return nil
	case st >= 500:
		return fmt.Errorf("audit hook answered %d", st)
	case st >= 400:
		return &Blocked{Status: st, Message: message(answer, st)}
	default:
		return &Blocked{Status: http.StatusForbidden, Message: message(answer, st)}
	}
}

// Decision is the login check's answer.
type Decision struct {
	// OK is the seed's `code == 1`.
	OK bool
	// Msg is shown to the user when refused.
	Msg string
	// Grant is the tier granted (`ultra`, `pro`, `free`), or empty.
	Grant string
}

// ErrLoginOff means no OAUTH_URL is configured: local token sign-in applies.
var ErrLoginOff = errors.New("login hook not configured")

// Login asks OAUTH_URL whether token may sign in. It returns ErrLoginOff when no URL is
// configured. The answer is read as JSON whatever its Content-Type; a refusal carries the hook's
// own msg. A failing hook (unreachable, timeout, 5xx, unreadable answer) refuses.
func (s *Service) Login(ctx context.Context, token string) (Decision, error) {
	u := s.cfg.URLs().OAuth
	if u == "" {
		return Decision{}, ErrLoginOff
	}
	body, err := json.Marshal(hooksapi.LoginRequest{Usertoken: token, Carid: s.cfg.CarID,
		NodeType: s.cfg.NodeType, PlanType: s.cfg.PlanType})
	if err != nil {
		return Decision{}, fmt.Errorf("encode login check: %w", err)
	}
	cl, err := s.client(u, true)
	if err != nil {
		return Decision{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := cl.LoginCheckWithBody(ctx, &hooksapi.LoginCheckParams{}, "application/json", bytes.NewReader(body), s.sign(body))
	if err != nil {
		s.log.Warn("login hook failed", "error", err)
		return Decision{Msg: "the login service is unavailable; try again later"}, nil
	}
	answer := readAnswer(res)
	var a loginAnswer
	decoded := decodeLenient(answer, &a)
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	switch {
	case ok && decoded && a.Code.ok:
		d := Decision{OK: a.Code.n == 1, Msg: a.msg()}
		if g := hooksapi.LoginDecisionGrant(a.Grant); g.Valid() {
			d.Grant = string(g)
		}
		if !d.OK && d.Msg == "" {
			d.Msg = "sign-in refused"
		}
		return d, nil
	case decoded && a.msg() != "":
		s.log.Warn("login hook refused", "status", res.StatusCode)
		return Decision{Msg: a.msg()}, nil
	case !ok && plainMessage(answer) != "" && res.StatusCode < 500:
		return Decision{Msg: plainMessage(answer)}, nil
	default:
		s.log.Warn("login hook answered without a decision", "status", res.StatusCode)
		return Decision{Msg: "the login service refused the request"}, nil
	}
}
