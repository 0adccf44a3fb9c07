package relay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/oauth"
	"github.com/poolgate/poolgate/internal/provider"
	"github.com/poolgate/poolgate/internal/translate"
	"github.com/poolgate/poolgate/internal/upstreamhttp"
)

// translation caches one call's conversions: the canonical request decoded from the caller's
// body (once) and the body encoded for each upstream protocol tried.
type translation struct {
	src    []byte // the body ir was decoded from
	ir     *translate.Request
	err    error
	bodies [4][]byte // by translate.Protocol
	// fast is the OpenAI body of a Claude request converted without ir (fastSrc: from which body).
	fast, fastSrc []byte
}

// sameSlice reports whether a and b are the same bytes in memory.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// adapterOf is the adapter of an account's channel's protocol.
func adapterOf(acc *account) (provider.Adapter, bool) {
	return provider.ForChannel(acc.channel.typ)
}

// adapter is the adapter of the caller's protocol.
func (ep *Endpoint) adapter() provider.Adapter {
	a, _ := provider.For(ep.in)
	return a
}

func isFault(err error) bool {
	_, ok := fault.As(err)
	return ok
}

// send posts the call to one account, in the account's protocol (its adapter): the caller's body
// unchanged when the protocols match (body may differ from the caller's by what relay and the pool
// changed: the stream usage flag, dropped session artefacts), else translated. A request that
// cannot be expressed in the account's protocol returns a fault without any upstream call.
func (rl *Relay) send(ctx context.Context, k *call, acc *account, body []byte) (*http.Response, error) {
	ad, ok := adapterOf(acc)
	if !ok {
		return nil, fault.Code(fault.Unavailable, "unsupported_channel", "channel type "+acc.channel.typ+" is not supported")
	}
	up := ad.Protocol()
	path := k.ep.path
	if up != k.ep.in {
		if k.ep.op != opChat && k.ep.op != opResponses { // Responses calls translate too (responses_*.go)
			return nil, fault.Code(fault.Invalid, "unsupported_endpoint", k.ep.name+" is not available for model "+
				k.req.Model+": it is served by a "+up.String()+" channel, which does not offer this endpoint")
		}
		var err error
		if body, err = k.translated(body, ad); err != nil {
			return nil, err
		}
		path = ad.ChatPath(k.req.Stream)
	}
	model := acc.channel.upstreamModel(k.req.Model)
	k.rec.UpstreamModel = model
	if model != k.req.Model {
		var err error
		if body, err = ad.WithModel(body, model); err != nil {
			return nil, fault.Code(fault.Invalid, "invalid_json", "the request body is not valid JSON")
		}
	}
	u, err := acc.channel.urls.get(ad, acc.channel.baseURL, model, path)
	if err != nil {
		return nil, err
	}
	cred := acc.credential
	if acc.oauth != nil && rl.d.OAuth != nil {
		tok, err := rl.d.OAuth.Token(ctx, acc.id, acc.oauth, false) // refreshed before it expires
		if err != nil {
			return nil, err
		}
		cred = tok
	}
	resp, err := rl.post(ctx, k, acc, ad, u, body, cred)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || acc.oauth == nil || rl.d.OAuth == nil {
		return resp, err
	}
	// The upstream refused the access token: refresh it once and try again.
	resp.Body.Close()
	tok, err := rl.d.OAuth.Token(ctx, acc.id, &oauth.Credential{Type: oauth.TypeOAuth, AccessToken: cred}, true)
	if err != nil {
		return nil, err
	}
	return rl.post(ctx, k, acc, ad, u, body, tok)
}

// post sends one upstream request with credential cred in the adapter's protocol. The request
// goes to the account's transport (roundTrip).
func (rl *Relay) post(ctx context.Context, k *call, acc *account, ad provider.Adapter, u *url.URL, body []byte, cred string) (*http.Response, error) {
	// What http.NewRequestWithContext makes of the URL's text, from the channel's parsed URL
	// (shared by its calls: no transport changes a request's URL).
	r := (&http.Request{Method: http.MethodPost, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, 6), Host: u.Host}).WithContext(ctx)
	// The body as NewRequestWithContext sets a bytes.Reader's, but one the upstream transport
	// sends without copying it (the transport writes it before RoundTrip returns).
	if len(body) > 0 {
		r.Body, r.ContentLength = upstreamhttp.NewBody(body), int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return upstreamhttp.NewBody(body), nil }
	} else {
		r.Body, r.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	h := r.Header
	var in http.Header // the caller's headers, passed to an adapter of the caller's own protocol
	if ad.Protocol() == k.ep.in {
		in = k.r.Header
	}
	if ch, ok := ad.(provider.CredentialHeaderer); ok {
		name, v := acc.credentialHeader(ch, cred)
		h[name] = v
	} else {
		ad.SetHeaders(h, in, cred)
	}
	accept := "application/json"
	if k.req.Stream {
		accept = "text/event-stream"
	}
	// Set, with the three values in one allocation (each field's slice ends at its value, so an
	// append copies).
	v := []string{"application/json", accept, "Poolgate/0.1"}
	h["Content-Type"], h["Accept"], h["User-Agent"] = v[0:1:1], v[1:2:2], v[2:3:3]
	return rl.roundTrip(acc, r)
}

// roundTrip sends r through the upstream transport directly. http.Client.Do adds nothing a
// gateway call uses (redirects are never followed, there is no cookie jar and no client-wide
// timeout) but costs, per call, a copy of the request headers kept for redirects and a rewindable
// body wrapper. Errors are wrapped as Client.Do wraps them, so logs read the same. An account
// with an outbound proxy goes through that proxy's transport.
func (rl *Relay) roundTrip(acc *account, r *http.Request) (*http.Response, error) {
	rt := acc.rt
	if rt == nil {
		rt = rl.client.Transport
	}
	resp, err := rt.RoundTrip(r)
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: r.URL.Redacted(), Err: err}
	}
	return resp, nil
}

// request decodes the caller's body into the canonical request, once per distinct body.
func (k *call) request(body []byte) (*translate.Request, error) {
	t := &k.tr
	if t.ir != nil || t.err != nil {
		if sameSlice(body, t.src) {
			return t.ir, t.err
		}
		*t = translation{}
	}
	t.src = body
	var err error
	if k.ep.op == opResponses {
		t.ir, err = translate.DecodeResponsesRequest(body)
	} else {
		t.ir, err = k.ep.adapter().DecodeRequest(body, k.req.Model, k.req.Stream)
	}
	var te *translate.Error
	if errors.As(err, &te) {
		t.err = fault.Code(fault.Invalid, "unsupported_request", te.Message)
	} else if err != nil {
		t.err = fault.Wrap(fault.Invalid, "the request could not be read", err)
	}
	if t.ir != nil {
		t.ir.Model, t.ir.Stream = k.req.Model, k.req.Stream
	}
	return t.ir, t.err
}

// translated returns the body in the adapter's protocol.
func (k *call) translated(body []byte, ad provider.Adapter) ([]byte, error) {
	up := ad.Protocol()
	if up == translate.OpenAI && k.ep.in == translate.Claude && k.ep.op == opChat {
		// The commonest translated call, converted without the canonical request (a stream's
		// message_start counts the request's input from it: commitEvents decodes it then).
		t := &k.tr
		if t.fast != nil && sameSlice(t.fastSrc, body) {
			return t.fast, nil
		}
		if out, ok := translate.ClaudeToOpenAIFast(body, k.req.Model, k.req.Stream); ok {
			t.fast, t.fastSrc = out, body
			return out, nil
		}
	}
	ir, err := k.request(body)
	if err != nil {
		return nil, err
	}
	if b := k.tr.bodies[up]; b != nil {
		return b, nil
	}
	out := ad.EncodeRequest(ir)
	k.tr.bodies[up] = out
	return out, nil
}

// countsLocally reports whether a token count on acc is answered by the offline tokenizer: its
// protocol is not the caller's, so no upstream of the account can count in the caller's words.
func (k *call) countsLocally(acc *account) bool {
	if k.ep.op != opCount {
		return false
	}
	ad, ok := adapterOf(acc)
	return ok && ad.Protocol() != k.ep.in
}

// countLocally counts a token count call's tokens with the offline tokenizer and returns the
// answer in the caller's protocol.
func (rl *Relay) countLocally(k *call, body []byte) ([]byte, error) {
	src := body
	if k.ep.in == translate.Gemini {
		// countTokens takes {"contents": ...} or {"generateContentRequest": {...}}.
		if inner := gjsonGet(body, "generateContentRequest"); inner != nil {
			src = inner
		}
	}
	ir, err := k.request(src)
	if err != nil {
		return nil, err
	}
	return k.ep.adapter().TokenCount(rl.tokens().Request(ir)), nil
}

// answerCount answers a token count counted locally, and records the call uncharged.
func (rl *Relay) answerCount(k *call, out []byte) error {
	w := k.w
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	k.finishWith(rl, k.answeredStatus(), billing.Usage{}, false, out, false)
	return nil
}

// tokens returns the offline tokenizer, loaded on first use.
func (rl *Relay) tokens() *translate.Counter {
	rl.counterOnce.Do(func() { rl.counter = translate.NewCounter() })
	return rl.counter
}

// urlCache holds a channel's parsed upstream URLs by model and path: a gateway call would
// otherwise build the URL's text and parse it again on every call. A channel is called at a few
// URLs (its models times the endpoints); past maxCachedURLs (a channel serving models by
// pattern, whose names the callers choose) the URLs are parsed per call instead.
type urlCache struct {
	m sync.Map // urlKey → *url.URL
	n atomic.Int32
}

type urlKey struct{ model, path string }

const maxCachedURLs = 256

// get returns the URL ad calls base at for model and path, as http.NewRequest would parse it
// (the port of an empty ":port" removed from the host).
func (c *urlCache) get(ad provider.Adapter, base, model, path string) (*url.URL, error) {
	key := urlKey{model, path}
	if u, ok := c.m.Load(key); ok {
		return u.(*url.URL), nil //nolint:forcetypeassert // only *url.URL is stored
	}
	u, err := url.Parse(ad.URL(base, model, path))
	if err != nil {
		return nil, err
	}
	u.Host = strings.TrimSuffix(u.Host, ":")
	if c.n.Load() < maxCachedURLs {
		if _, loaded := c.m.LoadOrStore(key, u); !loaded {
			c.n.Add(1)
		}
	}
	return u, nil
}
