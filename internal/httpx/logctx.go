package httpx

import (
	"context"
	"log/slog"
)

// ContextLogger returns log whose records, when written with a request's context (InfoContext,
// ErrorContext, LogAttrs, ...), carry that request's request_id and operation_id. A record that
// already has the attribute keeps its own.
func ContextLogger(log *slog.Logger) *slog.Logger {
	if _, ok := log.Handler().(contextHandler); ok {
		return log
	}
	return slog.New(contextHandler{log.Handler()})
}

type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	rid, op := RequestIDFrom(ctx), OperationIDFrom(ctx)
	if rid == "" && op == "" {
		return h.Handler.Handle(ctx, r)
	}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "request_id":
			rid = ""
		case "operation_id":
			op = ""
		}
		return true
	})
	r = r.Clone()
	if rid != "" {
		r.AddAttrs(slog.String("request_id", rid))
	}
	if op != "" {
		r.AddAttrs(slog.String("operation_id", op))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
