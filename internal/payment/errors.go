package payment

import (
	"github.com/poolgate/poolgate/internal/fault"
)

// The refusals of a notify; none of them credits anything.
var (
	errSignature    = fault.Code(fault.Invalid, "payment_signature_invalid", "the notify's signature is not valid")
	errUnknownOrder = fault.Code(fault.NotFound, "payment_order_unknown", "no such order")
	errExpired      = fault.Code(fault.Conflict, "payment_order_expired", "the order has expired")
	errAmount       = fault.Code(fault.Unprocessable, "payment_amount_mismatch", "the amount paid differs from the order's")
)

func errDisabled(method string) error {
	return fault.Code(fault.Unavailable, "payment_method_disabled", "payment method "+method+" is not enabled")
}

func errInvalid(msg string) error {
	return fault.Code(fault.Invalid, "invalid_request", msg)
}
