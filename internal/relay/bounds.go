package relay

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/jsonx"
	"github.com/poolgate/poolgate/internal/provider/openai"
	"github.com/poolgate/poolgate/internal/translate"
)

// bound is a documented range of one numeric request member (gateway.yaml): min, and max unless
// noMax; integer members refuse fractions.
type bound struct {
	knob     int
	name     string
	min, max float64
	noMax    bool
	integer  bool
}

// The bounds each protocol documents for its sampling and length members (gateway.yaml), as its
// own API enforces them; knob indexes openai.Request.Knobs (openai.KnobNames).
var (
	openAIBounds = []bound{
		{knob: 0, name: "temperature", min: 0, max: 2}, {knob: 1, name: "top_p", min: 0, max: 1},
		{knob: 3, name: "n", min: 1, max: 128, integer: true},
		{knob: 4, name: "max_tokens", min: 1, noMax: true, integer: true},
		{knob: 5, name: "max_completion_tokens", min: 1, noMax: true, integer: true},
	}
	claudeBounds = []bound{
		{knob: 0, name: "temperature", min: 0, max: 1}, {knob: 1, name: "top_p", min: 0, max: 1},
		{knob: 2, name: "top_k", min: 0, noMax: true, integer: true},
		{knob: 4, name: "max_tokens", min: 1, noMax: true, integer: true},
	}
	geminiBounds = []bound{
		{knob: 0, name: "temperature", min: 0, max: 2}, {knob: 1, name: "topP", min: 0, max: 1},
		{knob: 2, name: "topK", min: 1, noMax: true, integer: true},
		{knob: 3, name: "candidateCount", min: 1, max: 8, integer: true},
		{knob: 4, name: "maxOutputTokens", min: 1, noMax: true, integer: true},
	}
	geminiBoundNames = []string{"temperature", "topP", "topK", "candidateCount", "maxOutputTokens"}
	// geminiFields are the top-level members the relay reads of a Gemini body: OpenAI's length
	// knobs (a caller may send them; the output bound reads them first), then openai.MetaNames
	// (the generation config among them).
	geminiFields = func() (names [2 + len(openai.MetaNames)]string) {
		names[0], names[1] = openai.KnobNames[openai.KnobMaxTokens], openai.KnobNames[openai.KnobMaxCompletionTokens]
		copy(names[2:], openai.MetaNames[:])
		return names
	}()
)

// Error codes of a member out of its documented range (OpenAI's own codes).
const (
	codeInvalidType  = "invalid_type"
	codeDecimalAbove = "decimal_above_max_value"
	codeDecimalBelow = "decimal_below_min_value"
	codeIntAbove     = "integer_above_max_value"
	codeIntBelow     = "integer_below_min_value"
)

// checkBounds refuses an OpenAI or Claude request whose sampling or length members lie outside
// the ranges its protocol documents, with a 400 worded as that protocol's API words it. null is
// accepted.
func (ep *Endpoint) checkBounds(req *openai.Request) error {
	if ep.op != opChat && ep.op != opCompletion && ep.op != opResponses {
		return nil
	}
	bounds := openAIBounds
	if ep.in == translate.Claude {
		bounds = claudeBounds
	}
	for _, b := range bounds {
		if ep.in == translate.OpenAI && ep.op != opChat && b.knob >= 3 {
			// Legacy completions accept max_tokens 0; the Responses API has none of n,
			// max_tokens, max_completion_tokens: only the sampling bounds are shared.
			continue
		}
		if err := b.check(req.Knobs[b.knob], ep.in, b.name); err != nil {
			return err
		}
	}
	return nil
}

// checkGeminiBounds is checkBounds for a Gemini generationConfig (either spelling).
func checkGeminiBounds(top [2]gjson.Result) error {
	gc := top[0]
	if !gc.Exists() {
		gc = top[1]
	}
	if !gc.IsObject() {
		return nil
	}
	var f [5]gjson.Result
	jsonx.Members(gc, geminiBoundNames, f[:])
	for _, b := range geminiBounds {
		if err := b.check(f[b.knob], translate.Gemini, "generationConfig."+b.name); err != nil {
			return err
		}
	}
	return nil
}

// check refuses v when it is not a number in the bound's range.
func (b bound) check(v gjson.Result, in translate.Protocol, param string) error {
	if !v.Exists() || v.Type == gjson.Null {
		return nil
	}
	kind := "decimal"
	if b.integer {
		kind = "integer"
	}
	if v.Type != gjson.Number || (b.integer && v.Num != float64(int64(v.Num))) {
		return boundFault(in, param, codeInvalidType,
			"Invalid type for '"+param+"': expected "+article(kind)+", but got "+jsonType(v)+" instead.",
			param+": Input should be a valid "+kind)
	}
	got := v.Raw
	switch {
	case v.Num < b.min:
		code := codeDecimalBelow
		if b.integer {
			code = codeIntBelow
		}
		lim := strconv.FormatFloat(b.min, 'g', -1, 64)
		return boundFault(in, param, code,
			"Invalid '"+param+"': "+kind+" below minimum value. Expected a value >= "+lim+", but got "+got+" instead.",
			param+": Input should be greater than or equal to "+lim)
	case !b.noMax && v.Num > b.max:
		code := codeDecimalAbove
		if b.integer {
			code = codeIntAbove
		}
		lim := strconv.FormatFloat(b.max, 'g', -1, 64)
		return boundFault(in, param, code,
			"Invalid '"+param+"': "+kind+" above maximum value. Expected a value <= "+lim+", but got "+got+" instead.",
			param+": Input should be less than or equal to "+lim)
	}
	return nil
}

// boundFault is the 400 for a member out of range: OpenAI's message, code and param for OpenAI
// callers, the short "<param>: <rule>" form Claude's and Gemini's APIs use for theirs.
func boundFault(in translate.Protocol, param, code, openAIMsg, otherMsg string) error {
	var fe *fault.Error
	switch code {
	case codeInvalidType:
		fe = fault.Code(fault.Invalid, codeInvalidType, otherMsg)
	case codeDecimalAbove:
		fe = fault.Code(fault.Invalid, codeDecimalAbove, otherMsg)
	case codeDecimalBelow:
		fe = fault.Code(fault.Invalid, codeDecimalBelow, otherMsg)
	case codeIntAbove:
		fe = fault.Code(fault.Invalid, codeIntAbove, otherMsg)
	default:
		fe = fault.Code(fault.Invalid, codeIntBelow, otherMsg)
	}
	if in == translate.OpenAI {
		fe.Message, fe.Param = openAIMsg, param
	}
	return fe
}

func article(kind string) string {
	if kind == "integer" {
		return "an integer"
	}
	return "a decimal"
}

// jsonType names a JSON value's type as OpenAI's messages do.
func jsonType(v gjson.Result) string {
	switch {
	case v.Type == gjson.String:
		return "a string"
	case v.Type == gjson.True || v.Type == gjson.False:
		return "a boolean"
	case v.IsArray():
		return "an array"
	case v.IsObject():
		return "an object"
	case v.Type == gjson.Number:
		return "a decimal"
	}
	return "null"
}
