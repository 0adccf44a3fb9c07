// Package hookserver is Poolgate's reference hook server: the strict server generated from
// openapi/hooks.yaml, implementing the seeds' example policies. Integrators start from it
// (cmd/poolgate-hooks runs it); Poolgate's tests run it over real HTTP.
//
// Policies:
//   - login check: the token must be one of the configured tokens; its grant is the one configured
//     with it;
//   - audit: per (user token, model) COUNT/DURATION limits such as `60/3h`, `DISABLED` models
//     (403 `model_disabled`), 429 `model_cap_exceeded` with `clears_in`; questions containing a
//     blocked word are refused (403 `content_refused`);
//   - shareAuth: the token must equal the configured share token; questions containing a blocked
//     word are refused ("内容不合规");
//   - notify, shareAuth/finish and account events are recorded;
//   - remote accounts: the configured tokens are served as a `tokens` wrapper.
//
// When a secret is configured every request's X-Poolgate-Signature is verified first (method,
// path, Authorization, Carid and body; remote-source fetches included), and refused with 401 when
// it does not match or is more than five minutes old.
package hookserver

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/api/hooks"
	"github.com/poolgate/poolgate/internal/hooksig"
)

// Limit is a model's audit rule: at most Count calls per Window, or Disabled.
type Limit struct {
	Count    int
	Window   time.Duration
	Disabled bool
}

// Config is the reference server's policy.
type Config struct {
	// Secret verifies X-Poolgate-Signature when set.
	Secret []byte
	// LoginTokens maps each accepted login token to the grant it gets ("" for none).
	LoginTokens map[string]string
	// ShareToken is the only authToken shareAuth accepts (the seed's `fastgpt`).
	ShareToken string
	// BlockedWords refuse audit and shareAuth/start questions that contain one of them.
	BlockedWords []string
	// Limits are per model; the key "*" applies to models without their own rule.
	Limits map[string]Limit
	// RemoteTokens are served by the remote account payload endpoint.
	RemoteTokens []string
	// Now overrides the clock.
	Now func() time.Time
}

// Received is one recorded notification.
type Received struct {
	// Kind is "notify", "share_finish" or "account_event".
	Kind string
	// Token is the bearer token (notify) or body token (share_finish).
	Token string
	// CarID is the Carid header (notify).
	CarID string
	// Notify is the notify body; ShareFinish the shareAuth/finish body.
	Notify      *hooksapi.ChatEvent
	ShareFinish *hooksapi.ShareAuthFinishRequest
	// AccountEvent is the account event body.
	AccountEvent *hooksapi.AccountEvent
}

// Server implements the hooks contract.
type Server struct {
	cfg Config

	mu       sync.Mutex
	calls    map[string][]time.Time // "token\x00model" → call times within the window
	received []Received
	audits   []hooksapi.ChatEvent
}

var _ hooksapi.StrictServerInterface = (*Server)(nil)

// New makes a server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, calls: map[string][]time.Time{}}
}

// Handler is the HTTP handler: signature check, then the generated routes.
func (s *Server) Handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if len(s.cfg.Secret) > 0 {
		e.Use(s.verify)
	}
	e.Use(withBearer)
	hooksapi.RegisterHandlers(e, hooksapi.NewStrictHandler(s, nil))
	return e
}

// withBearer hands the Authorization bearer token to the strict handlers through the context.
func withBearer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), bearerKey{}, tok)))
		}
		return next(c)
	}
}

// verify refuses requests whose signature does not match what was received.
func (s *Server) verify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := hooksig.VerifyRequest(s.cfg.Secret, c.Request(), 8<<20, s.cfg.Now()); err != nil {
			return c.String(http.StatusUnauthorized, "invalid signature")
		}
		return next(c)
	}
}

// Received returns the notifications recorded so far.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Audits returns the audit requests recorded so far.
func (s *Server) Audits() []hooksapi.ChatEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hooksapi.ChatEvent(nil), s.audits...)
}

// LoginCheck accepts the configured tokens with their grant.
func (s *Server) LoginCheck(_ context.Context, req hooksapi.LoginCheckRequestObject) (hooksapi.LoginCheckResponseObject, error) {
	grant, ok := s.cfg.LoginTokens[req.Body.Usertoken]
	if !ok {
		msg := "token not recognised"
		return hooksapi.LoginCheck200JSONResponse{Code: 0, Msg: &msg}, nil
	}
	msg := "success"
	out := hooksapi.LoginCheck200JSONResponse{Code: 1, Msg: &msg}
	if g := hooksapi.LoginDecisionGrant(grant); g.Valid() {
		out.Grant = &g
	}
	return out, nil
}

// AuditCheck applies the blocked words and the per-model limits.
func (s *Server) AuditCheck(_ context.Context, req hooksapi.AuditCheckRequestObject) (hooksapi.AuditCheckResponseObject, error) {
	ev := req.Body
	s.mu.Lock()
	s.audits = append(s.audits, *ev)
	s.mu.Unlock()
	if w := s.blocked(lastUserText(ev.Messages)); w != "" {
		msg := "the question contains a blocked word: " + w
		return hooksapi.AuditCheck403JSONResponse{Error: hooksapi.ContentRefused, Message: &msg}, nil
	}
	lim, ok := s.cfg.Limits[ev.Model]
	if !ok {
		lim, ok = s.cfg.Limits["*"]
	}
	if !ok {
		return hooksapi.AuditCheck200TextResponse("ok"), nil
	}
	if lim.Disabled {
		msg := ev.Model + " is disabled"
		return hooksapi.AuditCheck403JSONResponse{Error: hooksapi.ModelDisabled, Message: &msg}, nil
	}
	now := s.cfg.Now()
	key := ev.UserToken + "\x00" + ev.Model
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.calls[key][:0]
	for _, t := range s.calls[key] {
		if now.Sub(t) < lim.Window {
			kept = append(kept, t)
		}
	}
	if len(kept) >= lim.Count {
		s.calls[key] = kept
		clears := int(lim.Window.Seconds() - now.Sub(kept[0]).Seconds() + 0.999)
		msg := fmt.Sprintf("limit of %d per %s reached for %s", lim.Count, lim.Window, ev.Model)
		return hooksapi.AuditCheck429JSONResponse{Error: hooksapi.ModelCapExceeded, Message: &msg, ClearsIn: &clears}, nil
	}
	s.calls[key] = append(kept, now)
	return hooksapi.AuditCheck200TextResponse("ok"), nil
}

// NotifySend records the notification.
func (s *Server) NotifySend(ctx context.Context, req hooksapi.NotifySendRequestObject) (hooksapi.NotifySendResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, Received{Kind: "notify", Token: bearerOf(ctx), CarID: req.Params.Carid, Notify: req.Body})
	return hooksapi.NotifySend200TextResponse("ok"), nil
}

// AccountEventSend records the account event.
func (s *Server) AccountEventSend(_ context.Context, req hooksapi.AccountEventSendRequestObject) (hooksapi.AccountEventSendResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, Received{Kind: "account_event", AccountEvent: req.Body})
	return hooksapi.AccountEventSend200TextResponse("ok"), nil
}

// ShareAuthInit admits only the configured share token.
func (s *Server) ShareAuthInit(_ context.Context, req hooksapi.ShareAuthInitRequestObject) (hooksapi.ShareAuthInitResponseObject, error) {
	if req.Body.Token != s.cfg.ShareToken {
		return hooksapi.ShareAuthInit200JSONResponse(refuse("身份错误")), nil
	}
	return hooksapi.ShareAuthInit200JSONResponse{Success: true}, nil
}

// ShareAuthStart admits the configured share token's questions without blocked words.
func (s *Server) ShareAuthStart(_ context.Context, req hooksapi.ShareAuthStartRequestObject) (hooksapi.ShareAuthStartResponseObject, error) {
	if req.Body.Token != s.cfg.ShareToken {
		return hooksapi.ShareAuthStart200JSONResponse(refuse("身份错误")), nil
	}
	if s.blocked(req.Body.Question) != "" {
		return hooksapi.ShareAuthStart200JSONResponse(refuse("内容不合规")), nil
	}
	return hooksapi.ShareAuthStart200JSONResponse{Success: true}, nil
}

// ShareAuthFinish records the report.
func (s *Server) ShareAuthFinish(_ context.Context, req hooksapi.ShareAuthFinishRequestObject) (hooksapi.ShareAuthFinishResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, Received{Kind: "share_finish", Token: req.Body.Token, ShareFinish: req.Body})
	return hooksapi.ShareAuthFinish200JSONResponse{}, nil
}

// RemoteSourcePayloadGet serves the configured tokens.
func (s *Server) RemoteSourcePayloadGet(_ context.Context, _ hooksapi.RemoteSourcePayloadGetRequestObject) (hooksapi.RemoteSourcePayloadGetResponseObject, error) {
	var p hooksapi.RemoteAccountPayload
	if err := p.FromRemoteAccountPayload0(hooksapi.RemoteAccountPayload0{Tokens: append([]string{}, s.cfg.RemoteTokens...)}); err != nil {
		return nil, err
	}
	return hooksapi.RemoteSourcePayloadGet200JSONResponse(p), nil
}

func refuse(msg string) hooksapi.ShareAuthVerdict {
	return hooksapi.ShareAuthVerdict{Success: false, Message: &msg}
}

func (s *Server) blocked(text string) string {
	for _, w := range s.cfg.BlockedWords {
		if w != "" && strings.Contains(text, w) {
			return w
		}
	}
	return ""
}

func lastUserText(msgs []hooksapi.ChatMessage) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Author.Role == hooksapi.ChatMessageAuthorRoleUser {
			return strings.Join(msgs[i].Content.Parts, "\n")
		}
	}
	return ""
}

type bearerKey struct{}

// bearerOf reads the bearer token withBearer put in the context.
func bearerOf(ctx context.Context) string {
	v, _ := ctx.Value(bearerKey{}).(string)
	return v
}

// ParseLimits reads `model=COUNT/DURATION` or `model=DISABLED` rules separated by commas, e.g.
// `gpt-4o=60/3h,gpt-4o-mini=DISABLED,*=100/1h`.
func ParseLimits(s string) (map[string]Limit, error) {
	out := map[string]Limit{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		model, rule, ok := strings.Cut(item, "=")
		if !ok || model == "" {
			return nil, fmt.Errorf("limit %q: want model=COUNT/DURATION or model=DISABLED", item)
		}
		if strings.EqualFold(rule, "DISABLED") {
			out[model] = Limit{Disabled: true}
			continue
		}
		cs, ds, ok := strings.Cut(rule, "/")
		n, err := strconv.Atoi(cs)
		d, derr := time.ParseDuration(ds)
		if !ok || err != nil || derr != nil || n < 0 || d <= 0 {
			return nil, fmt.Errorf("limit %q: want model=COUNT/DURATION such as gpt-4o=60/3h", item)
		}
		out[model] = Limit{Count: n, Window: d}
	}
	return out, nil
}
