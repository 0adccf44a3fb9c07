package pool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolgate/poolgate/internal/header"
)

// HeaderSession carries a conversation identity for sticky routing; HeaderAccount asks for an
// account by id.
const (
	HeaderSession = "X-Poolgate-Session"
	HeaderAccount = "X-Poolgate-Account"
)

// maxSession bounds a session identity (longer ones are cut; they are hashed anyway).
const maxSession = 512

// Session finds a call's conversation identity from what was read of its body: the
// X-Poolgate-Session header, Claude's metadata.user_id, OpenAI's prompt_cache_key, or OpenAI's
// user (the body's top-level members metadata, prompt_cache_key and user). It returns "" when the
// call carries none.
func Session(h http.Header, metadata, promptCacheKey, user gjson.Result) string {
	if v := header.Get(h, HeaderSession); v != "" {
		return cut(v)
	}
	if r := metadata.Get("user_id"); r.Type == gjson.String && r.Str != "" {
		return "m:" + cut(r.Str)
	}
	if promptCacheKey.Type == gjson.String && promptCacheKey.Str != "" {
		return "p:" + cut(promptCacheKey.Str)
	}
	if user.Type == gjson.String && user.Str != "" {
		return "u:" + cut(user.Str)
	}
	return ""
}

func cut(s string) string {
	if len(s) > maxSession {
		return s[:maxSession]
	}
	return s
}

// PreferredAccount reads X-Poolgate-Account (an account id); 0 when absent or malformed.
func PreferredAccount(h http.Header) int64 {
	v := header.Get(h, HeaderAccount)
	if v == "" { // the common case, without ParseInt's error value
		return 0
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0
	}
	return id
}

// StripArtefacts removes what only the account that produced it accepts, for a call that moves
// to another account: OpenAI Responses input items carrying encrypted_content (encrypted
// reasoning), Claude thinking and redacted_thinking blocks (their signatures), and Gemini
// thoughtSignature fields. Whole items and blocks are removed because the providers reject them
// without their signature. It returns the body unchanged (and false) when there is nothing to
// strip, without allocating.
func StripArtefacts(body []byte) ([]byte, bool) {
	hasEnc := bytes.Contains(body, []byte(`"encrypted_content"`))
	hasSig := bytes.Contains(body, []byte(`"signature"`)) || bytes.Contains(body, []byte(`"redacted_thinking"`))
	hasThought := bytes.Contains(body, []byte(`"thoughtSignature"`))
	if !hasEnc && !hasSig && !hasThought {
		return body, false
	}
	out := body
	changed := false
	del := func(path string) {
		if b, err := sjson.DeleteBytes(out, path); err == nil {
			out, changed = b, true
		}
	}
	if hasEnc {
		items := gjson.GetBytes(out, "input").Array()
		for i := len(items) - 1; i >= 0; i-- {
			if items[i].Get("encrypted_content").Exists() {
				del("input." + strconv.Itoa(i))
			}
		}
	}
	if hasSig {
		msgs := gjson.GetBytes(out, "messages").Array()
		for i := len(msgs) - 1; i >= 0; i-- {
			blocks := msgs[i].Get("content")
			if !blocks.IsArray() {
				continue
			}
			arr := blocks.Array()
			for j := len(arr) - 1; j >= 0; j-- {
				if t := arr[j].Get("type").Str; t == "thinking" || t == "redacted_thinking" {
					del("messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j))
				}
			}
		}
	}
	if hasThought {
		contents := gjson.GetBytes(out, "contents").Array()
		for i := len(contents) - 1; i >= 0; i-- {
			parts := contents[i].Get("parts").Array()
			for j := len(parts) - 1; j >= 0; j-- {
				if parts[j].Get("thoughtSignature").Exists() {
					del("contents." + strconv.Itoa(i) + ".parts." + strconv.Itoa(j) + ".thoughtSignature")
				}
			}
		}
	}
	return out, changed
}

// maxLimitDays bounds a window limit given in days (a larger count would overflow a Duration).
const maxLimitDays = 3650

// ParseLimit reads a window limit "COUNT/DURATION" such as "60/3h" or "1000/1d".
func ParseLimit(s string) (Limit, error) {
	n, w, ok := strings.Cut(strings.TrimSpace(s), "/")
	count, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || count < 1 {
		return Limit{}, fmt.Errorf("limit %q: want COUNT/DURATION such as 60/3h", s)
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(w, "d"); ok {
		k, err := strconv.Atoi(days)
		if err != nil || k < 1 || k > maxLimitDays {
			return Limit{}, fmt.Errorf("limit %q: bad duration %q", s, w)
		}
		d = time.Duration(k) * 24 * time.Hour
	} else if d, err = time.ParseDuration(w); err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("limit %q: bad duration %q", s, w)
	}
	return Limit{N: count, Window: d}, nil
}

// ParseLimits reads an account's limits column: a JSON object from model ("*": all models) to
// "COUNT/DURATION".
func ParseLimits(raw []byte) (map[string]Limit, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("{}")) {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	out := make(map[string]Limit, len(m))
	for k, v := range m {
		l, err := ParseLimit(v)
		if err != nil {
			return nil, err
		}
		out[k] = l
	}
	return out, nil
}
