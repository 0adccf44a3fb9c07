// Package hooksig signs the requests Poolgate sends to third parties (hooks, share-link hosts,
// remote account sources) and verifies them for receivers written in Go (cmd/poolgate-hooks).
//
// With HOOK_SECRET set, every such request carries
//
//	X-Poolgate-Signature: t=<unix seconds>,v2=<hex HMAC-SHA256(secret, canonical)>
//
// where canonical is these lines joined by "\n":
//
//	v2
//	<unix seconds>
//	<method>                 POST, GET
//	<request target>         the path and query as sent: /audit_limit, /hooks/notify?team=a
//	<Authorization header>   as sent, or empty
//	<Carid header>           as sent, or empty
//	<hex SHA-256 of the body> (of the empty string when there is none)
//
// so a signature binds the body to the endpoint it was sent to and to the headers a receiver acts
// on: a notification replayed to the audit endpoint, or with another Authorization or Carid, does
// not verify. A receiver refuses a timestamp more than MaxSkew from its clock (a captured request
// cannot be replayed later) and deduplicates what arrives twice within that window by the event's
// id (request_id).
package hooksig

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header carries the signature.
const Header = "X-Poolgate-Signature"

// MaxSkew is how far a signature's timestamp may be from the receiver's clock.
const MaxSkew = 5 * time.Minute

// Request is what a signature covers.
type Request struct {
	// Method is the HTTP method; Target the path and query as sent (URL.RequestURI()).
	Method, Target string
	// Authorization and Carid are those headers as sent ("" when absent).
	Authorization, Carid string
	// Body is the request body (nil for none).
	Body []byte
}

// Sign returns the signature header value of r at time t.
func Sign(secret []byte, r Request, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v2=" + hex.EncodeToString(mac(secret, ts, r))
}

func mac(secret []byte, ts string, r Request) []byte {
	sum := sha256.Sum256(r.Body)
	m := hmac.New(sha256.New, secret)
	for _, line := range []string{"v2", ts, strings.ToUpper(r.Method), r.Target, r.Authorization, r.Carid} {
		m.Write([]byte(line))
		m.Write([]byte{'\n'})
	}
	m.Write([]byte(hex.EncodeToString(sum[:])))
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("missing signature")
	ErrBadSignature = errors.New("invalid signature")
	ErrStale        = errors.New("signature timestamp out of range")
)

// Verify checks a signature header value against the request received, in constant time, and
// refuses timestamps more than MaxSkew from now.
func Verify(secret []byte, r Request, header string, now time.Time) error {
	if header == "" {
		return ErrNoSignature
	}
	var ts, v2 string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v2":
			v2 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(v2)
	if err != nil || !hmac.Equal(got, mac(secret, ts, r)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	return nil
}

// Of describes an HTTP request for signing or verifying, with its body.
func Of(req *http.Request, body []byte) Request {
	return Request{Method: req.Method, Target: req.URL.RequestURI(), Authorization: req.Header.Get("Authorization"),
		Carid: req.Header.Get("Carid"), Body: body}
}

// SignRequest sets the signature header of an outgoing request whose body is body; call it last,
// once the URL and the headers are final.
func SignRequest(secret []byte, req *http.Request, body []byte, now time.Time) {
	req.Header.Set(Header, Sign(secret, Of(req, body), now))
}

// VerifyRequest reads an incoming request's body (at most limit bytes), puts it back for the
// handler, and verifies the request's signature.
func VerifyRequest(secret []byte, req *http.Request, limit int64, now time.Time) error {
	body, err := io.ReadAll(io.LimitReader(req.Body, limit))
	if err != nil {
		return err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return Verify(secret, Of(req, body), req.Header.Get(Header), now)
}
