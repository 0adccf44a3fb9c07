package reliability_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	adminapi "github.com/poolgate/poolgate/gen/api/admin"
	authapi "github.com/poolgate/poolgate/gen/api/auth"
	gatewayapi "github.com/poolgate/poolgate/gen/api/gateway"
	hooksapi "github.com/poolgate/poolgate/gen/api/hooks"
	publicapi "github.com/poolgate/poolgate/gen/api/public"
	seed001api "github.com/poolgate/poolgate/gen/api/seed001"
	userapi "github.com/poolgate/poolgate/gen/api/user"
)

// operation is one operation of a contract, as its spec describes it.
type operation struct {
	Contract string
	Method   string
	Path     string // the template, /api/user/api-keys/{id}
	ID       string
	Op       *openapi3.Operation
	Item     *openapi3.PathItem
	// Security is the operation's effective security (its own, else the contract's).
	Security openapi3.SecurityRequirements
}

// Public says whether the operation may be called without credentials (security [] or an
// empty requirement among its alternatives).
func (o operation) Public() bool {
	if len(o.Security) == 0 {
		return true
	}
	for _, r := range o.Security {
		if len(r) == 0 {
			return true
		}
	}
	return false
}

// contracts loads the six contracts and seed 001's from the generated packages (the specs the
// server embeds).
func contracts(t testing.TB) map[string]*openapi3.T {
	t.Helper()
	out := map[string]*openapi3.T{}
	for name, get := range map[string]func() (*openapi3.T, error){
		"public": publicapi.GetSpec, "auth": authapi.GetSpec, "user": userapi.GetSpec,
		"admin": adminapi.GetSpec, "gateway": gatewayapi.GetSpec, "hooks": hooksapi.GetSpec,
		"seed001": seed001api.GetSpec,
	} {
		s, err := get()
		require.NoError(t, err, name)
		out[name] = s
	}
	return out
}

// operations lists every operation of the contracts, sorted by contract, path and method.
func operations(t testing.TB) []operation {
	t.Helper()
	var ops []operation
	for name, spec := range contracts(t) {
		for path, item := range spec.Paths.Map() {
			for method, op := range item.Operations() {
				sec := spec.Security
				if op.Security != nil {
					sec = *op.Security
				}
				ops = append(ops, operation{Contract: name, Method: method, Path: path, ID: lowerFirst(op.OperationID), Op: op, Item: item, Security: sec})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		a, b := ops[i], ops[j]
		if a.Contract != b.Contract {
			return a.Contract < b.Contract
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Method < b.Method
	})
	return ops
}

// parameters are the operation's parameters, the path item's included.
func (o operation) parameters() openapi3.Parameters {
	return append(append(openapi3.Parameters{}, o.Item.Parameters...), o.Op.Parameters...)
}

// example is a value from the spec for a parameter: its example, else its schema's, else its
// schema's default or first enum value.
func paramExample(p *openapi3.Parameter) (any, bool) {
	if p.Example != nil {
		return p.Example, true
	}
	for _, ex := range p.Examples {
		if ex.Value != nil {
			return ex.Value.Value, true
		}
	}
	if p.Schema != nil && p.Schema.Value != nil {
		s := p.Schema.Value
		switch {
		case s.Example != nil:
			return s.Example, true
		case s.Default != nil:
			return s.Default, true
		case len(s.Enum) > 0:
			return s.Enum[0], true
		}
	}
	return nil, false
}

// bodyExample is the JSON example of the operation's request body (nil when it has none).
func (o operation) bodyExample() (any, bool) {
	if o.Op.RequestBody == nil || o.Op.RequestBody.Value == nil {
		return nil, false
	}
	mt := o.Op.RequestBody.Value.Content.Get("application/json")
	if mt == nil {
		return nil, false
	}
	if mt.Example != nil {
		return mt.Example, true
	}
	names := make([]string, 0, len(mt.Examples))
	for n := range mt.Examples {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if ex := mt.Examples[n]; ex != nil && ex.Value != nil {
			return ex.Value.Value, true
		}
	}
	return nil, false
}

// call is one request to send: the operation with its parameters and body filled in.
type call struct {
	Method string
	Path   string // filled in
	Query  url.Values
	Body   []byte // nil for none
	Header http.Header
}

// exampleCall fills the operation in from its spec's examples; params (by name) and body
// replace them.
func (o operation) exampleCall(params map[string]string, body any) (call, error) {
	c := call{Method: o.Method, Path: o.Path, Query: url.Values{}, Header: http.Header{}}
	for _, pr := range o.parameters() {
		p := pr.Value
		v, ok := params[p.Name]
		if !ok {
			ex, has := paramExample(p)
			if !has {
				if p.Required {
					return c, fmt.Errorf("parameter %q has no example", p.Name)
				}
				continue
			}
			if !p.Required && p.In != openapi3.ParameterInPath {
				continue // optional parameters stay out: the call is the minimal one
			}
			v = fmt.Sprint(ex)
		}
		switch p.In {
		case openapi3.ParameterInPath:
			c.Path = strings.ReplaceAll(c.Path, "{"+p.Name+"}", url.PathEscape(v))
		case openapi3.ParameterInQuery:
			c.Query.Set(p.Name, v)
		case openapi3.ParameterInHeader:
			c.Header.Set(p.Name, v)
		}
	}
	if body == nil {
		body, _ = o.bodyExample()
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return c, err
		}
		c.Body = b
		c.Header.Set("Content-Type", "application/json")
	}
	return c, nil
}

// send makes the call on base with the credentials cred adds.
func send(t testing.TB, hc *http.Client, base string, c call, cred func(*http.Request)) (int, []byte) {
	t.Helper()
	status, b, err := trySend(hc, base, c, cred)
	require.NoError(t, err)
	return status, b
}

// trySend is send returning the error (safe to call from any goroutine).
func trySend(hc *http.Client, base string, c call, cred func(*http.Request)) (int, []byte, error) {
	u := base + c.Path
	if len(c.Query) > 0 {
		u += "?" + c.Query.Encode()
	}
	var body io.Reader
	if c.Body != nil {
		body = bytes.NewReader(c.Body)
	}
	req, err := http.NewRequest(c.Method, u, body)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if cred != nil {
		cred(req)
	}
	hc2 := *hc
	hc2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := hc2.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", c.Method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// lowerFirst writes an operationId as the spec does (the generated specs capitalise it).
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
