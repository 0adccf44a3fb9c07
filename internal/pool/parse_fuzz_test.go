package pool_test

import (
	"testing"

	"github.com/poolgate/poolgate/internal/pool"
)

// FuzzParseRules: POOL_ERROR_ACTIONS text never panics, and every rule accepted has a status
// range within 0 (conn) .. 599 and a non-negative cooldown.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"403~quota=cool_account:6h;418=retry", "conn=retry", "5xx=cool:1m", "4xx=return", "429~=ban",
		"600=retry", "=", ";;", "500=cool:-1s", "500~a=b=c", "500=disable:99999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := pool.ParseRules(s)
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.Cooldown < 0 || r.StatusLo < 0 || r.StatusHi > 599 || r.StatusLo > r.StatusHi {
				t.Fatalf("ParseRules(%q): rule %+v", s, r)
			}
		}
	})
}

// FuzzParseLimit: an account window limit, when accepted, counts at least one call over a
// positive window.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"60/3h", "1000/1d", "0/1h", "1/0s", "1/-1h", "5/9223372036854775807d", "5/106751d", "x/1h", "1/", "/1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := pool.ParseLimit(s)
		if err == nil && (l.N < 1 || l.Window <= 0) {
			t.Fatalf("ParseLimit(%q) = %+v", s, l)
		}
	})
}
