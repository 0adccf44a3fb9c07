package hook

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxAnswer bounds how much of a hook's answer is read.
const maxAnswer = 64 << 10

// readAnswer reads a hook's answer body (bounded) and closes it.
func readAnswer(res *http.Response) []byte {
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxAnswer)) // let the connection be reused
	return b
}

// decodeLenient decodes a third party's JSON answer into v whatever the Content-Type it came
// with (plain scripts answer text/plain or nothing), ignoring a UTF-8 byte order mark.
func decodeLenient(body []byte, v any) bool {
	body = bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\xef\xbb\xbf"))
	return len(body) > 0 && json.Unmarshal(body, v) == nil
}

// looseInt is a number a third party may write as a string ("1").
type looseInt struct {
	n  int64
	ok bool
}

// UnmarshalJSON reads 1, 1.0 or "1".
func (l *looseInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
		l.n, l.ok = int64(f), true
	}
	return nil
}

// looseBool is a boolean a third party may write as a string or a number ("true", 1).
type looseBool bool

// UnmarshalJSON reads true, "true", 1 or "1" as true; anything else as false.
func (l *looseBool) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(string(b)), `"`)) {
	case "true", "1":
		*l = true
	default:
		*l = false
	}
	return nil
}

// looseString is a string, or any other JSON value written as text (a message given as a number).
type looseString string

// UnmarshalJSON reads a string as is and anything else but null as its JSON text.
func (l *looseString) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = looseString(s)
		return nil
	}
	if t := strings.TrimSpace(string(b)); t != "null" {
		*l = looseString(t)
	}
	return nil
}

// loginAnswer is the login check's answer as third parties write it.
type loginAnswer struct {
	Code    looseInt    `json:"code"`
	Msg     looseString `json:"msg"`
	Message looseString `json:"message"`
	Grant   looseString `json:"grant"`
}

func (a loginAnswer) msg() string {
	if a.Msg != "" {
		return string(a.Msg)
	}
	return string(a.Message)
}

// verdictAnswer is a shareAuth answer as third parties write it.
type verdictAnswer struct {
	Success looseBool   `json:"success"`
	Message looseString `json:"message"`
	Msg     looseString `json:"msg"`
}

// plainMessage is a short text answer shown as is (a refusal in plain text), or "".
func plainMessage(body []byte) string {
	m := strings.TrimSpace(string(body))
	if m == "" || len(m) > 512 || strings.ContainsAny(m[:1], "{[<") {
		return ""
	}
	return m
}
