package billing

import (
	"encoding/json"
	"fmt"

	"github.com/poolgate/poolgate/gen/db"
)

// PromptTier is the stored form of a model's long-prompt prices (models.prompt_tier, the
// admin API's PromptTier): nil prices follow the tier's input or output price.
type PromptTier struct {
	AboveTokens       int64  `json:"above_tokens"`
	InputPrice        int64  `json:"input_price"`
	OutputPrice       int64  `json:"output_price"`
	CachedInputPrice  *int64 `json:"cached_input_price,omitempty"`
	CacheWrite5mPrice *int64 `json:"cache_write_5m_price,omitempty"`
	CacheWrite1hPrice *int64 `json:"cache_write_1h_price,omitempty"`
	ReasoningPrice    *int64 `json:"reasoning_price,omitempty"`
}

// ParsePromptTier reads a stored tier; nil or JSON null is no tier.
func ParsePromptTier(raw []byte) (*PromptTier, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil //nolint:nilnil // no tier is not an error
	}
	var t PromptTier
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("prompt tier: %w", err)
	}
	return &t, nil
}

// FromModel resolves a model's stored prices into the Price that Cost charges: cached input and
// cache writes default to the input price, reasoning to the output price (in the tier too).
func FromModel(m *db.Model) Price {
	p := resolve(m.InputPrice, m.OutputPrice, m.CachedInputPrice, m.CacheWrite5mPrice, m.CacheWrite1hPrice, m.ReasoningPrice)
	p.PerCall, p.PerImage = m.PerCallPrice, m.ImagePrice
	if m.OutputCap != nil {
		p.OutputCap = *m.OutputCap
	}
	if t, err := ParsePromptTier(m.PromptTier); err == nil && t != nil {
		tp := resolve(t.InputPrice, t.OutputPrice, t.CachedInputPrice, t.CacheWrite5mPrice, t.CacheWrite1hPrice, t.ReasoningPrice)
		p.TierAbove, p.Tier = t.AboveTokens, &tp
	}
	return p
}

func resolve(in, out int64, cached, w5, w1, reasoning *int64) Price {
	or := func(v *int64, def int64) int64 {
		if v == nil {
			return def
		}
		return *v
	}
	return Price{Input: in, Output: out, CachedInput: or(cached, in), CacheWrite5m: or(w5, in),
		CacheWrite1h: or(w1, in), Reasoning: or(reasoning, out)}
}
