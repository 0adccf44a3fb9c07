package hooksig_test

import (
	"testing"
	"time"

	"github.com/poolgate/poolgate/internal/hooksig"
)

// FuzzVerify: any signature header is refused unless it is the one Sign makes for the same
// request (a header never panics Verify), and a header Sign made always verifies.
func FuzzVerify(f *testing.F) {
	secret := []byte("fuzz-secret")
	now := time.Unix(1_800_000_000, 0)
	f.Add("POST", "/hook?x=1", "Bearer t", "car", []byte(`{"a":1}`), "t=1800000000,v2=00")
	f.Add("GET", "/", "", "", []byte(nil), "")
	f.Add("POST", "/x", "", "", []byte("b"), "t=,v2=,t=1,v2=zz")
	f.Add("POST", "/x", "", "", []byte("b"), "v2=ab, t=99999999999999999999")
	f.Fuzz(func(t *testing.T, method, target, auth, carid string, body []byte, header string) {
		r := hooksig.Request{Method: method, Target: target, Authorization: auth, Carid: carid, Body: body}
		good := hooksig.Sign(secret, r, now)
		if err := hooksig.Verify(secret, r, good, now); err != nil {
			t.Fatalf("a fresh signature is refused: %v", err)
		}
		if header != good && hooksig.Verify(secret, r, header, now) == nil {
			// Another header may only pass if it carries the same timestamp and MAC.
			if hooksig.Verify([]byte("another secret"), r, header, now) == nil {
				t.Fatalf("header %q verifies under two secrets", header)
			}
		}
	})
}
