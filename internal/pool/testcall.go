package pool

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/poolgate/poolgate/internal/egress"
	"github.com/poolgate/poolgate/internal/provider"
)

// TestResult is what one test call found.
type TestResult struct {
	// OK: the upstream answered 200.
	OK bool
	// Status is the upstream's HTTP status (0: unreachable).
	Status int
	// Latency runs from sending the request to the end of the answer.
	Latency time.Duration
	// Answer is the answer's text; Error why the call failed (credentials scrubbed).
	Answer, Error string
}

// maxTestAnswer bounds the test call's answer read.
const maxTestAnswer = 1 << 20

// TestCall sends one minimal completion to a channel's upstream (its type's protocol, URL and
// auth, from baseURL) with credential, through proxy ("" for direct), and reports the status, the
// latency and the answer. It changes no account state and charges nothing.
func (p *Pool) TestCall(ctx context.Context, typ, baseURL, credential, proxy, model string) TestResult {
	credential = accessToken(credential)
	ad := adapterOf(typ)
	u, body := ad.TestCall(baseURL, model)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return TestResult{Error: "the channel's base URL is not usable"}
	}
	ad.SetHeaders(req.Header, nil, credential)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Poolgate/0.1")
	start := time.Now()
	res, err := p.client(proxy).Do(req)
	if err != nil {
		if egress.IsProxyError(err) {
			return TestResult{Latency: time.Since(start), Error: "proxy " + egress.Redact(proxy) + " unreachable: " + ErrProxy.Error()}
		}
		return TestResult{Latency: time.Since(start), Error: provider.Redact(fmt.Sprintf("upstream unreachable: %v", err), credential)}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxTestAnswer))
	out := TestResult{Status: res.StatusCode, Latency: time.Since(start)}
	switch {
	case err != nil:
		out.Error = "the upstream's answer could not be read"
	case res.StatusCode != http.StatusOK:
		msg, _, _ := ad.Error(raw)
		if msg == "" {
			msg = fmt.Sprintf("upstream answered HTTP %d", res.StatusCode)
		}
		out.Error = provider.Redact(msg, credential)
	default:
		out.OK, out.Answer = true, ad.AnswerText(raw)
	}
	return out
}
