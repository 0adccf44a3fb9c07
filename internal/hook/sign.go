package hook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the HMAC signature of every hook request when HOOK_SECRET is set.
const SignatureHeader = "X-Poolgate-Signature"

// MaxSkew is how far a signature's timestamp may be from the receiver's clock.
const MaxSkew = 5 * time.Minute

// Sign returns the signature header value for body at time t:
// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>.<body>")>`.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("missing signature")
	ErrBadSignature = errors.New("invalid signature")
	ErrStale        = errors.New("signature timestamp out of range")
)

// Verify checks a signature header value against the body received, in constant time, and
// refuses timestamps more than MaxSkew away from now. Receivers written in Go can call it as is.
func Verify(secret, body []byte, header string, now time.Time) error {
	if header == "" {
		return ErrNoSignature
	}
	var ts, v1 string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(v1)
	if err != nil || !hmac.Equal(got, mac(secret, ts, body)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	return nil
}
