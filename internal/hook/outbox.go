package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/poolgate/poolgate/gen/api/hooks"
	"github.com/poolgate/poolgate/gen/db"
)

// Outbox kinds.
const (
	kindNotify      = "notify"
	kindShareFinish = "share_finish"
)

// pending is a notification on its way to the outbox. The caller's goroutine only copies what
// it needs into one and queues it; the writer builds, seals and inserts it in batches.
type pending struct {
	kind string
	url  string
	// call is the call notified (its Body a copy); res what it used and cost.
	call Call
	res  Result
	// question, answer, maxTokens and quotaPerUnit complete a share_finish report.
	question     string
	answer       string
	maxTokens    *int64
	quotaPerUnit int64
	// account is an account event (kindAccountEvent).
	account *accountEvent
}

// envelope is what the outbox stores (sealed): the request's credentials and body.
type envelope struct {
	Token string          `json:"token"`
	CarID string          `json:"car_id,omitempty"`
	Body  json.RawMessage `json:"body"`
}

// Notify queues the NOTIFY_URL notification of a successful call; it does nothing when no URL is
// configured. It never touches the database: a background writer does.
func (s *Service) Notify(c Call, r Result) {
	u := s.cfg.URLs().Notify
	if u == "" {
		return
	}
	c.Body = bytes.Clone(c.Body)
	s.enqueue(pending{kind: kindNotify, url: u, call: c, res: r})
}

// ShareReport is an answered share-link question, for {host}/shareAuth/finish.
type ShareReport struct {
	// Host is the link's credential-check host; Token the caller's authToken.
	Host, Token string
	// RequestID is the call's id: the report's `id`, the same on every retry.
	RequestID string
	// Body is the caller's request (for completeMessages); ShareFinish copies it.
	Body []byte
	// Question is the last user message; Answer the assistant's answer text (bounded by the
	// gateway); Model the requested model.
	Question, Answer, Model string
	// MaxTokens is the caller's completion token limit, when it set one.
	MaxTokens *int64
	// Result is what the answer used and cost.
	Result Result
}

// ShareFinish queues the {host}/shareAuth/finish report of an answered share-link question.
func (s *Service) ShareFinish(r ShareReport) {
	if r.Host == "" {
		return
	}
	s.enqueue(pending{kind: kindShareFinish, url: r.Host, question: r.Question, answer: r.Answer, maxTokens: r.MaxTokens,
		quotaPerUnit: s.cfg.QuotaPerUnit(), res: r.Result,
		call: Call{RequestID: r.RequestID, Token: r.Token, Share: true, Model: r.Model, Body: bytes.Clone(r.Body)}})
}

func (s *Service) enqueue(p pending) {
	select {
	case s.queue <- p:
	case <-s.done:
		s.log.Error("hook outbox closed; notification dropped", "kind", p.kind)
	}
}

// Wake makes this instance's delivery loop look for due rows now (e.g. after an administrator
// requeued one); other instances find it on their next poll.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run starts the outbox writer and the delivery loop; they stop at Close.
func (s *Service) Run(ctx context.Context) {
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.writer() }()
	go func() { defer s.wg.Done(); s.deliverer(ctx) }()
}

// Close writes every queued notification to the outbox and stops delivering; undelivered
// notifications stay in the outbox for the next instance.
func (s *Service) Close() {
	s.once.Do(func() { close(s.done) })
	s.wg.Wait()
	s.http.CloseIdleConnections()
}

const writeBatch = 256

func (s *Service) writer() {
	batch := make([]pending, 0, writeBatch)
	for {
		select {
		case p := <-s.queue:
			batch = append(batch[:0], p)
		drain:
			for len(batch) < writeBatch {
				select {
				case p := <-s.queue:
					batch = append(batch, p)
				default:
					break drain
				}
			}
			s.write(batch)
		case <-s.done:
			for {
				batch = batch[:0]
				for len(batch) < writeBatch {
					select {
					case p := <-s.queue:
						batch = append(batch, p)
						continue
					default:
					}
					break
				}
				if len(batch) == 0 {
					return
				}
				s.write(batch)
			}
		}
	}
}

// write inserts a batch into the outbox (one statement), retrying a failing database a few times
// before giving up on the batch.
func (s *Service) write(batch []pending) {
	var kinds, urls []string
	var reqs [][]byte
	for i := range batch {
		p := &batch[i]
		if p.url == "" {
			continue
		}
		env, err := s.build(p)
		if err != nil {
			s.log.Error("build hook notification", "kind", p.kind, "error", err)
			continue
		}
		sealed, err := json.Marshal(env)
		if err != nil {
			s.log.Error("encode hook notification", "kind", p.kind, "error", err)
			continue
		}
		kinds, urls, reqs = append(kinds, p.kind), append(urls, p.url), append(reqs, s.box.Seal(string(sealed)))
	}
	for attempt := 0; ; attempt++ {
		err := s.insert(kinds, urls, reqs)
		if err == nil {
			break
		}
		if attempt == 4 {
			s.log.Error("hook outbox write failed; notifications dropped", "count", len(kinds), "error", err)
			return
		}
		s.log.Warn("hook outbox write failed; retrying", "error", err)
		time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond)
	}
	if len(kinds) > 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func (s *Service) insert(kinds, urls []string, reqs [][]byte) error {
	if len(kinds) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.q.HookOutboxInsert(ctx, s.pool, db.HookOutboxInsertParams{Kinds: kinds, Urls: urls, Requests: reqs}); err != nil {
		return fmt.Errorf("insert outbox: %w", err)
	}
	return nil
}

// build makes what the outbox keeps of a notification: the credentials and the body to send.
// The notify's userToken is resolved here, off the caller's path (it may read the database).
func (s *Service) build(p *pending) (envelope, error) {
	switch p.kind {
	case kindAccountEvent:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return s.buildAccountEvent(ctx, p.account)
	case kindNotify:
		token := s.userToken(context.Background(), p.call)
		carID := strconv.FormatInt(p.call.AccountID, 10)
		ev := newEvent(p.call, carID, token)
		r := p.res
		ev.Usage = &hooksapi.ChatUsage{InputTokens: r.PromptTokens, OutputTokens: r.CompletionTokens,
			CachedTokens: r.CachedTokens, CacheWrite5mTokens: r.CacheWrite5mTokens, CacheWrite1hTokens: r.CacheWrite1hTokens,
			ReasoningTokens: r.ReasoningTokens}
		ev.Charge = &r.Quota
		body, err := json.Marshal(ev)
		return envelope{Token: token, CarID: carID, Body: body}, err
	default:
		name := "AI Chat"
		price := SharePrice(p.res.Quota, p.quotaPerUnit)
		tokens := p.res.PromptTokens + p.res.CompletionTokens
		msgs, _ := completeMessages(p.call.Body, p.answer)
		quotes := []map[string]any{}
		body, err := json.Marshal(hooksapi.ShareAuthFinishRequest{Token: p.call.Token, Id: p.call.RequestID,
			ResponseData: []hooksapi.ShareAuthModule{{ModuleName: name, Model: &p.call.Model, Price: &price, Tokens: &tokens,
				Question: &p.question, Answer: &p.answer, MaxToken: p.maxTokens, QuoteList: &quotes, CompleteMessages: &msgs}}})
		return envelope{Token: p.call.Token, Body: body}, err
	}
}

const claimBatch = 16

// keepDelivered is how long delivered rows (metadata only) stay for the admin view.
const keepDelivered = 7 * 24 * time.Hour

func (s *Service) deliverer(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	var purged time.Time
	for {
		if now := s.cfg.Now(); now.Sub(purged) > time.Hour {
			purged = now
			if _, err := s.q.HookOutboxPurgeDelivered(ctx, s.pool, now.Add(-keepDelivered)); err != nil && ctx.Err() == nil {
				s.log.Warn("purge delivered notifications", "error", err)
			}
		}
		if n := s.deliverDue(ctx); n == claimBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// deliverDue claims due notifications (FOR UPDATE SKIP LOCKED: one instance per row) and
// delivers them concurrently; it returns how many it claimed.
func (s *Service) deliverDue(ctx context.Context) int {
	now := s.cfg.Now()
	lease := (s.cfg.Timeout + 10*time.Second).Seconds()
	rows, err := s.q.HookOutboxClaim(ctx, s.pool, db.HookOutboxClaimParams{Now: &now, LeaseSeconds: lease, Lim: claimBatch})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("claim hook notifications", "error", err)
		}
		return 0
	}
	var wg sync.WaitGroup
	for _, r := range rows {
		wg.Add(1)
		go func() { defer wg.Done(); s.deliverRow(context.WithoutCancel(ctx), r) }()
	}
	wg.Wait()
	return len(rows)
}

func (s *Service) deliverRow(ctx context.Context, r *db.HookOutbox) {
	err := s.deliver(ctx, r)
	now := s.cfg.Now()
	if err == nil {
		if derr := s.q.HookOutboxDelivered(ctx, s.pool, db.HookOutboxDeliveredParams{ID: r.ID, Now: &now}); derr != nil {
			s.log.Warn("mark notification delivered", "id", r.ID, "error", derr)
		}
		return
	}
	delay := s.cfg.RetryBase << min(r.Attempts-1, 20)
	if delay > s.cfg.RetryMax || delay <= 0 {
		delay = s.cfg.RetryMax
	}
	dead := now.Sub(r.RetryFrom) > s.cfg.GiveUpAfter
	if dead {
		s.log.Error("hook notification given up", "id", r.ID, "kind", r.Kind, "attempts", r.Attempts, "error", err)
	} else {
		s.log.Warn("hook notification failed; will retry", "id", r.ID, "kind", r.Kind, "attempts", r.Attempts,
			"retry_in", delay, "error", err)
	}
	msg := SanitizeError(err.Error())
	if uerr := s.q.HookOutboxRetry(ctx, s.pool, db.HookOutboxRetryParams{ID: r.ID, NextAt: now.Add(delay),
		LastError: msg, Dead: dead}); uerr != nil {
		s.log.Warn("reschedule notification", "id", r.ID, "error", uerr)
	}
}

// deliver sends one notification; only a 2xx answer counts as delivered.
func (s *Service) deliver(ctx context.Context, r *db.HookOutbox) error {
	plain, err := s.box.Open(r.RequestEnc)
	if err != nil {
		return fmt.Errorf("open notification: %w", err)
	}
	var env envelope
	if err := json.Unmarshal([]byte(plain), &env); err != nil {
		return fmt.Errorf("decode notification: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var status int
	switch r.Kind {
	case kindNotify:
		cl, err := s.client(r.URL, true)
		if err != nil {
			return err
		}
		res, err := cl.NotifySendWithBody(ctx, &hooksapi.NotifySendParams{Carid: env.CarID}, "application/json",
			bytes.NewReader(env.Body), bearer(env.Token), s.sign(env.Body))
		if err != nil {
			return fmt.Errorf("call notify hook: %w", err)
		}
		readAnswer(res)
		status = res.StatusCode
	case kindAccountEvent:
		cl, err := s.client(r.URL, true)
		if err != nil {
			return err
		}
		res, err := cl.AccountEventSendWithBody(ctx, &hooksapi.AccountEventSendParams{}, "application/json",
			bytes.NewReader(env.Body), s.sign(env.Body))
		if err != nil {
			return fmt.Errorf("call account event hook: %w", err)
		}
		readAnswer(res)
		status = res.StatusCode
	default:
		cl, err := s.client(r.URL, false)
		if err != nil {
			return err
		}
		res, err := cl.ShareAuthFinishWithBody(ctx, &hooksapi.ShareAuthFinishParams{}, "application/json",
			bytes.NewReader(env.Body), s.sign(env.Body))
		if err != nil {
			return fmt.Errorf("call shareAuth/finish: %w", err)
		}
		readAnswer(res)
		status = res.StatusCode
	}
	if status < 200 || status >= 300 {
		return fmt.Errorf("receiver answered %d %s", status, http.StatusText(status))
	}
	return nil
}
