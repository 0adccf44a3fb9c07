package hook

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/gen/api/hooks"
)

// Call is one gateway call as the hooks see it.
type Call struct {
	// Token is the caller's credential: the Poolgate API key, or a share link's authToken.
	Token string
	// UserID is the Poolgate user the call is charged to (a share link's owner).
	UserID int64
	// AccountID is the upstream account picked for the call (the seed's car id).
	AccountID int64
	// Model is the requested model.
	Model string
	// Body is the caller's OpenAI chat request, unchanged. Audit reads it during the call;
	// Notify copies what it needs before returning.
	Body []byte
	// At is when the call started.
	At time.Time
}

// Result is what a successful call produced, for notifications.
type Result struct {
	PromptTokens, CompletionTokens int64
	// Quota is what the call cost, in quota units.
	Quota int64
}

// chatEvent is the audit/notify body: the generated ChatEvent with raw_message kept as the
// caller's bytes (the outer field shadows the embedded one in encoding/json).
type chatEvent struct {
	hooksapi.ChatEvent
	RawMessage json.RawMessage `json:"raw_message,omitempty"`
}

// newEvent converts a chat request into the seed's event shape: each message becomes
// {id, author:{role}, create_time, content:{content_type:"text", parts}, metadata:{}}, with the
// text of string contents and of `text` parts (other parts are dropped). OpenAI and Claude
// `messages` (and Claude's `system`) and Gemini `contents` (and `systemInstruction`) are read.
func newEvent(c Call, carID string) chatEvent {
	ct := float64(c.At.UnixMilli()) / 1000
	out := []hooksapi.ChatMessage{}
	add := func(role hooksapi.ChatMessageAuthorRole, parts []string) {
		msg := hooksapi.ChatMessage{Id: newID(), CreateTime: &ct, Metadata: map[string]any{}}
		msg.Author.Role = role
		msg.Content.ContentType = hooksapi.Text
		msg.Content.Parts = parts
		out = append(out, msg)
	}
	if sys := gjson.GetBytes(c.Body, "system"); sys.Exists() { // Claude
		add(hooksapi.System, textParts(sys))
	}
	if sys := gjson.GetBytes(c.Body, "systemInstruction.parts"); sys.Exists() { // Gemini
		add(hooksapi.System, textParts(sys))
	}
	for _, m := range gjson.GetBytes(c.Body, "messages").Array() {
		add(roleOf(m.Get("role").String()), textParts(m.Get("content")))
	}
	for _, m := range gjson.GetBytes(c.Body, "contents").Array() {
		add(roleOf(m.Get("role").String()), textParts(m.Get("parts")))
	}
	ev := chatEvent{ChatEvent: hooksapi.ChatEvent{Action: hooksapi.Next, Messages: out, Model: c.Model,
		UserToken: c.Token, CarId: carID}}
	if gjson.ValidBytes(c.Body) && len(c.Body) > 0 && c.Body[0] == '{' {
		ev.RawMessage = c.Body
	}
	return ev
}

func roleOf(r string) hooksapi.ChatMessageAuthorRole {
	switch role := hooksapi.ChatMessageAuthorRole(r); role {
	case hooksapi.User, hooksapi.Assistant, hooksapi.System, hooksapi.Tool:
		return role
	case "developer":
		return hooksapi.System
	case "model":
		return hooksapi.Assistant
	default:
		return hooksapi.User
	}
}

// textParts reads the text of a content: a string, or parts that are OpenAI/Claude
// `{"type":"text","text":...}` or Gemini `{"text":...}`.
func textParts(content gjson.Result) []string {
	if content.Type == gjson.String {
		return []string{content.String()}
	}
	parts := []string{}
	for _, p := range content.Array() {
		t := p.Get("type").String()
		if txt := p.Get("text"); txt.Type == gjson.String && (t == "" || t == "text" || t == "input_text") {
			parts = append(parts, txt.String())
		}
	}
	return parts
}

// Question is the text of the last user message of a chat request.
func Question(body []byte) string {
	ev := newEvent(Call{Body: body}, "")
	for i := len(ev.Messages) - 1; i >= 0; i-- {
		if ev.Messages[i].Author.Role == hooksapi.User {
			return strings.Join(ev.Messages[i].Content.Parts, "\n")
		}
	}
	return ""
}

// newID is a random UUID (version 4).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
