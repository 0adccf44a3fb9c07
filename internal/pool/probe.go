package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/egress"
	"github.com/poolgate/poolgate/internal/oauth"
	"github.com/poolgate/poolgate/internal/provider"
	"github.com/poolgate/poolgate/internal/provider/openai"
)

// probeBatch bounds the accounts probed per tick.
const probeBatch = 50

// ErrNoAccount is returned by a channel check when the channel has no usable account.
var ErrNoAccount = errors.New("the channel has no active account")

// ErrProxy is wrapped by errors of requests whose outbound proxy could not be reached or refused
// the connection (the message names the proxy by host only).
var ErrProxy = errors.New("the outbound proxy could not be reached or refused the connection")

// FetchModels lists the models an upstream serves (its provider's model list URL below the base
// URL, with or without the API version there, and its auth): OpenAI-compatible and Anthropic
// `data[].id`, Gemini `models[].name` without "models/". An answer other than 200 is an error
// carrying the status. The request goes through proxy (an outbound proxy URL; "" for direct).
func (p *Pool) FetchModels(ctx context.Context, typ, baseURL, credential, proxy string) ([]string, error) {
	credential = accessToken(credential)
	ad := adapterOf(typ)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ad.ModelsURL(baseURL), nil)
	if err != nil {
		return nil, err
	}
	ad.SetHeaders(req.Header, nil, credential)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Poolgate/0.1")
	res, err := p.client(proxy).Do(req)
	if err != nil {
		if egress.IsProxyError(err) {
			return nil, fmt.Errorf("proxy %s unreachable: %w", egress.Redact(proxy), ErrProxy)
		}
		return nil, fmt.Errorf("upstream unreachable: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("read model list: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, &StatusError{Status: res.StatusCode, Message: upstreamMessage(body)}
	}
	out := ad.ModelIDs(body)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// adapterOf is the adapter of a channel type; an unknown type speaks OpenAI's protocol (the
// OpenAI-compatible providers).
func adapterOf(typ string) provider.Adapter {
	if ad, ok := provider.ForChannel(typ); ok {
		return ad
	}
	return openai.Adapter{}
}

// accessToken is what authenticates an account: an OAuth credential's access token, else the
// credential itself (an API key).
func accessToken(credential string) string {
	if c, ok := oauth.Parse(credential); ok {
		return c.AccessToken
	}
	return credential
}

// StatusError is an upstream answer other than 200 to a probe or model listing. Message is the
// upstream's own complaint (its error message), which may echo what was sent: callers redact it.
type StatusError struct {
	Status  int
	Message string
}

// upstreamMessage reads an error body's message: OpenAI's, Claude's and Gemini's `error.message`,
// a bare string `error`, or `message`; bounded to 300 bytes.
func upstreamMessage(body []byte) string {
	var m string
	for _, path := range []string{"error.message", "error", "message"} {
		if r := gjson.GetBytes(body, path); r.Type == gjson.String && r.Str != "" {
			m = r.Str
			break
		}
	}
	if len(m) > 300 {
		m = strings.ToValidUTF8(m[:300], "") + "…"
	}
	return m
}

func (e *StatusError) Error() string { return fmt.Sprintf("upstream answered HTTP %d", e.Status) }

// Run runs the pool's periodic jobs until ctx ends: probing accounts out of rotation and
// checking status monitors. Each tick runs on one instance only (a PostgreSQL advisory lock).
func (p *Pool) Run(ctx context.Context) {
	if p.d.DB == nil {
		return
	}
	tick := min(p.cfg.ProbeInterval, 10*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.RunJobs(ctx); err != nil && ctx.Err() == nil {
				p.warn(ctx, "pool jobs", err)
			}
			p.rounds.Add(1)
		}
	}
}

// Rounds is how many rounds of the periodic jobs Run has finished on this instance, whether it
// ran them or another instance held the lock: a round started after a change has seen it.
func (p *Pool) Rounds() int64 { return p.rounds.Load() }

// RunJobs runs one round of the periodic jobs if no other instance is running them.
func (p *Pool) RunJobs(ctx context.Context) error {
	conn, err := p.d.DB.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	got, err := p.d.Queries.PoolJobLock(ctx, conn)
	if err != nil || !got {
		return err
	}
	defer func() {
		if err := p.d.Queries.PoolJobUnlock(context.WithoutCancel(ctx), conn); err != nil {
			p.warn(ctx, "release pool job lock", err)
		}
	}()
	return errors.Join(p.probeAccounts(ctx), p.checkMonitors(ctx))
}

// probeAccounts probes accounts needing re-authentication or disabled after failures, and puts
// those that pass back in rotation. Banned accounts wait for an administrator.
func (p *Pool) probeAccounts(ctx context.Context) error {
	now := p.now()
	rows, err := p.d.Queries.AccountListProbe(ctx, p.d.DB, db.AccountListProbeParams{
		Before: now.Add(-p.cfg.ProbeInterval), Lim: probeBatch})
	if err != nil {
		return fmt.Errorf("list accounts to probe: %w", err)
	}
	changed := false
	for _, a := range rows {
		if err := p.d.Queries.AccountProbed(ctx, p.d.DB, db.AccountProbedParams{ID: a.ID, At: now}); err != nil {
			return fmt.Errorf("record probe: %w", err)
		}
		cred, err := p.d.Box.Open(a.CredentialEnc)
		if err != nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = p.FetchModels(pctx, a.Type, a.BaseURL, cred, a.ProxyURL)
		cancel()
		if err != nil {
			continue
		}
		n, err := p.d.Queries.AccountSetStatus(ctx, p.d.DB, db.AccountSetStatusParams{ID: a.ID, Status: StatusActive,
			Reason: "", OnlyStatus: &a.Status})
		if err != nil {
			return fmt.Errorf("re-enable account: %w", err)
		}
		if n > 0 {
			changed = true
			p.state(a.ID).clear()
			if p.d.Log != nil {
				p.d.Log.InfoContext(ctx, "account back in rotation after a passing probe", "account_id", a.ID, "was", a.Status)
			}
		}
	}
	if changed && p.d.Bus != nil {
		p.d.Bus.Publish(ctx, bus.TopicRoutes, "")
	}
	return nil
}

// checkMonitors checks the monitors whose interval has passed.
func (p *Pool) checkMonitors(ctx context.Context) error {
	due, err := p.d.Queries.StatusMonitorListDue(ctx, p.d.DB, p.now())
	if err != nil {
		return fmt.Errorf("list due monitors: %w", err)
	}
	for _, m := range due {
		if _, err := p.CheckMonitor(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// CheckMonitor checks a monitor's channel now with one of its accounts and records the result:
// the upstream's model list must answer, and for a monitor naming a model, list it and answer one
// real minimal completion to it (TestCall).
func (p *Pool) CheckMonitor(ctx context.Context, m *db.StatusMonitor) (*db.StatusMonitor, error) {
	start := time.Now()
	msg := "ok"
	up := false
	t, err := p.d.Queries.ChannelProbeTarget(ctx, p.d.DB, m.ChannelID)
	switch {
	case err != nil:
		msg = ErrNoAccount.Error()
	default:
		cred, oerr := p.d.Box.Open(t.CredentialEnc)
		if oerr != nil {
			msg = "the account's credential cannot be decrypted"
			break
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		models, ferr := p.FetchModels(cctx, t.Type, t.BaseURL, cred, t.ProxyURL)
		switch {
		case ferr != nil:
			msg = ferr.Error()
		case m.Model == "":
			up = true
		case !slices.Contains(models, m.Model):
			msg = "model " + m.Model + " is not listed by the upstream"
		default: // one real minimal completion, as an administrator's test call sends
			r := p.TestCall(cctx, t.Type, t.BaseURL, cred, t.ProxyURL, m.Model)
			if up, msg = r.OK, r.Error; up {
				msg = "ok"
			}
		}
	}
	latency := int32(min(time.Since(start).Milliseconds(), 1<<30)) //nolint:gosec // bounded above
	out, err := p.d.Queries.StatusMonitorRecord(ctx, p.d.DB, db.StatusMonitorRecordParams{ID: m.ID, Up: up,
		LatencyMs: latency, Message: msg, CheckedAt: p.now()})
	if err != nil {
		return nil, fmt.Errorf("record monitor check: %w", err)
	}
	return out, nil
}
