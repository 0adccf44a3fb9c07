// Package telemetry sends OpenTelemetry traces over OTLP/HTTP when the standard
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) variable is set. The
// exporter also reads the other standard OTEL_EXPORTER_OTLP_* variables from the process
// environment (headers, timeout, compression); OTEL_SERVICE_NAME names the service.
package telemetry

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Name is the instrumentation scope of Poolgate's spans.
const Name = "github.com/poolgate/poolgate"

// Config says where traces go.
type Config struct {
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT, the collector's base URL (`/v1/traces` is
	// appended); TracesEndpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as is. Both empty: off.
	Endpoint, TracesEndpoint string
	// ServiceName is OTEL_SERVICE_NAME (default poolgate).
	ServiceName string
	Version     string
}

// Tracing is a tracer provider and how to stop it.
type Tracing struct {
	Tracer   trace.Tracer
	Enabled  bool
	Shutdown func(context.Context) error
}

// Setup starts the OTLP exporter when configured, else returns a no-op tracer. Spans are sent in
// batches off the request path; Shutdown sends what is left.
func Setup(ctx context.Context, cfg Config) (*Tracing, error) {
	url := cfg.TracesEndpoint
	if url == "" && cfg.Endpoint != "" {
		url = strings.TrimRight(cfg.Endpoint, "/") + "/v1/traces"
	}
	if url == "" {
		return &Tracing{Tracer: noop.NewTracerProvider().Tracer(Name), Shutdown: func(context.Context) error { return nil }}, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(url))
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = "poolgate"
	}
	version := cfg.Version
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", name), attribute.String("service.version", version)))
	if err != nil {
		return nil, fmt.Errorf("OTLP resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return &Tracing{Tracer: tp.Tracer(Name), Enabled: true, Shutdown: tp.Shutdown}, nil
}
