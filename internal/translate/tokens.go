package translate

import (
	"hash/maphash"
	"strings"
	"sync/atomic"

	"github.com/tiktoken-go/tokenizer"
)

// imageTokens is the estimate for one image (providers count them by resolution, which is not
// known without decoding the image).
const imageTokens = 1000

// Counter estimates input tokens offline with the o200k tokenizer. It is safe for concurrent use.
type Counter struct {
	codec tokenizer.Codec
	seed  maphash.Seed
	// cache remembers the counts of recent texts (system prompts and earlier turns repeat on
	// every call of a conversation): a fixed table indexed by the text's hash, the newer entry
	// replacing the older on a collision, so its memory is bounded (cacheSlots × cacheMaxText).
	cache [cacheSlots]atomic.Pointer[countEntry]
}

// cacheSlots and cacheMaxText bound the count cache: at most 4 MiB of remembered text.
const (
	cacheSlots   = 1024
	cacheMaxText = exactBytes
)

type countEntry struct {
	text string
	n    int64
}

// NewCounter loads the tokenizer tables (embedded; no network).
func NewCounter() *Counter {
	c, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		panic("o200k tokenizer is compiled in: " + err.Error())
	}
	return &Counter{codec: c, seed: maphash.MakeSeed()}
}

// maxRun is the longest run of non-space (or space) bytes given to the tokenizer: byte-pair
// merging is quadratic in the length of a run, so longer runs (base64, minified data, padding)
// are estimated at 4 bytes per token instead.
const maxRun = 64

// Text counts the tokens of s, tokenizing it in pieces of about 2 KiB cut at spaces. The counts
// of texts up to cacheMaxText bytes are remembered.
func (c *Counter) Text(s string) int64 {
	if s == "" || len(s) > cacheMaxText {
		return c.text(s)
	}
	slot := &c.cache[maphash.String(c.seed, s)%cacheSlots]
	if e := slot.Load(); e != nil && e.text == s {
		return e.n
	}
	n := c.text(s)
	slot.Store(&countEntry{text: strings.Clone(s), n: n}) // not a view of the request body
	return n
}

func (c *Counter) text(s string) int64 {
	var n int64
	start := 0 // start of the pending piece
	for i := 0; i < len(s); {
		j := i
		space := isSpace(s[i])
		for j < len(s) && isSpace(s[j]) == space {
			j++
		}
		if j-i > maxRun {
			n += c.count(s[start:i]) + int64((j-i)/4+1)
			start = j
		} else if j-start >= 2048 && space {
			n += c.count(s[start:j])
			start = j
		}
		i = j
	}
	return n + c.count(s[start:])
}

func (c *Counter) count(s string) int64 {
	if s == "" {
		return 0
	}
	n, err := c.codec.Count(s)
	if err != nil {
		return int64(len(s)/4 + 1)
	}
	return int64(n)
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// exactBytes bounds the text tokenized exactly per request (byte-pair encoding costs about
// 0.1 µs per byte here); the rest is extrapolated at the ratio measured on what was tokenized.
const exactBytes = 4096

// tally accumulates one request's count.
type tally struct {
	c       *Counter
	tokens  int64
	sampled int64 // bytes tokenized exactly
	skipped int64 // bytes left to extrapolate
	fixed   int64 // overheads and image estimates
}

func (t *tally) text(s string) {
	if s == "" {
		return
	}
	room := exactBytes - t.sampled
	if room <= 0 {
		t.skipped += int64(len(s))
		return
	}
	if int64(len(s)) > room {
		cut := int(room)
		for cut > 0 && !isSpace(s[cut-1]) {
			cut--
		}
		if cut == 0 {
			cut = int(room)
		}
		t.skipped += int64(len(s) - cut)
		s = s[:cut]
	}
	t.sampled += int64(len(s))
	t.tokens += t.c.Text(s)
}

func (t *tally) total() int64 {
	n := t.tokens + t.fixed
	if t.skipped > 0 {
		if t.sampled > 0 && t.tokens > 0 {
			n += t.skipped * t.tokens / t.sampled
		} else {
			n += t.skipped / 4
		}
	}
	return n
}

// Request estimates the input tokens of r: text, tool definitions, calls and results, a small
// overhead per message and a fixed estimate per image. Its cost is bounded (see exactBytes).
func (c *Counter) Request(r *Request) int64 {
	t := &tally{c: c, fixed: 3}
	for _, p := range r.System {
		t.text(p.Text)
	}
	for _, tool := range r.Tools {
		t.fixed += 8
		t.text(tool.Name)
		t.text(tool.Description)
		t.text(string(tool.Parameters))
	}
	for i := range r.Messages {
		t.fixed += 4
		t.parts(r.Messages[i].Parts)
	}
	return t.total()
}

func (t *tally) parts(ps []Part) {
	for i := range ps {
		p := &ps[i]
		switch p.Kind {
		case Text, Thinking:
			t.text(p.Text)
		case Image:
			t.fixed += imageTokens
		case ToolCall:
			t.fixed += 4
			t.text(p.ToolName)
			t.text(string(p.Args))
		case ToolResult:
			t.fixed += 4
			t.parts(p.Result)
		}
	}
}
