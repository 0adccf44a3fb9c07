package hook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the callers' time zones, whatever the host has installed

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/gen/api/hooks"
)

// Call is one gateway call as the hooks see it.
type Call struct {
	// RequestID is the call's id (X-Request-Id): the audit and the notify of one call carry it,
	// and the message ids derive from it.
	RequestID string
	// Token is the caller's credential: a Poolgate API key or sign-in token, or a share link's
	// authToken (Share set).
	Token string
	// Share says Token is a share link's authToken (issued by the link's host, not by Poolgate).
	Share bool
	// UserID is the Poolgate user the call is charged to (a share link's owner).
	UserID int64
	// AccountID is the upstream account planned first (audit) or that answered (notify): the
	// seed's car id.
	AccountID int64
	// Model is the requested model.
	Model string
	// Body is the caller's request, unchanged (OpenAI chat or Responses, Claude, Gemini). Audit
	// reads it during the call; Notify copies what it needs before returning.
	Body []byte
	// At is when the call started.
	At time.Time
}

// Result is what a successful call used and cost, for notifications.
type Result struct {
	// PromptTokens counts every input token (cached and cache-write ones included);
	// CompletionTokens every output token (reasoning ones included).
	PromptTokens, CompletionTokens int64
	// CachedTokens were read from a prompt cache; CacheWrite5mTokens and CacheWrite1hTokens
	// written to one; ReasoningTokens spent reasoning.
	CachedTokens, CacheWrite5mTokens, CacheWrite1hTokens, ReasoningTokens int64
	// Quota is what the call was charged, in quota units.
	Quota int64
}

// chatEvent is the audit/notify body: the generated ChatEvent with raw_message kept as the
// caller's bytes and conversation_mode as given (outer fields shadow the embedded ones in
// encoding/json).
type chatEvent struct {
	hooksapi.ChatEvent
	RawMessage       json.RawMessage `json:"raw_message,omitempty"`
	ConversationMode json.RawMessage `json:"conversation_mode,omitempty"`
}

// Bounds of an event's body (hooks.yaml, "Bounds").
const (
	// maxEventText bounds the text of an event's messages, newest first.
	maxEventText = 256 << 10
	// maxRawMessage bounds the caller's body sent as raw_message.
	maxRawMessage = 256 << 10
	// maxCallerField bounds what an event repeats of the caller's own fields (time zone, ...).
	maxCallerField = 4 << 10
)

// rootMessageID is the parent of a conversation's first message (ChatGPT's convention).
const rootMessageID = "client-created-root"

// turn is one message of a conversation, as the hooks see it.
type turn struct {
	role  hooksapi.ChatMessageAuthorRole
	parts []string
}

// newEvent converts a call into the seed's event shape: each message becomes {id, author:{role},
// create_time, content:{content_type:"text", parts}, metadata:{}}, the ids derived from the
// request id; the caller's own parent_message_id, timezone, timezone_offset_min and
// conversation_mode are kept, with defaults; and the body stays within the bounds.
func newEvent(c Call, carID, userToken string) chatEvent {
	ct := float64(c.At.UnixMilli()) / 1000
	msgs := conversation(c.Body)
	budget := textBudget{left: maxEventText}
	kept := make([][]string, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		kept[i] = budget.take(msgs[i].parts)
	}
	out := make([]hooksapi.ChatMessage, 0, len(msgs))
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = messageID(c.RequestID, i)
		if kept[i] == nil {
			continue // left out: older than the budget allows
		}
		msg := hooksapi.ChatMessage{Id: ids[i], CreateTime: &ct, Metadata: map[string]any{}}
		msg.Author.Role = m.role
		msg.Content.ContentType = hooksapi.Text
		msg.Content.Parts = kept[i]
		out = append(out, msg)
	}
	ev := chatEvent{ChatEvent: hooksapi.ChatEvent{Action: hooksapi.Next, Messages: out, Model: c.Model,
		UserToken: userToken, CarId: carID, RequestId: c.RequestID}}
	parent := rootMessageID
	if len(ids) >= 2 {
		parent = ids[len(ids)-2]
	}
	if p := gjson.GetBytes(c.Body, "parent_message_id"); p.Type == gjson.String && p.String() != "" && len(p.String()) <= maxCallerField {
		parent = p.String()
	}
	ev.ParentMessageId = &parent
	tz, offset := timezoneOf(c.Body, c.At)
	ev.Timezone, ev.TimezoneOffsetMin = &tz, &offset
	ev.ConversationMode = json.RawMessage(`{"kind":"primary_assistant"}`)
	if m := gjson.GetBytes(c.Body, "conversation_mode"); m.IsObject() && len(m.Raw) <= maxCallerField {
		ev.ConversationMode = json.RawMessage(m.Raw)
	}
	switch {
	case len(c.Body) > maxRawMessage:
		budget.cut = true
	case len(c.Body) > 0 && c.Body[0] == '{' && gjson.ValidBytes(c.Body):
		ev.RawMessage = c.Body
	}
	if budget.cut {
		t := true
		ev.Truncated = &t
	}
	return ev
}

// conversation reads the messages of any request the gateway takes: OpenAI and Claude `messages`
// (and Claude's `system`), Gemini `contents` (and `systemInstruction`), and the Responses API's
// `instructions` and `input` (a string, or message items). Only text is kept.
func conversation(body []byte) []turn {
	var out []turn
	add := func(role hooksapi.ChatMessageAuthorRole, parts []string) {
		if len(parts) > 0 {
			out = append(out, turn{role, parts})
		}
	}
	r := gjson.ParseBytes(body)
	if sys := r.Get("system"); sys.Exists() { // Claude
		add(hooksapi.ChatMessageAuthorRoleSystem, textParts(sys))
	}
	if sys := r.Get("systemInstruction.parts"); sys.Exists() { // Gemini
		add(hooksapi.ChatMessageAuthorRoleSystem, textParts(sys))
	}
	if ins := r.Get("instructions"); ins.Type == gjson.String { // Responses
		add(hooksapi.ChatMessageAuthorRoleSystem, []string{ins.String()})
	}
	for _, m := range r.Get("messages").Array() {
		add(roleOf(m.Get("role").String()), textParts(m.Get("content")))
	}
	for _, m := range r.Get("contents").Array() {
		add(roleOf(m.Get("role").String()), textParts(m.Get("parts")))
	}
	switch in := r.Get("input"); {
	case in.Type == gjson.String:
		add(hooksapi.ChatMessageAuthorRoleUser, []string{in.String()})
	case in.IsArray():
		for _, item := range in.Array() {
			switch item.Get("type").String() {
			case "", "message":
				add(roleOf(item.Get("role").String()), textParts(item.Get("content")))
			case "function_call_output":
				if o := item.Get("output"); o.Type == gjson.String {
					add(hooksapi.ChatMessageAuthorRoleTool, []string{o.String()})
				}
			}
		}
	}
	return out
}

func roleOf(r string) hooksapi.ChatMessageAuthorRole {
	switch role := hooksapi.ChatMessageAuthorRole(r); role {
	case hooksapi.ChatMessageAuthorRoleUser, hooksapi.ChatMessageAuthorRoleAssistant,
		hooksapi.ChatMessageAuthorRoleSystem, hooksapi.ChatMessageAuthorRoleTool:
		return role
	case "developer":
		return hooksapi.ChatMessageAuthorRoleSystem
	case "model":
		return hooksapi.ChatMessageAuthorRoleAssistant
	default:
		return hooksapi.ChatMessageAuthorRoleUser
	}
}

// textParts reads the text of a content: a string, or parts that are OpenAI/Claude/Responses
// `{"type":"text"|"input_text"|"output_text","text":...}` or Gemini `{"text":...}`.
func textParts(content gjson.Result) []string {
	if content.Type == gjson.String {
		return []string{content.String()}
	}
	var parts []string
	for _, p := range content.Array() {
		t := p.Get("type").String()
		if txt := p.Get("text"); txt.Type == gjson.String && (t == "" || t == "text" || t == "input_text" || t == "output_text") {
			parts = append(parts, txt.String())
		}
	}
	return parts
}

// Question is the text of the last user message of a request.
func Question(body []byte) string {
	msgs := conversation(body)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].role == hooksapi.ChatMessageAuthorRoleUser {
			return strings.Join(msgs[i].parts, "\n")
		}
	}
	return ""
}

// messageID is the id of the i-th message of a call: a UUID (version 8, RFC 9562) from the
// SHA-256 of the request id and i, so the audit and the notify of one call agree.
func messageID(requestID string, i int) string {
	sum := sha256.Sum256([]byte("poolgate-message\x00" + requestID + "\x00" + strconv.Itoa(i)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// timezoneOf is the caller's time zone and its offset (minutes, UTC minus local, as JavaScript's
// getTimezoneOffset) from its body's `timezone` and `timezone_offset_min`, else UTC.
func timezoneOf(body []byte, at time.Time) (string, int) {
	tz, offset := "UTC", 0
	name := gjson.GetBytes(body, "timezone")
	if name.Type == gjson.String && name.String() != "" && len(name.String()) <= 64 {
		tz = name.String()
		if loc, err := time.LoadLocation(tz); err == nil {
			_, secs := at.In(loc).Zone()
			offset = -secs / 60
		}
	}
	if o := gjson.GetBytes(body, "timezone_offset_min"); o.Type == gjson.Number && o.Int() >= -24*60 && o.Int() <= 24*60 {
		offset = int(o.Int())
	}
	return tz, offset
}
