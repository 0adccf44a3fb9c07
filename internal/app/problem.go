package app

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
)

// schemaName matches a contract's internal schema reference (`#/components/schemas/X`, or a
// file's), which never belongs in a message to a caller.
var schemaName = regexp.MustCompile(`\s*\S*#/components/[A-Za-z]+/[A-Za-z0-9_.-]+`)

// requestProblem turns a request the contract refuses into a fault whose message names the
// field and the rule, in the caller's terms: `models[0]: value must be a string`,
// `query parameter "status": value is not one of the allowed values [...]`. Bodies that are not
// JSON are `invalid_json`; everything else is `invalid_request`. Errors other than validation
// (authentication, unknown routes) are returned unchanged.
func requestProblem(err *echo.HTTPError) error {
	var re *openapi3filter.RequestError
	var he *echo.HTTPError
	if !errors.As(err.Internal, &re) || errors.As(re.Err, &he) {
		return err // not a validation problem (e.g. the body limit's 413 while reading)
	}
	switch {
	case re.Parameter != nil:
		return fault.Code(fault.Invalid, "invalid_request",
			re.Parameter.In+" parameter "+strconv.Quote(re.Parameter.Name)+": "+reason(re))
	case re.RequestBody != nil:
		if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			return fault.Code(fault.Invalid, "invalid_request", "a request body is required")
		}
		var pe *openapi3filter.ParseError
		if errors.As(re.Err, &pe) || re.Reason == "failed to decode request body" {
			return fault.Code(fault.Invalid, "invalid_json", "the request body is not valid JSON")
		}
		if strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
			return fault.Code(fault.Invalid, "unsupported_media_type", "the body must be application/json")
		}
		return fault.Code(fault.Invalid, "invalid_request", reason(re))
	}
	return fault.Code(fault.Invalid, "invalid_request", clean(re.Error()))
}

// reason describes what is wrong with a parameter or body: the failing field as a path
// (`messages[0].content`) and the rule it breaks, without schema names, schemas or values.
func reason(re *openapi3filter.RequestError) string {
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		msg := se.Reason
		if msg == "" {
			msg = "does not match the expected format"
		}
		if p := fieldPath(se.JSONPointer()); p != "" && re.Parameter == nil {
			return p + ": " + clean(msg)
		}
		return clean(msg)
	}
	var pe *openapi3filter.ParseError
	if errors.As(re.Err, &pe) {
		return clean(strings.TrimSuffix(pe.Error(), ": invalid syntax"))
	}
	if re.Err != nil {
		return clean(re.Err.Error())
	}
	return clean(re.Reason)
}

// fieldPath writes a JSON pointer as a field path: ["messages", "0", "content"] is
// `messages[0].content`.
func fieldPath(ptr []string) string {
	var b strings.Builder
	for _, seg := range ptr {
		if _, err := strconv.Atoi(seg); err == nil {
			b.WriteString("[" + seg + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

// clean keeps a validator message's first line and drops schema names from it.
func clean(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	msg = schemaName.ReplaceAllString(msg, "")
	msg = strings.ReplaceAll(msg, "doesn't match schema: ", "")
	msg = strings.ReplaceAll(msg, "doesn't match schema due to: ", "")
	return httpx.BoundMessage(strings.TrimSpace(msg))
}
