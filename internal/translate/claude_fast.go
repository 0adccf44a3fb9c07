package translate

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// claudeFastFields are the only members a Messages request may have for ClaudeToOpenAIFast.
var claudeFastFields = [9]string{"model", "max_tokens", "stream", "system", "messages", "temperature", "top_p",
	"stop_sequences", "metadata"}

// ClaudeToOpenAIFast converts the commonest Messages request — a string system prompt and
// alternating user/assistant turns of plain text, with max_tokens and optionally temperature,
// top_p, stop_sequences and metadata.user_id — straight into the OpenAI chat request, without
// building the canonical request. It writes exactly the bytes EncodeOpenAIRequest writes for
// the decoded request (model and stream as given: the gateway's mapped model and stream flag);
// ok is false for any other request, which then takes the general path.
func ClaudeToOpenAIFast(body []byte, model string, stream bool) (out []byte, ok bool) {
	var f [len(claudeFastFields)]gjson.Result
	if !jsonx.ParseMembersOnly(body, claudeFastFields[:], f[:]) {
		return nil, false
	}
	maxTokens, system, messages := f[1], f[3], f[4]
	if maxTokens.Type != gjson.Number || maxTokens.Int() <= 0 || !messages.IsArray() ||
		(system.Exists() && (system.Type != gjson.String || system.Str == "")) {
		return nil, false
	}
	w := make([]byte, 0, 256+len(body))
	w = append(w, `{"model":`...)
	w = jsonx.AppendString(w, model)
	w = append(w, `,"messages":[`...)
	if system.Exists() {
		w = append(w, `{"role":"system","content":`...)
		w = jsonx.AppendString(w, system.Str)
		w = append(w, '}')
	}
	if w, ok = appendFastTurns(w, messages, system.Exists()); !ok {
		return nil, false
	}
	w = append(w, ']')
	if stream {
		w = append(w, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	w = append(w, `,"max_tokens":`...)
	w = strconv.AppendInt(w, maxTokens.Int(), 10)
	for i, name := range [2]string{"temperature", "top_p"} {
		if v := f[5+i]; v.Exists() {
			if v.Type != gjson.Number {
				return nil, false
			}
			w = append(w, `,"`+name+`":`...)
			w = strconv.AppendFloat(w, v.Num, 'g', -1, 64)
		}
	}
	if w, ok = appendFastStops(w, f[7]); !ok {
		return nil, false
	}
	if meta := f[8]; meta.Exists() {
		if !meta.IsObject() {
			return nil, false
		}
		if u := meta.Get("user_id"); u.Exists() {
			if u.Type != gjson.String {
				return nil, false
			}
			if u.Str != "" {
				w = append(w, `,"user":`...)
				w = jsonx.AppendString(w, u.Str)
			}
		}
	}
	return append(w, '}'), true
}

// appendFastTurns writes the turns: each an object of exactly a role (user, assistant; never
// twice in a row, which the general path would merge) and non-empty string content.
func appendFastTurns(w []byte, messages gjson.Result, comma bool) ([]byte, bool) {
	ok, last := true, ""
	messages.ForEach(func(_, m gjson.Result) bool {
		var mf [2]gjson.Result
		if !m.IsObject() || !jsonx.MembersOnly(m, roleContent[:], mf[:]) ||
			mf[0].Type != gjson.String || mf[1].Type != gjson.String || mf[1].Str == "" ||
			(mf[0].Str != "user" && mf[0].Str != "assistant") || mf[0].Str == last {
			ok = false
			return false
		}
		last = mf[0].Str
		if comma {
			w = append(w, ',')
		}
		comma = true
		w = append(w, `{"role":"`...)
		w = append(w, last...)
		w = append(w, `","content":`...)
		w = jsonx.AppendString(w, mf[1].Str)
		w = append(w, '}')
		return true
	})
	return w, ok && last != ""
}

// appendFastStops writes stop_sequences (an array of strings) as OpenAI's stop, at most 4.
func appendFastStops(w []byte, stops gjson.Result) ([]byte, bool) {
	if !stops.Exists() {
		return w, true
	}
	if !stops.IsArray() {
		return w, false
	}
	ok, n := true, 0
	stops.ForEach(func(_, s gjson.Result) bool {
		if s.Type != gjson.String {
			ok = false
			return false
		}
		if n < 4 {
			if n == 0 {
				w = append(w, `,"stop":[`...)
			} else {
				w = append(w, ',')
			}
			w = jsonx.AppendString(w, s.Str)
		}
		n++
		return true
	})
	if n > 0 {
		w = append(w, ']')
	}
	return w, ok
}
