package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"
)

// AccessLog logs one line per request at info (warn for 4xx is left to the error renderer).
func AccessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// LOG_LEVEL above info: not even the clock read or the attributes.
			on := log.Enabled(c.Request().Context(), slog.LevelInfo)
			var start time.Time
			if on {
				start = time.Now()
			}
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			ctx := c.Request().Context()
			if !on {
				return nil
			}
			res := c.Response()
			log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("request_id", res.Header().Get(HeaderRequestID)),
				slog.String("operation_id", OperationID(c)),
				slog.String("method", c.Request().Method),
				slog.String("path", c.Request().URL.Path),
				slog.Int("status", res.Status),
				slog.Int64("bytes", res.Size),
				slog.Duration("duration", time.Since(start)),
			)
			return nil
		}
	}
}

// Recover turns a panic in a handler into a logged 500; http.ErrAbortHandler is re-raised so the
// server aborts the connection as intended.
func Recover(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if r == http.ErrAbortHandler { //nolint:errorlint // panics carry the sentinel itself
					panic(r)
				}
				buf := make([]byte, 8<<10)
				buf = buf[:runtime.Stack(buf, false)]
				log.Error("panic", "request_id", c.Response().Header().Get(HeaderRequestID), "operation_id", OperationID(c),
					"panic", fmt.Sprint(r), "stack", string(buf))
				err = fmt.Errorf("panic: %v", r)
			}()
			return next(c)
		}
	}
}
