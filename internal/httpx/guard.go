package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/poolgate/poolgate/internal/fault"
)

// MaxJSONDepth bounds how deeply a management request body may nest objects and arrays.
const MaxJSONDepth = 64

var (
	errTextPath = fault.New(fault.NotFound, "not found: the path contains a NUL character or invalid UTF-8")
	errTextQuer = fault.Code(fault.Invalid, "invalid_request", "a query parameter contains a NUL character or invalid UTF-8")
	errTextBody = fault.Code(fault.Invalid, "invalid_request", "the body contains a NUL character (\\u0000)")
	errDepth    = fault.Code(fault.Invalid, "invalid_request", "the body nests deeper than 64 levels")
)

// CleanPath answers 404 to a request whose path carries a NUL character or invalid UTF-8 (no
// name or id of Poolgate holds one, and PostgreSQL's text refuses them), before any handler
// sees it.
func CleanPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !cleanText(c.Request().URL.Path) {
			return errTextPath
		}
		return next(c)
	}
}

// CleanQuery refuses (400) a request whose query parameters named in declared (by the route's
// echo path, as RegisterHandlers adds it) carry a NUL character or invalid UTF-8; parameters the
// route does not declare reach nothing and are left alone.
func CleanQuery(declared map[string][]string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			names := declared[c.Request().Method+" "+c.Path()]
			if len(names) == 0 || c.Request().URL.RawQuery == "" {
				return next(c)
			}
			q := c.QueryParams()
			for _, n := range names {
				for _, v := range q[n] {
					if !cleanText(v) {
						return errTextQuer
					}
				}
			}
			return next(c)
		}
	}
}

func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// BodyGuard bounds what validating a management request body may cost: the body (already
// bounded by the body limit) is read once, refused when it nests deeper than MaxJSONDepth or
// holds an escaped NUL, and requests hold their body's estimated decoded size (decodedCost: its
// bytes plus a cost per JSON value, at most the whole budget) from a shared budget of budget bytes
// while they are validated and served, so a burst of large bodies waits instead of multiplying
// the decoded trees in memory.
func BodyGuard(budget int64) echo.MiddlewareFunc {
	sem := semaphore.NewWeighted(budget)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Body == nil || r.Body == http.NoBody {
				return next(c)
			}
			body, err := io.ReadAll(r.Body)
			_ = r.Body.Close()
			if err != nil {
				var he *echo.HTTPError
				if errors.As(err, &he) {
					return he // the body limit's 413
				}
				return fault.Wrap(fault.Invalid, "the request body could not be read", err)
			}
			switch deep, nul := scanJSON(body, MaxJSONDepth); {
			case deep:
				return errDepth
			case nul:
				return errTextBody
			}
			n := min(max(decodedCost(body), 1), budget)
			if err := sem.Acquire(r.Context(), n); err != nil {
				return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
			}
			defer sem.Release(n)
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			return next(c)
		}
	}
}

// valueCost is what one JSON value (an object, array, member or element) is counted for on top
// of its bytes: decoded into Go values for validation, a value takes about this much memory (a
// 1 MiB body of small objects decodes into about 90 MiB).
const valueCost = 128

// decodedCost estimates the memory validating JSON text b takes: its bytes plus valueCost per
// value (objects, arrays, and the members and elements their commas separate).
func decodedCost(b []byte) int64 {
	var values int64
	inString, escaped := false, false
	for _, ch := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
		case ch == '"':
			inString = true
		case ch == '{' || ch == '[' || ch == ',':
			values++
		}
	}
	return int64(len(b)) + values*valueCost
}

// scanJSON reports whether JSON text b opens more than limit objects and arrays at once and
// whether a string in it holds an escaped NUL (\u0000); it does not otherwise check the text.
func scanJSON(b []byte, limit int) (deep, nul bool) {
	depth, inString, escaped := 0, false, false
	for i, ch := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
				if ch == 'u' && bytes.HasPrefix(b[i+1:], []byte("0000")) {
					nul = true
				}
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
		case ch == '"':
			inString = true
		case ch == '{' || ch == '[':
			depth++
			if depth > limit {
				return true, nul
			}
		case ch == '}' || ch == ']':
			depth--
		}
	}
	return false, nul
}
