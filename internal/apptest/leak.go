package apptest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/poolgate/poolgate/internal/config"
)

// The leak scan: every secret a test hands to an app or an app issues (passwords, API keys,
// session tokens, upstream credentials, OAuth tokens, TOTP secrets, payment keys, proxy
// passwords, the app's own keys) is registered in one process-wide registry, and every response
// body an app under test writes and every line it logs is scanned for all of them. A secret may
// appear only in the one answer that issued it. The package's TestMain (ScanSecrets) fails the
// run on any hit; an Env's end fails its test for the hits seen while it ran.

// minSecret is the shortest value treated as a secret: shorter values (test passwords such as
// "x", enum-like junk) would match ordinary text.
const minSecret = 8

// recentBytes bounds what is kept of recent log lines and answers, so that a secret registered
// just after it was written (an API key logged while its creation answer was being written) is
// still caught.
const recentBytes = 4 << 20

// secretFields are the JSON properties (and form fields) whose string values are secrets, in
// request bodies and in credential JSON.
var secretFields = map[string]bool{
	"password": true, "new_password": true, "old_password": true, "credential": true, "client_secret": true,
	"auth_token": true, "bearer_token": true, "openpayment_secret": true, "yipay_key": true, "secret": true,
	"access_token": true, "refresh_token": true, "id_token": true, "api_key": true, "apikey": true,
	"session_token": true, "webhook_secret": true, "proxy_password": true,
}

// issuedFields are the top-level properties of a 2xx JSON answer that carry a secret the answer
// issues (an API key, a session token, a TOTP secret): registered after that answer, which alone
// may show them.
// A key or token is at least 16 characters (shorter values of such fields are not secrets).
var issuedFields = map[string]int{"key": 16, "token": 16, "access_token": 16, "refresh_token": 16, "secret": minSecret}

type leakHit struct {
	test, where, what, excerpt string
	reported                   bool
}

type recentChunk struct {
	test, where string
	text        []byte
	exempt      map[string]bool
}

var leaks = struct {
	mu       sync.RWMutex
	bloom    [1 << 10]uint64 // hashed first 8 bytes of every secret
	byPrefix map[uint64][]string
	what     map[string]string
	recent   []recentChunk
	recentN  int
	hits     []*leakHit
	bodies   int64
	lines    int64
	scanned  atomic.Int64 // added to under the read lock
}{byPrefix: map[uint64][]string{}, what: map[string]string{}}

func prefixHash(v uint64) uint64 { return (v * 0x9E3779B97F4A7C15) >> 48 }

// RegisterSecret adds a secret (what names its kind) to the scan. Every answer and log line
// written from now on, and the recent ones, must not contain it.
func RegisterSecret(what, secret string) { registerSecret("", what, secret, nil) }

func registerSecret(test, what, secret string, exempt []byte) {
	for _, s := range secretForms(secret) {
		addSecret(test, what, s, exempt)
	}
}

// secretForms are the ways a secret can be written out: as is, JSON-escaped, URL-escaped.
func secretForms(s string) []string {
	if len(s) < minSecret {
		return nil
	}
	forms := []string{s}
	if j, err := json.Marshal(s); err == nil {
		if e := string(j[1 : len(j)-1]); e != s {
			forms = append(forms, e)
		}
	}
	if q := url.QueryEscape(s); q != s {
		forms = append(forms, q)
	}
	return forms
}

func addSecret(test, what, s string, exempt []byte) {
	leaks.mu.Lock()
	if _, ok := leaks.what[s]; ok {
		leaks.mu.Unlock()
		return
	}
	p := binary.LittleEndian.Uint64([]byte(s[:8]))
	h := prefixHash(p)
	leaks.bloom[h>>6] |= 1 << (h & 63)
	leaks.byPrefix[p] = append(leaks.byPrefix[p], s)
	leaks.what[s] = what
	var found []*leakHit
	for _, c := range leaks.recent {
		if c.exempt[s] || (exempt != nil && bytes.Equal(c.text, exempt)) {
			continue
		}
		if i := bytes.Index(c.text, []byte(s)); i >= 0 {
			found = append(found, &leakHit{test: c.test, where: c.where, what: what, excerpt: excerpt(c.text, i, len(s), what)})
		}
	}
	leaks.hits = append(leaks.hits, found...)
	leaks.mu.Unlock()
	_ = test
}

// remember keeps a written text for secrets registered just after it.
func remember(test, where string, text []byte, exempt map[string]bool) {
	if len(text) > recentBytes/8 {
		return
	}
	c := recentChunk{test: test, where: where, text: bytes.Clone(text), exempt: exempt}
	leaks.mu.Lock()
	leaks.recent = append(leaks.recent, c)
	leaks.recentN += len(c.text)
	for leaks.recentN > recentBytes {
		leaks.recentN -= len(leaks.recent[0].text)
		leaks.recent[0] = recentChunk{}
		leaks.recent = leaks.recent[1:]
	}
	leaks.mu.Unlock()
}

// scan looks for every registered secret in b, except those in exempt, and records the hits.
func scan(test, where string, b []byte, exempt map[string]bool) {
	if len(b) < minSecret {
		return
	}
	var found []*leakHit
	leaks.mu.RLock()
	leaks.scanned.Add(int64(len(b)))
	for i := 0; i+8 <= len(b); i++ {
		p := binary.LittleEndian.Uint64(b[i:])
		h := prefixHash(p)
		if leaks.bloom[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, s := range leaks.byPrefix[p] {
			if !exempt[s] && bytes.HasPrefix(b[i:], []byte(s)) {
				found = append(found, &leakHit{test: test, where: where, what: leaks.what[s], excerpt: excerpt(b, i, len(s), leaks.what[s])})
			}
		}
	}
	leaks.mu.RUnlock()
	if len(found) > 0 {
		leaks.mu.Lock()
		leaks.hits = append(leaks.hits, found...)
		leaks.mu.Unlock()
	}
}

// excerpt is the text around a hit with the secret itself replaced by its kind.
func excerpt(b []byte, i, n int, what string) string {
	start, end := max(i-120, 0), min(i+n+80, len(b))
	return fmt.Sprintf("%q", string(b[start:i])+"<"+what+">"+string(b[i+n:end]))
}

// reportLeaks fails t for the hits of test not reported yet.
func reportLeaks(t testing.TB, test string) {
	leaks.mu.Lock()
	var mine []*leakHit
	for _, h := range leaks.hits {
		if h.test == test && !h.reported {
			h.reported = true
			mine = append(mine, h)
		}
	}
	leaks.mu.Unlock()
	for _, h := range mine {
		t.Errorf("secret leak: the %s appears in %s: %s", h.what, h.where, h.excerpt)
	}
}

// CheckLeaks returns an error listing every hit of the process so far (nil: none).
func CheckLeaks() error {
	leaks.mu.RLock()
	defer leaks.mu.RUnlock()
	if len(leaks.hits) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "secret leak scan: %d hits\n", len(leaks.hits))
	for _, h := range leaks.hits {
		fmt.Fprintf(&b, "  %s: the %s appears in %s: %s\n", h.test, h.what, h.where, h.excerpt)
	}
	return fmt.Errorf("%s", b.String())
}

// LeakStats is what the scan has covered so far.
func LeakStats() (secrets int, bodies, lines, scannedBytes int64) {
	leaks.mu.RLock()
	defer leaks.mu.RUnlock()
	return len(leaks.what), leaks.bodies, leaks.lines, leaks.scanned.Load()
}

// runner is what goleak.VerifyTestMain runs.
type runner interface{ Run() int }

type scanRunner struct{ m runner }

// ScanSecrets wraps a package's *testing.M: after its tests, the run fails if any answer or log
// line of an app under test contained a registered secret. Use it in TestMain:
// goleak.VerifyTestMain(apptest.ScanSecrets(m), ...).
func ScanSecrets(m runner) interface{ Run() int } { return scanRunner{m: m} }

func (s scanRunner) Run() int {
	code := s.m.Run()
	if err := CheckLeaks(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return max(code, 1)
	}
	n, bodies, lines, scanned := LeakStats()
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "secret leak scan: %d answers and %d log lines (%d bytes) scanned for %d secret forms: none found\n",
			bodies, lines, scanned, n)
	}
	return code
}

// leakLog scans every log line an app writes, then passes it on.
type leakLog struct {
	test string
	next io.Writer
}

func (l *leakLog) Write(p []byte) (int, error) {
	leaks.mu.Lock()
	leaks.lines++
	leaks.mu.Unlock()
	scan(l.test, "the log", p, nil)
	remember(l.test, "the log", p, nil)
	return l.next.Write(p)
}

// leakHandler registers the secrets each request carries and scans each answer.
type leakHandler struct {
	test string
	next http.Handler
	// junk: the test sends junk in every field (JunkInputs): body fields are not taken for secrets.
	junk bool
}

// maxScannedRequest bounds the request body read to find its secrets: the bodies that carry
// secrets (sign-ins, keys, credentials, settings) are small, and decoding a large one would hold
// many times its size (a 1 MiB body of small objects decodes into about 90 MiB), which the
// memory-bound tests (TestInvalidBodyBurst) would count against the server.
const maxScannedRequest = 64 << 10

func (l *leakHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	where := "the answer to " + r.Method + " " + r.URL.Path
	lw := &leakWriter{ResponseWriter: w, test: l.test, where: where, pending: requestSecrets(r, l.junk)}
	l.next.ServeHTTP(lw, r)
	lw.finish()
}

// candidate is a secret a request carries, registered once its answer shows the app took it: a
// credential the app did not refuse (not 401), a body field of a request it accepted (2xx). Junk
// that invalid-input tests send where credentials or passwords go is never a secret.
type candidate struct {
	what, value string
	credential  bool
}

// requestSecrets are the secrets a request carries: credentials in its headers and query, and
// secret fields in a management body.
func requestSecrets(r *http.Request, junk bool) []candidate {
	var out []candidate
	cred := func(what, v string) {
		if credentialLike(v) {
			out = append(out, candidate{what: what, value: v, credential: true})
		}
	}
	for _, h := range []string{"X-Api-Key", "X-Goog-Api-Key"} {
		cred("API key", r.Header.Get(h))
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		cred("bearer credential", v)
	}
	if _, p, ok := r.BasicAuth(); ok && len(p) >= minSecret {
		out = append(out, candidate{what: "basic-auth password", value: p, credential: true})
	}
	cred("API key", r.URL.Query().Get("key"))
	for _, c := range r.Cookies() {
		cred("session cookie", c.Value)
	}
	if junk || r.Body == nil || r.Body == http.NoBody || gatewayPath(r.URL.Path) {
		return out
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxScannedRequest))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if err != nil || len(head) == maxScannedRequest {
		return out
	}
	field := func(what, v string) { out = append(out, candidate{what: what, value: v}) }
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(head)); err == nil {
			for k, vs := range form {
				for _, v := range vs {
					fieldSecrets(field, k, v)
				}
			}
		}
		return out
	}
	var v any
	if json.Unmarshal(head, &v) == nil {
		walkSecrets(field, "", v, 0)
	}
	return out
}

// credentialLike says whether a value looks like a credential Poolgate issues: an API key or an
// opaque session token (16 characters or more, letters and digits, no spaces, slashes or dots), or
// a JWT (three parts).
func credentialLike(v string) bool {
	if len(v) < 16 || strings.ContainsAny(v, " /\\\x00") ||
		!strings.ContainsAny(v, "0123456789") || !strings.ContainsAny(strings.ToLower(v), "abcdefghijklmnopqrstuvwxyz") {
		return false
	}
	return !strings.Contains(v, ".") || strings.Count(v, ".") == 2
}

// gatewayPath is a gateway call: its body is the caller's prompt, relayed, never a secret field.
func gatewayPath(p string) bool {
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v1beta/")
}

// walkSecrets registers the secrets in a decoded JSON value.
func walkSecrets(add func(what, v string), key string, v any, depth int) {
	if depth > 32 {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			walkSecrets(add, k, x, depth+1)
		}
	case []any:
		for _, x := range v {
			walkSecrets(add, key, x, depth+1)
		}
	case string:
		fieldSecrets(add, key, v)
	}
}

// fieldSecrets registers the secret a field carries: its value when the field is a secret (and
// the secrets inside it when it is credential JSON), or the password of a URL's userinfo.
func fieldSecrets(add func(what, v string), key, v string) {
	if secretFields[strings.ToLower(key)] {
		add(key, v)
		var inner any
		if strings.HasPrefix(strings.TrimSpace(v), "{") && json.Unmarshal([]byte(v), &inner) == nil {
			walkSecrets(add, key, inner, 1)
		}
		return
	}
	if strings.Contains(v, "@") && strings.Contains(v, "://") {
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				add("password in "+key, p)
			}
		}
	}
}

// leakWriter scans an answer as it is written: the tail of each write is kept so that a secret
// split across two writes is found. Small JSON answers are kept whole to find the secrets they
// issue.
type leakWriter struct {
	http.ResponseWriter
	test, where string
	status      int
	pending     []candidate
	carry       []byte
	whole       []byte
	tooLarge    bool
}

// maxCarry is longer than any secret a test registers (a JWT, a credential JSON).
const maxCarry = 4 << 10

// maxWhole bounds the answers kept whole.
const maxWhole = 256 << 10

func (w *leakWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *leakWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	streaming := w.tooLarge || strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream")
	if !streaming && len(w.whole)+len(p) > maxWhole {
		// Too large to keep: scan what was kept so far and go on as a stream.
		streaming, w.tooLarge = true, true
		w.carry, w.whole = w.whole, nil
	}
	if !streaming {
		w.whole = append(w.whole, p...)
		return w.ResponseWriter.Write(p)
	}
	w.takeSecrets()
	buf := append(w.carry, p...) //nolint:gocritic // one slice of both on purpose
	scan(w.test, w.where, buf, nil)
	w.carry = bytes.Clone(buf[max(len(buf)-maxCarry, 0):])
	return w.ResponseWriter.Write(p)
}

// finish scans an answer kept whole: a 2xx JSON answer may show the secrets it issues (they are
// registered now, and may appear nowhere else).
func (w *leakWriter) finish() {
	leaks.mu.Lock()
	leaks.bodies++
	leaks.mu.Unlock()
	w.takeSecrets()
	if w.tooLarge || w.whole == nil {
		return // scanned as it was written
	}
	var issued map[string]bool
	var top map[string]any
	if w.status >= 200 && w.status < 300 && json.Unmarshal(w.whole, &top) == nil {
		for f, least := range issuedFields {
			if s, ok := top[f].(string); ok && len(s) >= least {
				if issued == nil {
					issued = map[string]bool{}
				}
				for _, form := range secretForms(s) {
					issued[form] = true
				}
			}
		}
	}
	scan(w.test, w.where, w.whole, issued)
	for s := range issued {
		addSecret(w.test, "secret issued by "+w.where, s, w.whole)
	}
	remember(w.test, w.where, w.whole, issued)
}

func (w *leakWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (deadlines, hijack).
func (w *leakWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// leakLogger is an app's logger: JSON at debug level, every line scanned, then written to w
// (nil: discarded; TEST_APP_LOG set: also to stderr).
func leakLogger(test string, w io.Writer) *slog.Logger {
	out := io.Discard
	switch {
	case w != nil:
		out = w
	case os.Getenv("TEST_APP_LOG") != "":
		out = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(&leakLog{test: test, next: out}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// configSecrets registers the app's own secrets.
func configSecrets(cfg *config.Config) {
	RegisterSecret("encryption key", string(cfg.EncryptionKey))
	RegisterSecret("JWT secret", string(cfg.JWTSecret))
	RegisterSecret("hook secret", string(cfg.HookSecret))
	RegisterSecret("OIDC client secret", cfg.OIDCClientSecret)
	RegisterSecret("admin init key", cfg.AdminLoginInitKey)
	RegisterSecret("metrics token", cfg.MetricsToken)
}

// takeSecrets registers the request's secrets that its answer shows the app took (see candidate).
func (w *leakWriter) takeSecrets() {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	for _, c := range w.pending {
		if (c.credential && status != http.StatusUnauthorized) || (status >= 200 && status < 300) {
			registerSecret(w.test, c.what, c.value, nil)
		}
	}
	w.pending = nil
}
