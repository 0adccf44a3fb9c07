package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Providers of remote accounts. Both are served through OpenAI-type channels.
const (
	ProviderGPT  = "gpt"
	ProviderGrok = "grok"
)

// Strategies of an import.
const (
	StrategyMerge   = "merge"
	StrategyReplace = "replace"
)

// maxTokenLen bounds one account token.
const maxTokenLen = 16 << 10

// ErrPayload is returned (wrapped) for a payload that is not one of the accepted shapes.
var ErrPayload = errors.New("not a tokens wrapper, an accounts wrapper or an array")

// Account is one normalised payload entry.
type Account struct {
	Token    string
	Provider string // gpt or grok
	Type     string // "" when the payload gives none
	Name     string
	Status   string // active, disabled, or "" to keep an existing account's
	Metadata []byte // a JSON object, or nil
}

// Batch is a normalised payload: the accounts that can be imported, and why the others cannot.
type Batch struct {
	Accounts []Account
	// Total counts every entry of the payload, failed ones included.
	Total int
	// Errors says why entries failed, by position; it never holds a token.
	Errors []string
}

// Failed is how many entries could not be imported.
func (b *Batch) Failed() int { return b.Total - len(b.Accounts) }

// entry is the wire form of one account object; unknown fields are ignored.
type entry struct {
	AccessToken string          `json:"access_token"`
	Token       string          `json:"token"`
	Provider    string          `json:"provider"`
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Status      string          `json:"status"`
	Metadata    json.RawMessage `json:"metadata"`
}

// wrapper is the object form of a payload.
type wrapper struct {
	Tokens   []json.RawMessage `json:"tokens"`
	Accounts []json.RawMessage `json:"accounts"`
}

// Parse normalises a payload in any of the three shapes a source may serve: `{"tokens": [...]}`,
// `{"accounts": [...]}` (both keys may be present) or a bare array mixing token strings and
// account objects. Accounts without a provider take defaultProvider; an empty provider means gpt.
// Entries that cannot be imported are counted and described in Errors; a payload of another
// shape is an error wrapping ErrPayload.
func Parse(data []byte, defaultProvider string) (*Batch, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) // a UTF-8 byte order mark
	b := &Batch{}
	switch {
	case len(data) > 0 && data[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrPayload, jsonProblem(err))
		}
		b.add("", items, defaultProvider)
	case len(data) > 0 && data[0] == '{':
		var w wrapper
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrPayload, jsonProblem(err))
		}
		if w.Tokens == nil && w.Accounts == nil {
			return nil, ErrPayload
		}
		b.add("tokens", w.Tokens, defaultProvider)
		b.add("accounts", w.Accounts, defaultProvider)
	default:
		return nil, ErrPayload
	}
	return b, nil
}

// Append adds another batch's entries (an injection may give tokens, accounts and a payload).
func (b *Batch) Append(o *Batch) {
	b.Accounts = append(b.Accounts, o.Accounts...)
	b.Total += o.Total
	b.Errors = append(b.Errors, o.Errors...)
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s must be %s", te.Field, te.Type)
	}
	return "invalid JSON"
}

func (b *Batch) add(list string, items []json.RawMessage, defaultProvider string) {
	for i, raw := range items {
		b.Total++
		where := fmt.Sprintf("[%d]", i)
		if list != "" {
			where = list + where
		}
		a, problem := normalise(raw, defaultProvider)
		if problem != "" {
			b.Errors = append(b.Errors, where+": "+problem)
			continue
		}
		b.Accounts = append(b.Accounts, a)
	}
}

// normalise turns one entry (a token string or an account object) into an Account, or says why
// it cannot.
func normalise(raw json.RawMessage, defaultProvider string) (Account, string) {
	var e entry
	switch {
	case len(raw) > 0 && raw[0] == '"':
		if err := json.Unmarshal(raw, &e.AccessToken); err != nil {
			return Account{}, "invalid token"
		}
	case len(raw) > 0 && raw[0] == '{':
		if err := json.Unmarshal(raw, &e); err != nil {
			return Account{}, "invalid account: " + jsonProblem(err)
		}
	default:
		return Account{}, "expected a token string or an account object"
	}
	a := Account{Token: strings.TrimSpace(e.AccessToken), Type: strings.TrimSpace(e.Type),
		Name: strings.TrimSpace(e.Name)}
	if a.Token == "" {
		a.Token = strings.TrimSpace(e.Token)
	}
	if a.Token == "" {
		return Account{}, "no access_token or token"
	}
	if len(a.Token) > maxTokenLen {
		return Account{}, "token is too long"
	}
	p := strings.ToLower(strings.TrimSpace(e.Provider))
	if p == "" {
		p = defaultProvider
	}
	if p == "" {
		p = ProviderGPT
	}
	if p != ProviderGPT && p != ProviderGrok {
		return Account{}, "unsupported provider (gpt or grok)"
	}
	a.Provider = p
	switch s := strings.ToLower(strings.TrimSpace(e.Status)); s {
	case "active", "disabled":
		a.Status = s
	}
	if m := bytes.TrimSpace(e.Metadata); len(m) > 0 && m[0] == '{' {
		a.Metadata = m
	}
	return a, ""
}
