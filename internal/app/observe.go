package app

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/api/auth"
	"github.com/poolgate/poolgate/gen/api/gateway"
	"github.com/poolgate/poolgate/gen/api/public"
	"github.com/poolgate/poolgate/gen/api/seed001"
	"github.com/poolgate/poolgate/gen/api/user"
	"github.com/poolgate/poolgate/internal/header"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/metrics"
)

// firstByteWriter notes when a streamed answer's first body byte is written.
type firstByteWriter struct {
	http.ResponseWriter
	start, first time.Time
}

func (w *firstByteWriter) Write(b []byte) (int, error) {
	if w.first.IsZero() && len(b) > 0 && strings.HasPrefix(header.Get(w.Header(), "Content-Type"), "text/event-stream") {
		w.first = time.Now()
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes through, so streams still stream.
func (w *firstByteWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack passes connection hijacking through.
func (w *firstByteWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijacking is not supported")
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *firstByteWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe counts every request in the metrics and, when tracing is on, wraps it in a span
// (continuing the caller's trace from its traceparent header). It runs outside the access log,
// which renders errors, so the status it sees is the one sent.
func (a *App) observe(tracer trace.Tracer) echo.MiddlewareFunc {
	prop := otel.GetTextMapPropagator()
	tracing := a.Tracing != nil && a.Tracing.Enabled
	ops := OperationIDs()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			op := ops[r.Method][c.Path()]
			httpx.SetOperationID(c, op)
			w := &firstByteWriter{ResponseWriter: c.Response().Writer, start: time.Now()}
			c.Response().Writer = w
			var span trace.Span
			if tracing {
				ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
				ctx, span = tracer.Start(ctx, r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer),
					trace.WithAttributes(attribute.String("http.request.method", r.Method),
						attribute.String("url.path", r.URL.Path)))
				c.SetRequest(r.WithContext(ctx))
			}
			err := next(c)
			route := c.Path()
			status := c.Response().Status
			var ttfb time.Duration
			if !w.first.IsZero() {
				ttfb = w.first.Sub(w.start)
			}
			a.Metrics.ObserveRequest(route, metrics.Protocol(r.URL.Path), status, time.Since(w.start), ttfb)
			if span != nil {
				if route != "" {
					span.SetName(r.Method + " " + route)
				}
				span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status),
					attribute.String("poolgate.request_id", c.Response().Header().Get(httpx.HeaderRequestID)),
					attribute.String("poolgate.operation_id", httpx.OperationID(c)),
					attribute.String("poolgate.protocol", metrics.Protocol(r.URL.Path)))
				if status >= 500 {
					span.SetStatus(codes.Error, strconv.Itoa(status))
				}
				span.End()
			}
			return err
		}
	}
}

// OperationIDs maps a method and an echo route ("/api/channels/:id") to the operationId of the
// contract that serves it (held by pointer, so recording it per request allocates nothing); the
// access log, the error renderer and spans carry it.
func OperationIDs() map[string]map[string]*string {
	out := map[string]map[string]*string{}
	for _, get := range []func() (*openapi3.T, error){publicapi.GetSpec, authapi.GetSpec, userapi.GetSpec,
		adminapi.GetSpec, gatewayapi.GetSpec, seed001api.GetSpec} {
		spec, err := get()
		if err != nil {
			continue // generated code: the embedded specs load (the routes' mount fails loudly otherwise)
		}
		for path, item := range spec.Paths.Map() {
			echoPath := pathParam.ReplaceAllString(path, ":$1")
			for method, op := range item.Operations() {
				// The embedded specs carry oapi-codegen's Go names (ChannelGet); the contracts' ids
				// are the same with a lower-case first letter.
				id := op.OperationID
				if id != "" {
					id = strings.ToLower(id[:1]) + id[1:]
				}
				if out[method] == nil {
					out[method] = map[string]*string{}
				}
				out[method][echoPath] = &id
			}
		}
	}
	return out
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)
