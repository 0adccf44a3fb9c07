package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
)

type testBundle struct {
	e    *echo.Echo
	logs *bytes.Buffer
	mu   *sync.Mutex
}

// lockedWriter lets parallel requests log to one buffer.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// setup builds an echo with Poolgate's middleware and error handler; errors on paths under /v1/
// are rendered by a second shape.
func setup(t *testing.T) *testBundle {
	t.Helper()
	b := &testBundle{logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	log := slog.New(slog.NewJSONHandler(lockedWriter{mu: b.mu, b: b.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(log, httpx.ShapeRule{Prefix: "/v1/", Render: func(c echo.Context, status int, fe *fault.Error, rid string) error {
		return c.JSON(status, map[string]any{"error": map[string]string{"message": fe.Message, "code": fe.Code}})
	}})
	e.Use(httpx.RequestID(httpx.NewIDGen()), httpx.AccessLog(log), httpx.Recover(log))
	b.e = e
	return b
}

func (b *testBundle) do(t *testing.T, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	b.e.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func (b *testBundle) logged() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.logs.String()
}

type errorBody struct {
	Detail struct {
		Error     string `json:"error"`
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	} `json:"detail"`
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var e errorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
	return e
}

func TestErrorHandler(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		msg    string
	}{
		{"Fault", fault.New(fault.NotFound, "channel not found"), 404, "not_found", "channel not found"},
		{"FaultCode", fault.Code(fault.Conflict, "setup_completed", "setup has already been completed"), 409, "setup_completed", "setup has already been completed"},
		{"WrappedFault", fmt.Errorf("load: %w", fault.New(fault.Forbidden, "no")), 403, "forbidden", "no"},
		{"Unavailable", fault.Wrap(fault.Unavailable, "service temporarily unavailable", errors.New("dial tcp: refused")), 503, "unavailable", "service temporarily unavailable"},
		{"Unexpected", errors.New("pq: secret internals"), 500, "internal", "internal server error"},
		{"EchoFault", &echo.HTTPError{Code: 401, Message: "x", Internal: fault.New(fault.Unauthorized, "who?")}, 401, "unauthorized", "who?"},
		{"Echo400", echo.NewHTTPError(400, "request body has an error: doesn't match schema: property \"name\" is missing\nSchema:\n  {}\nValue:\n  {}"), 400, "invalid_request", `property "name" is missing`},
		{"Echo400Decode", echo.NewHTTPError(400, "request body has an error: failed to decode request body: unexpected EOF"), 400, "invalid_json", "failed to decode request body"},
		{"Echo401", echo.ErrUnauthorized, 401, "unauthorized", httpx.MsgUnauthorized},
		{"Echo403", echo.ErrForbidden, 403, "forbidden", httpx.MsgForbidden},
		{"Echo404", echo.ErrNotFound, 404, "not_found", "no such route"},
		{"Echo413", echo.ErrStatusRequestEntityTooLarge, 413, "body_too_large", "request body is too large"},
		{"Echo413Inside", &echo.HTTPError{Code: 400, Message: "decode", Internal: echo.ErrStatusRequestEntityTooLarge}, 413, "body_too_large", "request body is too large"},
		{"Echo415", echo.ErrUnsupportedMediaType, 400, "unsupported_media_type", "application/json"},
		{"Echo429", echo.ErrTooManyRequests, 429, "rate_limited", "too many requests"},
		{"Echo503", echo.ErrServiceUnavailable, 503, "unavailable", "service temporarily unavailable"},
		{"Echo502", echo.ErrBadGateway, 500, "internal", "internal server error"},
		{"InternalFault", fault.Wrap(fault.Internal, fault.MsgInternal, errors.New("secret internals")), 500, "internal", "internal server error"},
		// Database errors returned as they are are translated here, in one place.
		{"NoRows", fmt.Errorf("load: %w", pgx.ErrNoRows), 404, "not_found", "not found"},
		{"Unique", &pgconn.PgError{Code: "23505", Message: "secret internals"}, 409, "conflict", "already exists"},
		{"ForeignKey", &pgconn.PgError{Code: "23503", Message: "secret internals"}, 404, "not_found", "does not exist"},
		{"Check", &pgconn.PgError{Code: "23514", Message: "secret internals"}, 400, "invalid_request", "out of range"},
		{"DBShutdown", &pgconn.PgError{Code: "57P01", Message: "secret internals"}, 503, "unavailable", "temporarily unavailable"},
		{"DBOther", &pgconn.PgError{Code: "42P01", Message: "secret internals"}, 500, "internal", "internal server error"},
	}
	for _, tt := range tests {
		b.e.GET("/err/"+tt.name, func(echo.Context) error { return tt.err })
		b.e.GET("/v1/err/"+tt.name, func(echo.Context) error { return tt.err })
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := b.do(t, http.MethodGet, "/err/"+tt.name)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			e := decode(t, rec)
			require.Equal(t, tt.code, e.Detail.Code)
			require.Contains(t, e.Detail.Error, tt.msg)
			require.NotContains(t, e.Detail.Error, "Schema:")
			require.NotContains(t, rec.Body.String(), "secret internals", "internals never reach the caller")
			rid := rec.Header().Get(httpx.HeaderRequestID)
			require.NotEmpty(t, rid)
			if tt.status >= 500 {
				require.Equal(t, rid, e.Detail.RequestID, "server errors carry the request id")
			} else {
				require.Empty(t, e.Detail.RequestID)
			}

			// Another contract's shape for its own paths.
			rec = b.do(t, http.MethodGet, "/v1/err/"+tt.name)
			require.Equal(t, tt.status, rec.Code)
			var o struct {
				Error struct{ Message, Code string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &o))
			require.Equal(t, tt.code, o.Error.Code)
		})
	}
	t.Run("UnknownRoute", func(t *testing.T) {
		t.Parallel()
		rec := b.do(t, http.MethodGet, "/nowhere")
		require.Equal(t, http.StatusNotFound, rec.Code)
		require.Equal(t, "not_found", decode(t, rec).Detail.Code)
	})
}

func TestErrorLogs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.e.GET("/boom", func(echo.Context) error { return errors.New("pq: secret internals") })
	b.e.GET("/missing", func(echo.Context) error { return fault.New(fault.NotFound, "gone") })
	rec := b.do(t, http.MethodGet, "/boom")
	rid := rec.Header().Get(httpx.HeaderRequestID)
	b.do(t, http.MethodGet, "/missing")

	var lines []map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(b.logged()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		lines = append(lines, m)
	}
	find := func(level, msg, path string) map[string]any {
		for _, m := range lines {
			if m["level"] == level && m["msg"] == msg && m["path"] == path {
				return m
			}
		}
		t.Fatalf("no %s %q for %s in %v", level, msg, path, lines)
		return nil
	}
	boom := find("ERROR", "request failed", "/boom")
	require.Equal(t, rid, boom["request_id"])
	require.Contains(t, boom["error"], "secret internals", "the log keeps the cause")
	require.EqualValues(t, 500, boom["status"])
	find("WARN", "request refused", "/missing")
	access := find("INFO", "request", "/boom")
	require.EqualValues(t, 500, access["status"])
	require.Equal(t, rid, access["request_id"])
	require.EqualValues(t, 404, find("INFO", "request", "/missing")["status"])
}

func TestRecover(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.e.GET("/panic", func(echo.Context) error { panic("kaboom") })
	b.e.GET("/abort", func(echo.Context) error { panic(http.ErrAbortHandler) })

	rec := b.do(t, http.MethodGet, "/panic")
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	e := decode(t, rec)
	require.Equal(t, "internal", e.Detail.Code)
	require.NotContains(t, rec.Body.String(), "kaboom")
	require.Contains(t, b.logged(), `"panic":"kaboom"`)
	require.Contains(t, b.logged(), "stack")

	require.PanicsWithValue(t, http.ErrAbortHandler, func() { b.do(t, http.MethodGet, "/abort") },
		"an aborted handler still aborts the connection")
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var fromCtx string
	b.e.GET("/id", func(c echo.Context) error {
		fromCtx = httpx.RequestIDFrom(c.Request().Context())
		return c.NoContent(http.StatusNoContent)
	})
	req := httptest.NewRequest(http.MethodGet, "/id", nil)
	req.Header.Set(httpx.HeaderRequestID, "client-chosen")
	rec := httptest.NewRecorder()
	b.e.ServeHTTP(rec, req)
	rid := rec.Header().Get(httpx.HeaderRequestID)
	require.NotEqual(t, "client-chosen", rid, "ids are never taken from the client")
	require.Equal(t, rid, fromCtx)
	require.Empty(t, httpx.RequestIDFrom(context.Background()))

	// Unique within a generator and across generators (instances).
	g1, g2 := httpx.NewIDGen(), httpx.NewIDGen()
	seen := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, g := range []*httpx.IDGen{g1, g1, g2, g2} {
		wg.Go(func() {
			for range 1000 {
				id := g.Next()
				mu.Lock()
				require.False(t, seen[id], id)
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, 4000)
}

func TestBody(t *testing.T) {
	t.Parallel()
	require.Nil(t, httpx.Body(context.Background()), "no body kept")
	body := `{"a": null, "b": 1}`
	get := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	ctx := httpx.KeepBody(context.Background(), get)
	require.Equal(t, body, string(httpx.Body(ctx)))
	require.Equal(t, body, string(httpx.Body(ctx)), "reread as often as asked")
	require.Nil(t, httpx.Body(httpx.KeepBody(context.Background(), nil)))
}

// recording makes middleware that appends its name to order when it runs.
func recording(order *[]string) func(name string) echo.MiddlewareFunc {
	return func(name string) echo.MiddlewareFunc {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { *order = append(*order, name); return next(c) }
		}
	}
}

func TestRouter(t *testing.T) {
	t.Parallel()
	e := echo.New()
	var order []string
	mw := recording(&order)
	r := httpx.Router{E: e, MW: []echo.MiddlewareFunc{mw("contract")}}
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	r.GET("/a", ok, mw("route"))
	r.POST("/a", ok)
	r.PUT("/a", ok)
	r.PATCH("/a", ok)
	r.DELETE("/a", ok)
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		order = nil
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(m, "/a", nil))
		require.Equal(t, http.StatusNoContent, rec.Code, m)
		if m == http.MethodGet {
			require.Equal(t, []string{"contract", "route"}, order, "the contract's middleware runs first")
		} else {
			require.Equal(t, []string{"contract"}, order, m)
		}
	}
	// Routes outside the router do not get the contract's middleware.
	e.GET("/b", ok)
	order = nil
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/b", nil))
	require.Empty(t, order)
}

// TestChain: the server-wide middleware composed once runs as echo's per-request application
// would, in order, around the route's handler and around the not-found and method-not-allowed
// answers.
func TestChain(t *testing.T) {
	t.Parallel()
	e := echo.New()
	var order []string
	mw := recording(&order)
	e.Use(httpx.Chain(mw("first"), mw("second")))
	httpx.Router{E: e, MW: []echo.MiddlewareFunc{mw("contract")}}.GET("/a", func(c echo.Context) error {
		order = append(order, "handler")
		return c.NoContent(http.StatusNoContent)
	}, mw("route"))
	for _, tc := range []struct {
		method, path string
		status       int
		order        []string
	}{
		{http.MethodGet, "/a", http.StatusNoContent, []string{"first", "second", "contract", "route", "handler"}},
		{http.MethodGet, "/missing", http.StatusNotFound, []string{"first", "second"}},
		{http.MethodPost, "/a", http.StatusMethodNotAllowed, []string{"first", "second"}},
	} {
		order = nil
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		require.Equal(t, tc.status, rec.Code, tc.method+" "+tc.path)
		require.Equal(t, tc.order, order, tc.method+" "+tc.path)
	}
}

// TestContextLogger: a record logged with a request's context carries its request and operation
// ids; one that names its own keeps them; one without a request context has neither.
func TestContextLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := httpx.ContextLogger(slog.New(slog.NewJSONHandler(&buf, nil)))
	require.Same(t, log, httpx.ContextLogger(log), "wrapping twice is a no-op")
	e := echo.New()
	e.Use(httpx.RequestID(httpx.NewIDGen()))
	e.GET("/x", func(c echo.Context) error {
		op := "thingGet"
		httpx.SetOperationID(c, &op)
		log.With("component", "test").InfoContext(c.Request().Context(), "inside", "n", 1)
		log.InfoContext(c.Request().Context(), "own", "request_id", "mine")
		return c.NoContent(http.StatusNoContent)
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	require.Equal(t, http.StatusNoContent, rec.Code)
	log.InfoContext(context.Background(), "outside")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3)
	var in, own, out map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &in))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &own))
	require.NoError(t, json.Unmarshal([]byte(lines[2]), &out))
	require.Equal(t, rec.Header().Get(httpx.HeaderRequestID), in["request_id"])
	require.Equal(t, "thingGet", in["operation_id"])
	require.Equal(t, "test", in["component"])
	require.Equal(t, "mine", own["request_id"])
	require.Equal(t, "thingGet", own["operation_id"])
	require.NotContains(t, out, "request_id")
	require.NotContains(t, out, "operation_id")
}

// TestLocalAndOperationID: a middleware's value and the operationId reach the handler and the
// access log behind RequestID (in the request's context value, echo's store left unmade) and
// without it (in echo's store).
func TestLocalAndOperationID(t *testing.T) {
	t.Parallel()
	for _, withID := range []bool{true, false} {
		e := echo.New()
		if withID {
			e.Use(httpx.RequestID(httpx.NewIDGen()))
		}
		var local any
		var op string
		var storeUsed bool
		e.GET("/x", func(c echo.Context) error {
			name := "thingGet"
			httpx.SetOperationID(c, &name)
			httpx.SetLocal(c, 42)
			local, op = httpx.Local(c), httpx.OperationID(c)
			storeUsed = c.Get("httpx.local") != nil || c.Get("httpx.operation_id") != nil
			return c.NoContent(http.StatusNoContent)
		})
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
		require.Equal(t, http.StatusNoContent, rec.Code)
		require.Equal(t, 42, local, "with RequestID %v", withID)
		require.Equal(t, "thingGet", op, "with RequestID %v", withID)
		require.Equal(t, !withID, storeUsed, "echo's store is used only without RequestID")
	}
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	require.Nil(t, httpx.Local(c))
	require.Empty(t, httpx.OperationID(c))
}
