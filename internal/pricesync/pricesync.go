// Package pricesync reads published price lists and compares them with the gateway's model
// prices: Poolgate's own format (quota units per million tokens) and an OpenRouter-style model
// list (US dollars per token, converted at a given number of quota units per dollar).
package pricesync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sort"
	"strings"
)

// MaxBytes bounds a price list.
const MaxBytes = 8 << 20

// Price is a model's prices in quota units per million tokens; CachedInput nil means the input price.
type Price struct {
	Input, Output int64
	CachedInput   *int64
}

// Equal reports whether two prices are the same.
func (p Price) Equal(o Price) bool {
	if p.Input != o.Input || p.Output != o.Output || (p.CachedInput == nil) != (o.CachedInput == nil) {
		return false
	}
	return p.CachedInput == nil || *p.CachedInput == *o.CachedInput
}

// ErrUnusable is wrapped by every error about the list itself (format, content, fetch).
var ErrUnusable = errors.New("price list")

func unusable(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUnusable, fmt.Sprintf(format, a...))
}

type ownList struct {
	Models []struct {
		Name             string `json:"name"`
		InputPrice       *int64 `json:"input_price"`
		OutputPrice      *int64 `json:"output_price"`
		CachedInputPrice *int64 `json:"cached_input_price"`
	} `json:"models"`
}

type routerList struct {
	Data []struct {
		ID      string `json:"id"`
		Pricing struct {
			Prompt         json.RawMessage `json:"prompt"`
			Completion     json.RawMessage `json:"completion"`
			InputCacheRead json.RawMessage `json:"input_cache_read"`
		} `json:"pricing"`
	} `json:"data"`
}

// baseName strips a vendor prefix: `openai/gpt-4o` → `gpt-4o`.
func baseName(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

const maxPrice = 1_000_000_000_000

// perMillion converts a decimal US-dollar-per-token string to quota units per million tokens,
// rounding half up; absent or negative (OpenRouter's -1 for "varies") reports false.
func perMillion(raw json.RawMessage, quotaPerUSD int64) (int64, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw) // a bare number
	}
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return 0, false, unusable("price %q is not a number", s)
	}
	if r.Sign() < 0 {
		return 0, false, nil
	}
	r.Mul(r, new(big.Rat).SetInt64(1_000_000))
	r.Mul(r, new(big.Rat).SetInt64(quotaPerUSD))
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if !q.IsInt64() || q.Int64() > maxPrice {
		return 0, false, unusable("price %q is out of range", s)
	}
	return q.Int64(), true, nil
}

// Parse reads a price list in either format. quotaPerUSD converts the OpenRouter format (0: that
// format is refused).
func Parse(body []byte, quotaPerUSD int64) (map[string]Price, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, unusable("not a JSON object")
	}
	out := map[string]Price{}
	switch {
	case probe["models"] != nil:
		var l ownList
		if err := json.Unmarshal(body, &l); err != nil {
			return nil, unusable("models: %v", err)
		}
		for _, m := range l.Models {
			if m.Name == "" || len(m.Name) > 128 || m.InputPrice == nil || m.OutputPrice == nil {
				continue
			}
			p := Price{Input: *m.InputPrice, Output: *m.OutputPrice, CachedInput: m.CachedInputPrice}
			if p.Input < 0 || p.Output < 0 || p.Input > maxPrice || p.Output > maxPrice ||
				(p.CachedInput != nil && (*p.CachedInput < 0 || *p.CachedInput > maxPrice)) {
				return nil, unusable("%s: price out of range", m.Name)
			}
			out[m.Name] = p
		}
	case probe["data"] != nil:
		if quotaPerUSD <= 0 {
			return nil, unusable("quota_per_usd is required to convert a list priced in US dollars")
		}
		var l routerList
		if err := json.Unmarshal(body, &l); err != nil {
			return nil, unusable("data: %v", err)
		}
		for _, m := range l.Data {
			name := baseName(m.ID)
			if name == "" || len(name) > 128 {
				continue
			}
			in, okIn, err := perMillion(m.Pricing.Prompt, quotaPerUSD)
			if err != nil {
				return nil, err
			}
			outp, okOut, err := perMillion(m.Pricing.Completion, quotaPerUSD)
			if err != nil {
				return nil, err
			}
			if !okIn || !okOut {
				continue
			}
			p := Price{Input: in, Output: outp}
			if c, ok, err := perMillion(m.Pricing.InputCacheRead, quotaPerUSD); err != nil {
				return nil, err
			} else if ok {
				p.CachedInput = &c
			}
			if _, dup := out[name]; !dup { // the first vendor's price wins for a shared base name
				out[name] = p
			}
		}
	default:
		return nil, unusable("neither a `models` nor a `data` list")
	}
	return out, nil
}

// Change is one model whose price a sync would create or change.
type Change struct {
	Name string
	// Current is nil when the model has no price yet.
	Current  *Price
	Proposed Price
}

// Diff compares a list with the current prices. Only models that have a price or are in served
// are considered; the result is sorted by name, and unchanged counts the models already equal.
func Diff(list map[string]Price, current map[string]Price, served map[string]bool) (changes []Change, unchanged int) {
	changes = []Change{}
	for name, p := range list {
		cur, priced := current[name]
		switch {
		case priced && cur.Equal(p):
			unchanged++
		case priced:
			c := cur
			changes = append(changes, Change{Name: name, Current: &c, Proposed: p})
		case served[name]:
			changes = append(changes, Change{Name: name, Proposed: p})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Name < changes[j].Name })
	return changes, unchanged
}

// Fetch GETs a price list with client (which must refuse private addresses as the operator
// configured), bounded to MaxBytes.
func Fetch(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, unusable("bad url")
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: fetch failed: %w", ErrUnusable, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, unusable("upstream answered %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read failed: %w", ErrUnusable, err)
	}
	if len(body) > MaxBytes {
		return nil, unusable("larger than %d MiB", MaxBytes>>20)
	}
	return body, nil
}
