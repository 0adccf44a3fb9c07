package pool

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Action is what the pool does with an account after an upstream answer that is not a success.
type Action uint8

// Actions of the error table.
const (
	// ActReturn passes the upstream's answer to the caller: the request itself is at fault.
	ActReturn Action = iota
	// ActRetry tries another account and counts a failure against this one.
	ActRetry
	// ActCool cools the account for this model until the upstream's reset (or the rule's
	// duration), then tries another.
	ActCool
	// ActCoolAccount cools the whole account (every model).
	ActCoolAccount
	// ActReauth takes the account out of rotation as needs_reauth until a probe passes or an
	// administrator resets it.
	ActReauth
	// ActBan takes the account out of rotation as banned until an administrator resets it.
	ActBan
	// ActDisable takes the account out of rotation as disabled until a probe passes.
	ActDisable
)

var actionNames = map[string]Action{
	"return": ActReturn, "retry": ActRetry, "cool": ActCool, "cool_account": ActCoolAccount,
	"reauth": ActReauth, "ban": ActBan, "disable": ActDisable,
}

// AccountCaused reports whether the action blames the account rather than the request or the
// upstream at large: it cools the account (or one of its models) or takes it out of rotation. A
// failure so classified says nothing about the next account, so the relay does not count it
// against the caller's attempts while untried accounts remain.
func (a Action) AccountCaused() bool {
	switch a {
	case ActCool, ActCoolAccount, ActReauth, ActBan, ActDisable:
		return true
	default:
		return false
	}
}

// String is the action's name in the error table.
func (a Action) String() string {
	for n, v := range actionNames {
		if v == a {
			return n
		}
	}
	return "unknown"
}

// Rule is one row of the error table: an upstream status (0 for a transport failure: connection
// refused or reset, timeout), optionally a case-insensitive substring of the error body, and the
// action with its default cooldown.
type Rule struct {
	// StatusLo and StatusHi bound the status (equal for one status; 500..599 for "5xx").
	StatusLo, StatusHi int
	// Match, lower-cased, must occur in the lower-cased body; empty matches any body.
	Match string
	// Action is what to do.
	Action Action
	// Cooldown is used by cool actions when the upstream reports no reset time.
	Cooldown time.Duration
}

// DefaultRules is the documented default error table (docs/pool.md), in the syntax of
// POOL_ERROR_ACTIONS. Rules are tried in order; the first match wins; a status no rule matches
// is returned to the caller.
const DefaultRules = `403~organization has been disabled=ban;` +
	`403~organization_disabled=ban;` +
	`403~account has been disabled=ban;` +
	`403~account_deactivated=ban;` +
	`403~account deactivated=ban;` +
	`403~has been deactivated=ban;` +
	`403~has been suspended=ban;` +
	`401=reauth;` +
	`403~invalid authentication=reauth;` +
	`400~API_KEY_INVALID=reauth;` +
	`403~permission_denied=retry;` +
	`402=cool_account:1h;` +
	`429~insufficient_quota=cool_account:1h;` +
	`429~exceeded your current quota=cool_account:1h;` +
	`400~credit balance is too low=cool_account:1h;` +
	`429=cool:60s;` +
	`529=cool:30s;` +
	`503=cool:30s;` +
	`403=retry;` +
	`408=retry;` +
	`5xx=retry;` +
	`conn=retry`

// ParseRules reads an error table: rules separated by ";" or newlines, each
// `STATUS[~substring]=ACTION[:duration]`, STATUS a number, `4xx`/`5xx`, or `conn` for a
// transport failure.
func ParseRules(s string) ([]Rule, error) {
	var out []Rule
	for _, raw := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		lhs, rhs, ok := strings.Cut(raw, "=")
		if !ok {
			return nil, fmt.Errorf("error rule %q: want STATUS[~substring]=ACTION[:duration]", raw)
		}
		var r Rule
		st, match, _ := strings.Cut(strings.TrimSpace(lhs), "~")
		r.Match = strings.ToLower(strings.TrimSpace(match))
		switch st = strings.TrimSpace(st); {
		case st == "conn":
		case len(st) == 3 && strings.HasSuffix(st, "xx") && st[0] >= '1' && st[0] <= '5':
			r.StatusLo = int(st[0]-'0') * 100
			r.StatusHi = r.StatusLo + 99
		default:
			n, err := strconv.Atoi(st)
			if err != nil || n < 100 || n > 599 {
				return nil, fmt.Errorf("error rule %q: status must be 100-599, 4xx, 5xx or conn", raw)
			}
			r.StatusLo, r.StatusHi = n, n
		}
		act, dur, _ := strings.Cut(strings.TrimSpace(rhs), ":")
		a, ok := actionNames[strings.TrimSpace(act)]
		if !ok {
			return nil, fmt.Errorf("error rule %q: unknown action %q (return, retry, cool, cool_account, reauth, ban, disable)", raw, act)
		}
		r.Action = a
		if dur != "" {
			d, err := time.ParseDuration(strings.TrimSpace(dur))
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("error rule %q: bad duration %q", raw, dur)
			}
			r.Cooldown = d
		}
		out = append(out, r)
	}
	return out, nil
}

// Classify finds the action for an upstream answer (status 0: transport failure). Status 200 is
// never classified; a status no rule matches is returned to the caller.
func Classify(rules []Rule, status int, body []byte) Rule {
	var lower []byte
	for _, r := range rules {
		if status < r.StatusLo || status > r.StatusHi {
			continue
		}
		if r.Match != "" {
			if lower == nil {
				lower = bytes.ToLower(body)
			}
			if !bytes.Contains(lower, []byte(r.Match)) {
				continue
			}
		}
		return r
	}
	return Rule{StatusLo: status, StatusHi: status, Action: ActReturn}
}

// ResetAfter reads how long until an upstream limit resets from its answer: Retry-After
// (seconds or an HTTP date), retry-after-ms, OpenAI's x-ratelimit-reset-* durations,
// Anthropic's anthropic-ratelimit-*-reset times, x-ratelimit-reset (seconds or a Unix time),
// and in the body Gemini's retryDelay or OpenAI's "try again in 20s". It returns 0 when the
// answer says nothing.
func ResetAfter(h http.Header, body []byte, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	var best time.Duration
	for _, k := range []string{"X-Ratelimit-Reset-Requests", "X-Ratelimit-Reset-Tokens"} {
		if d, err := time.ParseDuration(h.Get(k)); err == nil && d > best {
			best = d
		}
	}
	for _, k := range []string{"Anthropic-Ratelimit-Requests-Reset", "Anthropic-Ratelimit-Tokens-Reset",
		"Anthropic-Ratelimit-Input-Tokens-Reset", "Anthropic-Ratelimit-Output-Tokens-Reset"} {
		if t, err := time.Parse(time.RFC3339, h.Get(k)); err == nil && t.Sub(now) > best {
			best = t.Sub(now)
		}
	}
	if v := h.Get("X-Ratelimit-Reset"); v != "" && best == 0 {
		if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
			if n > 1e9 { // a Unix time
				best = time.Unix(int64(n), 0).Sub(now)
			} else {
				best = time.Duration(n * float64(time.Second))
			}
		}
	}
	if best > 0 {
		return best
	}
	return bodyDelay(body)
}

// bodyDelay finds a delay in an error body: `"retryDelay": "30s"` (Gemini) or "try again in
// 1.5s" / "in 6m0s" / "in 20ms" (OpenAI).
func bodyDelay(body []byte) time.Duration {
	for _, marker := range []string{`"retryDelay":`, "try again in "} {
		i := bytes.Index(body, []byte(marker))
		if i < 0 {
			continue
		}
		rest := bytes.TrimLeft(body[i+len(marker):], ` "`)
		j := 0
		for j < len(rest) && (rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.' || rest[j] == 'h' || rest[j] == 'm' || rest[j] == 's') {
			j++
		}
		if d, err := time.ParseDuration(strings.TrimRight(string(rest[:j]), ".")); err == nil && d > 0 {
			return d
		}
	}
	return 0
}

// ConfiguredRules is the error table for POOL_ERROR_ACTIONS: its rows, then the default table
// (the first match wins); nil (the defaults) when it is empty.
func ConfiguredRules(spec string) ([]Rule, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	rules, err := ParseRules(spec)
	if err != nil {
		return nil, err
	}
	return append(rules, DefaultConfig().Rules...), nil
}
