package public

import (
	"context"
	"net/url"

	publicapi "github.com/poolgate/poolgate/gen/api/public"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/httpx"
	"github.com/poolgate/poolgate/internal/payment"
)

// The payment gateways' callbacks (docs/money.md): the handlers read the whole query or body
// (a signature covers every parameter the gateway sends, declared or not) and leave the rest to
// payment.Service; its refusals render as management errors.

const notifySuccess = "success"

func remote(ctx context.Context) string { return auth.ClientFrom(ctx).IP }

// YipayNotifyGet handles an EPay notify sent as query parameters.
func (h *Handler) YipayNotifyGet(ctx context.Context, _ publicapi.YipayNotifyGetRequestObject) (publicapi.YipayNotifyGetResponseObject, error) {
	if err := h.Payments.YipayNotify(ctx, httpx.Query(ctx), remote(ctx)); err != nil {
		return nil, err
	}
	return publicapi.YipayNotifyGet200TextResponse(notifySuccess), nil
}

// YipayNotifyPost handles an EPay notify sent as a form.
func (h *Handler) YipayNotifyPost(ctx context.Context, _ publicapi.YipayNotifyPostRequestObject) (publicapi.YipayNotifyPostResponseObject, error) {
	p, err := url.ParseQuery(string(httpx.Body(ctx)))
	if err != nil {
		p = url.Values{}
	}
	if err := h.Payments.YipayNotify(ctx, p, remote(ctx)); err != nil {
		return nil, err
	}
	return publicapi.YipayNotifyPost200TextResponse(notifySuccess), nil
}

// YipayReturnGet sends the payer back to their order (handling a validly signed return as a notify).
func (h *Handler) YipayReturnGet(ctx context.Context, _ publicapi.YipayReturnGetRequestObject) (publicapi.YipayReturnGetResponseObject, error) {
	to := h.Payments.YipayReturn(ctx, httpx.Query(ctx), remote(ctx))
	return publicapi.YipayReturnGet302Response{Headers: publicapi.PaymentReturnResponseHeaders{Location: &to}}, nil
}

// OpenpaymentSubmitGet redirects the payer to the OpenPayment checkout with signed parameters.
func (h *Handler) OpenpaymentSubmitGet(ctx context.Context, req publicapi.OpenpaymentSubmitGetRequestObject) (publicapi.OpenpaymentSubmitGetResponseObject, error) {
	to, err := h.Payments.OpenPaymentSubmit(ctx, req.OrderNo)
	if err != nil {
		return nil, err
	}
	return publicapi.OpenpaymentSubmitGet302Response{Headers: publicapi.OpenpaymentSubmitGet302ResponseHeaders{Location: &to}}, nil
}

// OpenpaymentNotifyPost handles an OpenPayment notify (JSON body, signature headers).
func (h *Handler) OpenpaymentNotifyPost(ctx context.Context, req publicapi.OpenpaymentNotifyPostRequestObject) (publicapi.OpenpaymentNotifyPostResponseObject, error) {
	var ts, sig string
	if req.Params.XOpenPaymentTimestamp != nil {
		ts = *req.Params.XOpenPaymentTimestamp
	}
	if req.Params.XOpenPaymentSignature != nil {
		sig = *req.Params.XOpenPaymentSignature
	}
	if err := h.Payments.OpenPaymentNotify(ctx, ts, sig, httpx.Body(ctx), remote(ctx)); err != nil {
		return nil, err
	}
	return publicapi.OpenpaymentNotifyPost200JSONResponse{OpenPaymentAckJSONResponse: publicapi.OpenPaymentAckJSONResponse{Received: true}}, nil
}

// OpenpaymentNotifyGet handles an OpenPayment notify sent as query parameters.
func (h *Handler) OpenpaymentNotifyGet(ctx context.Context, _ publicapi.OpenpaymentNotifyGetRequestObject) (publicapi.OpenpaymentNotifyGetResponseObject, error) {
	if err := h.Payments.OpenPaymentNotifyQuery(ctx, httpx.Query(ctx), remote(ctx)); err != nil {
		return nil, err
	}
	return publicapi.OpenpaymentNotifyGet200JSONResponse{OpenPaymentAckJSONResponse: publicapi.OpenPaymentAckJSONResponse{Received: true}}, nil
}

// OpenpaymentReturnGet sends the payer back to their order; it changes nothing.
func (h *Handler) OpenpaymentReturnGet(_ context.Context, req publicapi.OpenpaymentReturnGetRequestObject) (publicapi.OpenpaymentReturnGetResponseObject, error) {
	no := ""
	if req.Params.OrderNo != nil {
		no = *req.Params.OrderNo
	}
	to := payment.ReturnPath(no)
	return publicapi.OpenpaymentReturnGet302Response{Headers: publicapi.PaymentReturnResponseHeaders{Location: &to}}, nil
}
