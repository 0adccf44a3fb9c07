package relay

import (
	"io"
	"net/http"
	"strconv"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/provider"
)

// statusKinds classify a status passed on to the caller (an upstream's or a hook's).
var statusKinds = map[int]fault.Kind{
	http.StatusBadRequest: fault.Invalid, http.StatusUnauthorized: fault.Unauthorized,
	http.StatusPaymentRequired: fault.PaymentRequired, http.StatusForbidden: fault.Forbidden,
	http.StatusNotFound: fault.NotFound, http.StatusConflict: fault.Conflict,
	http.StatusRequestEntityTooLarge: fault.TooLarge, http.StatusUnprocessableEntity: fault.Unprocessable,
	http.StatusTooManyRequests: fault.RateLimited,
}

// kindOf is the fault kind of a status passed on to the caller (def when the status has none).
func kindOf(status int, def fault.Kind) fault.Kind {
	if k, ok := statusKinds[status]; ok {
		return k
	}
	return def
}

// relayError passes a caller error (400, 404, 422, ...) from the upstream back as a fault with
// the upstream's status, rendered in the caller's protocol's shape, with the account's credential
// scrubbed from the message. The upstream's own error type (and OpenAI code) are kept when it
// speaks the caller's protocol.
func (rl *Relay) relayError(k *call, acc *account, resp *http.Response) error {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	up, _ := adapterOf(acc)         // send refused accounts without an adapter
	msg, typ, code := up.Error(raw) // Gemini's type is its status name

	status := resp.StatusCode
	if msg == "" {
		msg = "the upstream provider rejected the request (HTTP " + strconv.Itoa(status) + ")"
	}
	msg = provider.Redact(msg, acc.credential)
	k.rec.ChannelID, k.rec.AccountID = acc.channel.id, acc.id
	k.finish(rl, status, billing.Usage{}, false)
	if up.Protocol() != k.ep.in {
		typ, code = "", ""
	}
	if code == "" {
		code = "upstream_" + strconv.Itoa(status)
	}
	return &fault.Error{Kind: kindOf(status, fault.Invalid), Code: code, Message: msg, HTTPStatus: status, Type: typ}
}
