// Package limits enforces the administrators' limit rules on gateway calls: at most `requests`
// calls and `tokens` input+output tokens started in any span of a rule's window (a sliding
// window), and at most `concurrency` calls in flight. Counters live in Redis when configured
// (batched Lua scripts to admit and release, exact across instances; a call far from its limits
// is admitted in process against its instance's allowance and recorded after, grants.go) and in
// process otherwise or while Redis is unreachable. docs/limits.md describes the rules and their
// guarantees.
package limits

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scope is what a rule counts per: each user, each key, each group, or everything together.
type Scope string

// The scopes.
const (
	ScopeUser   Scope = "user"
	ScopeKey    Scope = "key"
	ScopeGroup  Scope = "group"
	ScopeGlobal Scope = "global"
)

// Rule is one limit rule. Subject 0 applies the rule to every subject of its scope (each counted
// on its own); otherwise to that one subject. Requests, Tokens and Concurrency of 0 limit nothing.
type Rule struct {
	ID          int64
	Scope       Scope
	Subject     int64
	Model       string // "*", an exact name, "prefix*" or "*part*"
	Window      time.Duration
	Requests    int64
	Tokens      int64
	Concurrency int64
	// Plan, when not 0, applies the rule only to callers whose running plan it is (a plan's
	// rules, docs/money.md § Plans).
	Plan int64
}

// Who is the caller a call is counted against. Plan is the caller's running plan (0: none or
// expired).
type Who struct {
	User, Key, Group, Plan int64
}

// MaxWindow bounds a rule's window.
const MaxWindow = 31 * 24 * time.Hour

// ParseWindow reads a window in Go's form ("90s", "1h30m") or the seed's ("60s", "1m", "3h",
// "1d"; "d" is 24 hours). It must be between one second and 31 days.
func ParseWindow(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int64
		days, err = strconv.ParseInt(n, 10, 64)
		if err == nil && (days < 1 || days > 31) {
			err = errors.New("out of range")
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil {
		return 0, fmt.Errorf("window %q: use a duration such as 60s, 1m, 3h or 1d", s)
	}
	if d < time.Second || d > MaxWindow {
		return 0, fmt.Errorf("window %q: must be between 1s and 31d", s)
	}
	return d, nil
}

// FormatWindow writes a window in the shortest seed form that is exact ("3h", "1d", "90s").
func FormatWindow(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// ValidModel checks a model pattern: "*", an exact name, "prefix*" or "*part*"; at most 128
// characters, no other "*".
func ValidModel(p string) error {
	if p == "" || len(p) > 128 {
		return errors.New("model: must be 1 to 128 characters")
	}
	inner := strings.TrimSuffix(p, "*")
	if strings.HasPrefix(p, "*") && len(p) > 1 {
		if !strings.HasSuffix(p, "*") || len(p) < 3 {
			return errors.New(`model: a pattern is "*", an exact name, "prefix*" or "*part*"`)
		}
		inner = p[1 : len(p)-1]
	}
	if p != "*" && strings.Contains(inner, "*") {
		return errors.New(`model: a pattern is "*", an exact name, "prefix*" or "*part*"`)
	}
	return nil
}

// MatchModel reports whether a model name matches a pattern.
func MatchModel(pattern, model string) bool {
	switch {
	case pattern == "*":
		return true
	case len(pattern) >= 3 && pattern[0] == '*' && pattern[len(pattern)-1] == '*':
		return strings.Contains(model, pattern[1:len(pattern)-1])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(model, pattern[:len(pattern)-1])
	}
	return pattern == model
}

// Validate checks a rule's fields (not its id).
func (r Rule) Validate() error {
	switch r.Scope {
	case ScopeUser, ScopeKey, ScopeGroup:
	case ScopeGlobal:
		if r.Subject != 0 {
			return errors.New("subject_id: a global rule has no subject")
		}
	default:
		return errors.New("scope: must be user, key, group or global")
	}
	if r.Subject < 0 {
		return errors.New("subject_id: must be positive")
	}
	if err := ValidModel(r.Model); err != nil {
		return err
	}
	if r.Window < time.Second || r.Window > MaxWindow {
		return errors.New("window: must be between 1s and 31d")
	}
	if r.Requests < 0 || r.Tokens < 0 || r.Concurrency < 0 {
		return errors.New("requests, tokens and concurrency must not be negative")
	}
	if r.Requests == 0 && r.Tokens == 0 && r.Concurrency == 0 {
		return errors.New("a rule limits at least one of requests, tokens and concurrency")
	}
	return nil
}

// subjectOf is the id the rule counts the caller under (0 and false: the rule does not apply).
func (r *Rule) subjectOf(w Who) (int64, bool) {
	if r.Plan != 0 && r.Plan != w.Plan {
		return 0, false
	}
	var id int64
	switch r.Scope {
	case ScopeUser:
		id = w.User
	case ScopeKey:
		id = w.Key
	case ScopeGroup:
		id = w.Group
	case ScopeGlobal:
		return 0, true
	}
	if id == 0 || (r.Subject != 0 && r.Subject != id) {
		return 0, false
	}
	return id, true
}

// specificity orders matching rules, most specific first: key, user, group, then global; a rule
// naming its subject before one for every subject; an exact model, then the longest pattern.
func (r *Rule) specificity() int {
	s := map[Scope]int{ScopeKey: 4, ScopeUser: 3, ScopeGroup: 2, ScopeGlobal: 1}[r.Scope] * 100000
	if r.Subject != 0 {
		s += 50000
	}
	if !strings.Contains(r.Model, "*") {
		s += 20000
	}
	return s + len(r.Model)*10
}

// Counter is one rule's counter for one subject: the unit the stores count in.
type Counter struct {
	Rule *Rule
	Key  string // "r<rule id>:<subject id>"
}

// Match returns the counters of the rules that apply to a call, most specific first.
func Match(rules []Rule, w Who, model string) []Counter { return match(rules, w, &model) }

// Applying returns the counters of the rules that apply to a caller, for any model, most specific
// first.
func Applying(rules []Rule, w Who) []Counter { return match(rules, w, nil) }

func match(rules []Rule, w Who, model *string) []Counter {
	var out []Counter
	for i := range rules {
		r := &rules[i]
		id, ok := r.subjectOf(w)
		if !ok || (model != nil && !MatchModel(r.Model, *model)) {
			continue
		}
		out = append(out, Counter{Rule: r, Key: "r" + strconv.FormatInt(r.ID, 10) + ":" + strconv.FormatInt(id, 10)})
	}
	slices.SortStableFunc(out, func(a, b Counter) int {
		if d := b.Rule.specificity() - a.Rule.specificity(); d != 0 {
			return d
		}
		if a.Rule.Window != b.Rule.Window {
			return int(a.Rule.Window - b.Rule.Window)
		}
		return int(a.Rule.ID - b.Rule.ID)
	})
	return out
}
