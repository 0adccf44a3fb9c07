package apptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/api/auth"
	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/gen/api/public"
	"github.com/poolgate/poolgate/gen/api/seed001"
	"github.com/poolgate/poolgate/gen/api/user"
)

var (
	routersOnce sync.Once
	specRouters []routers.Router
	routersErr  error
)

// contractNames are the served contracts, in the order of their routers.
var contractNames = []string{"public", "auth", "user", "admin", "gateway", "seed001"}

// contractRouters builds one router per served contract from the embedded specs.
func contractRouters() ([]routers.Router, error) {
	routersOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		for _, get := range []func() (*openapi3.T, error){publicapi.GetSpec, authapi.GetSpec, userapi.GetSpec, adminapi.GetSpec,
			gatewayapi.GetSpec, seed001api.GetSpec} {
			spec, err := get()
			if err != nil {
				routersErr = err
				return
			}
			spec.Servers = nil
			r, err := gorillamux.NewRouter(spec)
			if err != nil {
				routersErr = err
				return
			}
			specRouters = append(specRouters, r)
		}
	})
	return specRouters, routersErr
}

// validatingTransport checks every request and response that crosses it against the contracts:
// a handler that diverges from its spec fails the test. Requests are checked only when
// checkRequests is set (bad-input tests send invalid requests on purpose).
type validatingTransport struct {
	t             testing.TB
	base          http.RoundTripper
	checkRequests bool
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rs, err := contractRouters()
	if err != nil {
		v.t.Errorf("load contracts: %v", err)
		return nil, err
	}
	var route *routers.Route
	var params map[string]string
	contract := ""
	for i, r := range rs {
		if route, params, err = r.FindRoute(req); err == nil {
			contract = contractNames[i]
			break
		}
	}
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if route != nil && v.checkRequests {
		vr := req.Clone(context.Background())
		vr.Body = io.NopCloser(bytes.NewReader(reqBody))
		in.Request = vr
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			v.t.Errorf("request %s %s does not match its contract: %v", req.Method, req.URL.Path, err)
		}
		in.Request = req
	}
	resp, err := v.base.RoundTrip(req)
	if err != nil || route == nil {
		return resp, err
	}
	stream := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	var body []byte
	if !stream {
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: stream}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("response %d to %s %s does not match its contract: %v\nbody: %s", resp.StatusCode, req.Method,
			req.URL.Path, err, truncate(body))
	}
	if !stream {
		if err := record(contract, v.checkRequests, req, reqBody, resp, body); err != nil {
			v.t.Errorf("record the exchange for the contract replay: %v", err)
		}
	}
	return resp, nil
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return fmt.Sprintf("%s… (%d bytes)", b[:2000], len(b))
	}
	return string(b)
}
