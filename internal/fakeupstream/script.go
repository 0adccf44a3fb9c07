package fakeupstream

import (
	"sync"
	"sync/atomic"
	"time"
)

// Reply scripts the answer to one generation request. The zero Reply is a normal echo answer.
type Reply struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Body is sent verbatim for a non-200 Status (as application/json unless Header sets a
	// Content-Type). If empty, the protocol's realistic error body for Status is sent, with its
	// usual headers (e.g. retry-after on 429).
	Body string
	// Header holds extra response headers, set on every kind of answer; they override defaults.
	Header map[string]string
	// Delay is waited before anything is sent (also before Drop). A client that goes away ends it.
	Delay time.Duration
	// EventDelay is waited between stream events.
	EventDelay time.Duration
	// Text is the assistant's answer; empty means the echo answer.
	Text string
	// Usage is the usage to report; nil means the computed echo usage.
	Usage *Usage
	// OmitUsage reports no usage at all: a non-stream answer has no "usage" field, a stream never
	// sends its usage chunk.
	OmitUsage bool
	// CutAfter, for a stream, aborts the connection after this many content events, before the
	// finish chunk and without [DONE]; a text with fewer words is cut after its last word. A
	// negative value cuts right after the first (role) event; 0 never cuts.
	CutAfter int
	// Drop closes the connection without sending any response byte.
	Drop bool
	// Thinking is reasoning sent before the answer: OpenAI's reasoning_content, a Claude thinking
	// block (signed "sig-" + the first word), a Gemini thought part.
	Thinking string
	// ToolCalls are tool calls sent after the text; the answer then stops for tool use.
	ToolCalls []ToolCall
	// Raw, when set, is sent verbatim with Status (0: 200) in place of the protocol's answer:
	// bytes that are no valid answer (garbage), or the first bytes of one. Its Content-Type is
	// text/event-stream when the request accepts it, else application/json, unless Header sets one.
	Raw string
	// Trickle is waited between the bytes of Raw, each byte flushed on its own.
	Trickle time.Duration
	// Stall keeps the connection open after Raw (or after the headers, when Raw is empty) without
	// sending anything more, until the client goes away.
	Stall bool
}

// ToolCall is a scripted tool call. An empty ID gets a generated one (Gemini sends none).
type ToolCall struct {
	ID   string
	Name string
	// Args is the JSON object of arguments.
	Args string
}

// Usage is token usage to report. The total is always PromptTokens + CompletionTokens.
type Usage struct {
	// PromptTokens counts input tokens, cached ones included.
	PromptTokens int
	// CompletionTokens counts output tokens, reasoning ones included.
	CompletionTokens int
	// CachedTokens is the part of PromptTokens read from the prompt cache.
	CachedTokens int
	// ReasoningTokens is the part of CompletionTokens spent reasoning.
	ReasoningTokens int
	// CacheWrite5mTokens and CacheWrite1hTokens are the parts of PromptTokens written to Claude's
	// prompt caches (reported by the Claude format only).
	CacheWrite5mTokens int
	CacheWrite1hTokens int
}

// script holds the FIFO queues of scripted replies.
type script struct {
	// pending counts queued replies so the common unscripted path takes no lock.
	pending atomic.Int64
	mu      sync.Mutex
	global  []Reply
	byCred  map[string][]Reply
}

// Enqueue appends replies to the global script, consumed in order by the next generation requests
// whatever their credential (unless that credential has its own script, see [Server.EnqueueFor]).
func (s *Server) Enqueue(replies ...Reply) {
	s.script.mu.Lock()
	defer s.script.mu.Unlock()
	s.script.global = append(s.script.global, replies...)
	s.script.pending.Add(int64(len(replies)))
}

// EnqueueFor appends replies to the script of credential (the caller's API key, without "Bearer").
// While it is not empty, requests carrying that credential consume it instead of the global script.
func (s *Server) EnqueueFor(credential string, replies ...Reply) {
	s.script.mu.Lock()
	defer s.script.mu.Unlock()
	if s.script.byCred == nil {
		s.script.byCred = make(map[string][]Reply)
	}
	s.script.byCred[credential] = append(s.script.byCred[credential], replies...)
	s.script.pending.Add(int64(len(replies)))
}

// Pending returns how many scripted replies have not been consumed yet, so a test can check that
// every scripted reply was used.
func (s *Server) Pending() int { return int(s.script.pending.Load()) }

// next pops the reply for credential: its own script first, then the global one. It reports
// false, with the zero Reply (echo), when nothing is scripted for the request.
func (sc *script) next(credential string) (Reply, bool) {
	if sc.pending.Load() == 0 {
		return Reply{}, false
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if q := sc.byCred[credential]; len(q) > 0 {
		rep := q[0]
		if len(q) == 1 {
			delete(sc.byCred, credential)
		} else {
			sc.byCred[credential] = q[1:]
		}
		sc.pending.Add(-1)
		return rep, true
	}
	if len(sc.global) > 0 {
		rep := sc.global[0]
		sc.global[0] = Reply{}
		sc.global = sc.global[1:]
		if len(sc.global) == 0 {
			sc.global = nil
		}
		sc.pending.Add(-1)
		return rep, true
	}
	return Reply{}, false
}

func (sc *script) reset() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.global, sc.byCred = nil, nil
	sc.pending.Store(0)
}
