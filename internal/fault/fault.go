// Package fault defines the typed errors domain code returns. The HTTP layer renders each kind in
// the contract's error shape; anything else becomes a generic 500 carrying the request id.
package fault

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error for rendering.
type Kind int

// The kinds of errors, with the HTTP status each maps to.
const (
	Invalid          Kind = iota + 1 // 400
	Unauthorized                     // 401
	PaymentRequired                  // 402
	Forbidden                        // 403
	NotFound                         // 404
	Conflict                         // 409
	TooLarge                         // 413
	Unprocessable                    // 422
	RateLimited                      // 429
	Upstream                         // 502
	Unavailable                      // 503
	MethodNotAllowed                 // 405
	// Internal is a failure of the server itself (a bug, an unexpected database error): 500. Its
	// message is generic; the cause goes to the logs only, and the caller gets the request id.
	Internal // 500
)

var statuses = map[Kind]int{
	Invalid: http.StatusBadRequest, Unauthorized: http.StatusUnauthorized,
	PaymentRequired: http.StatusPaymentRequired, Forbidden: http.StatusForbidden,
	NotFound: http.StatusNotFound, MethodNotAllowed: http.StatusMethodNotAllowed, Conflict: http.StatusConflict, TooLarge: http.StatusRequestEntityTooLarge,
	Unprocessable: http.StatusUnprocessableEntity, RateLimited: http.StatusTooManyRequests,
	Upstream: http.StatusBadGateway, Unavailable: http.StatusServiceUnavailable,
	Internal: http.StatusInternalServerError,
}

var defaultCodes = map[Kind]string{
	Invalid: "invalid_request", Unauthorized: "unauthorized", PaymentRequired: "insufficient_balance",
	Forbidden: "forbidden", NotFound: "not_found", MethodNotAllowed: "method_not_allowed", Conflict: "conflict", TooLarge: "body_too_large",
	Unprocessable: "unprocessable", RateLimited: "rate_limited", Upstream: "upstream_error",
	Unavailable: "unavailable", Internal: "internal",
}

// MsgInternal is the one message an Internal error shows the caller.
const MsgInternal = "internal server error"

// Error is a typed error whose Message is safe to show to the caller.
type Error struct {
	Kind    Kind
	Code    string // stable machine-readable code
	Message string
	Err     error // the cause, for logs only
	// HTTPStatus, when not 0, is the status to answer with instead of the kind's: an upstream's or
	// a hook's own status passed on to the caller.
	HTTPStatus int
	// Type is the error's type in the caller's protocol when it is known better than the kind
	// says: an upstream error relayed to a caller of the upstream's own protocol keeps its type
	// (OpenAI's and Claude's "type", Gemini's "status").
	Type string
	// RetryAfter, when set, is sent as the Retry-After header (seconds, or an HTTP date passed on
	// from an upstream): when the caller may try again.
	RetryAfter string
	// Param names the request member at fault, where the caller's protocol reports it (OpenAI's
	// "param").
	Param string
	// ClearsIn, when not 0, is the seconds until a limit rule lets the call start (the body's
	// clears_in on a 429 from a Poolgate limit rule).
	ClearsIn int64
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status to answer with: HTTPStatus when set, else the kind's.
func (e *Error) Status() int {
	if e.HTTPStatus != 0 {
		return e.HTTPStatus
	}
	return statuses[e.Kind]
}

// New makes an error of a kind with its default code.
func New(kind Kind, message string) *Error {
	return &Error{Kind: kind, Code: defaultCodes[kind], Message: message}
}

// Code makes an error with an explicit code.
func Code(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Wrap makes an error of a kind that keeps its cause for the logs.
func Wrap(kind Kind, message string, err error) *Error {
	return &Error{Kind: kind, Code: defaultCodes[kind], Message: message, Err: err}
}

// As finds a *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err is a fault of the kind.
func Is(err error, kind Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == kind
}
