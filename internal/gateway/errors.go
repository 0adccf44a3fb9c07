package gateway

import (
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/billing"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/provider/anthropic"
	"github.com/poolgate/poolgate/internal/provider/gemini"
	"github.com/poolgate/poolgate/internal/provider/openai"
	"github.com/poolgate/poolgate/internal/translate"
)

// relayError passes a caller error (400, 404, 422, ...) from the upstream back in the caller's
// protocol's shape, with the account's credential scrubbed from the message. The upstream's own
// error type and code are kept when it speaks the caller's protocol.
func (g *Gateway) relayError(k *call, acc *account, resp *http.Response) error {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	up, _ := protocolOf(acc)
	var msg, typ, code string
	switch up {
	case translate.Claude:
		msg, typ = anthropic.ErrorOf(raw)
	case translate.Gemini:
		msg, code = gemini.ErrorOf(raw) // code holds Gemini's status name
	default:
		msg, typ, code = openai.ErrorOf(raw)
	}
	status := resp.StatusCode
	if msg == "" {
		msg = "the upstream provider rejected the request (HTTP " + strconv.Itoa(status) + ")"
	}
	msg = openai.Redact(msg, acc.credential)
	k.rec.ChannelID, k.rec.AccountID = acc.channel.id, acc.id
	k.finish(g, status, billing.Usage{}, false)
	c := k.c
	switch k.ep.in {
	case translate.Claude:
		if up != translate.Claude || typ == "" {
			typ = translate.ClaudeErrorType(status)
		}
		return c.JSON(status, claudeError{Type: "error", Error: claudeErrorBody{Type: typ, Message: msg}})
	case translate.Gemini:
		if up != translate.Gemini || code == "" {
			code = translate.GeminiStatus(status)
		}
		return c.JSON(status, geminiError{Error: geminiErrorBody{Code: status, Message: msg, Status: code}})
	}
	if up != translate.OpenAI {
		typ, code = "", ""
	}
	if typ == "" {
		typ = "invalid_request_error"
	}
	if code == "" {
		code = "upstream_" + strconv.Itoa(status)
	}
	return c.JSON(status, openAIError{Error: openAIErrorBody{Message: msg, Type: typ, Code: code}})
}

type claudeError struct {
	Type  string          `json:"type"`
	Error claudeErrorBody `json:"error"`
}

type claudeErrorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type geminiError struct {
	Error geminiErrorBody `json:"error"`
}

type geminiErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// renderClaude writes a fault in Claude's error shape.
func renderClaude(c echo.Context, status int, e *fault.Error, rid string) error {
	msg := e.Message
	if e.Code == "internal" {
		status, msg = http.StatusInternalServerError, "internal server error (request id "+rid+")"
	}
	return c.JSON(status, claudeError{Type: "error", Error: claudeErrorBody{Type: translate.ClaudeErrorType(status), Message: msg}})
}

// renderGemini writes a fault in Gemini's error shape.
func renderGemini(c echo.Context, status int, e *fault.Error, rid string) error {
	msg := e.Message
	if e.Code == "internal" {
		status, msg = http.StatusInternalServerError, "internal server error (request id "+rid+")"
	}
	return c.JSON(status, geminiError{Error: geminiErrorBody{Code: status, Message: msg, Status: translate.GeminiStatus(status)}})
}

// renderV1 writes faults on /v1/ paths: Gemini's shape on /v1/models/{model}:{action}, else
// OpenAI's.
func renderV1(c echo.Context, status int, e *fault.Error, rid string) error {
	if isGeminiPath(c.Request().URL.Path) {
		return renderGemini(c, status, e, rid)
	}
	return renderOpenAI(c, status, e, rid)
}
