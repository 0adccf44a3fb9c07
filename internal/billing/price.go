// Package billing prices gateway calls in integer quota units and records them: usage records
// go through a bounded queue to a batch writer that logs and charges each call exactly once.
package billing

import "math/bits"

// Price is a model's price in quota units per million tokens.
type Price struct {
	Input       int64
	Output      int64
	CachedInput int64 // equals Input when the model sets no cached price
	// CacheWrite5m and CacheWrite1h price input tokens written to Claude's 5-minute and 1-hour
	// prompt caches; 0 means the Input price.
	CacheWrite5m int64
	CacheWrite1h int64
}

// Usage is what an upstream reported for one call.
type Usage struct {
	PromptTokens     int64 // all input tokens, cached ones included
	CompletionTokens int64
	CachedTokens     int64
	// CacheWrite5mTokens and CacheWrite1hTokens are the parts of PromptTokens written to Claude's
	// prompt caches (priced at Price.CacheWrite5m and CacheWrite1h).
	CacheWrite5mTokens int64
	CacheWrite1hTokens int64
	// ReasoningTokens is the part of CompletionTokens spent reasoning (priced as output).
	ReasoningTokens int64
}

// Cost prices usage: ceil((uncached×input + cached×cachedInput + writes×cacheWrite +
// completion×output) / 1e6), in 128-bit arithmetic so no realistic price or token count
// overflows. Negative counts are treated as zero; cached tokens, then cache writes, are capped at
// the prompt tokens. The result saturates at MaxInt64.
func Cost(p Price, u Usage) int64 {
	prompt, completion, cached := nonNeg(u.PromptTokens), nonNeg(u.CompletionTokens), nonNeg(u.CachedTokens)
	if cached > prompt {
		cached = prompt
	}
	w5, w1 := nonNeg(u.CacheWrite5mTokens), nonNeg(u.CacheWrite1hTokens)
	w5 = min(w5, prompt-cached)
	w1 = min(w1, prompt-cached-w5)
	p5, p1 := p.CacheWrite5m, p.CacheWrite1h
	if p5 == 0 {
		p5 = p.Input
	}
	if p1 == 0 {
		p1 = p.Input
	}
	var hi, lo uint64
	add := func(tokens, price uint64) {
		h, l := bits.Mul64(tokens, price)
		var c uint64
		lo, c = bits.Add64(lo, l, 0)
		hi, _ = bits.Add64(hi, h, c)
	}
	add(prompt-cached-w5-w1, nonNeg(p.Input))
	add(cached, nonNeg(p.CachedInput))
	add(w5, nonNeg(p5))
	add(w1, nonNeg(p1))
	add(completion, nonNeg(p.Output))
	// ceil division by 1e6
	lo, c := bits.Add64(lo, 999_999, 0)
	hi += c
	const million = 1_000_000
	if hi >= million {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, million)
	if q > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(q)
}

func nonNeg(v int64) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}
