package relay

import (
	"bytes"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// maxShareAnswer bounds the answer text a share link's shareAuth/finish carries.
const maxShareAnswer = 64 << 10

// truncatedMark ends an answer cut at maxShareAnswer.
const truncatedMark = "…[truncated]"

// maxCaptureJSON bounds the bytes of a non-streamed answer kept to read its text when the answer
// is not written in one piece (the commit paths write it in one).
const maxCaptureJSON = 4 << 20

// maxCaptureLine bounds one buffered stream line; longer lines are skipped.
const maxCaptureLine = 1 << 20

// answerCapture wraps the response writer of a share-link call with a credential host (and only
// of those: the normal path never sees it) and collects the assistant's answer text from the
// bytes the caller receives, in the share route's protocol (OpenAI chat completions): `choices[0].message.content`
// of a JSON answer, the `choices[0].delta.content` of every streamed chunk. Text past
// maxShareAnswer is dropped and the answer marked as truncated.
type answerCapture struct {
	http.ResponseWriter
	stream    bool
	decided   bool
	text      strings.Builder
	truncated bool
	line      []byte // an incomplete stream line
	skipLine  bool   // the current stream line outgrew maxCaptureLine
	json      []byte // a non-streamed answer written in pieces
	jsonLost  bool
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (a *answerCapture) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// Flush sends what was written so far to the caller.
func (a *answerCapture) Flush() { _ = http.NewResponseController(a.ResponseWriter).Flush() }

func (a *answerCapture) Write(p []byte) (int, error) {
	n, err := a.ResponseWriter.Write(p)
	a.capture(p[:n])
	return n, err
}

func (a *answerCapture) capture(p []byte) {
	if !a.decided {
		a.decided = true
		a.stream = strings.HasPrefix(a.Header().Get("Content-Type"), "text/event-stream")
	}
	if !a.stream {
		if a.json == nil && !a.jsonLost && gjson.ValidBytes(p) { // the whole answer in one write
			a.add(gjson.GetBytes(p, "choices.0.message.content").String())
			a.jsonLost = true // a second document is not an answer
			return
		}
		if len(a.json)+len(p) > maxCaptureJSON {
			a.jsonLost = true
		}
		if !a.jsonLost {
			a.json = append(a.json, p...)
		}
		return
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(a.line)+len(p) > maxCaptureLine {
				a.skipLine, a.line = true, a.line[:0]
			} else if !a.skipLine {
				a.line = append(a.line, p...)
			}
			return
		}
		if !a.skipLine {
			if len(a.line) > 0 {
				a.line = append(a.line, p[:i]...)
				a.event(a.line)
			} else {
				a.event(p[:i])
			}
		}
		a.line, a.skipLine, p = a.line[:0], false, p[i+1:]
	}
}

// event reads the text of one stream line.
func (a *answerCapture) event(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if !bytes.HasPrefix(line, []byte("data:")) {
		return
	}
	payload := bytes.TrimSpace(line[5:])
	if len(payload) == 0 || payload[0] != '{' {
		return
	}
	if c := gjson.GetBytes(payload, "choices.0.delta.content"); c.Type == gjson.String {
		a.add(c.String())
	}
}

func (a *answerCapture) add(s string) {
	if a.truncated || s == "" {
		return
	}
	room := maxShareAnswer - a.text.Len()
	if len(s) > room {
		for room > 0 && !utf8.RuneStart(s[room]) {
			room--
		}
		a.text.WriteString(s[:room])
		a.truncated = true
		return
	}
	a.text.WriteString(s)
}

// answer is the text collected so far, with the truncation mark when it was cut.
func (a *answerCapture) answer() string {
	if a.json != nil && !a.jsonLost {
		a.add(gjson.GetBytes(a.json, "choices.0.message.content").String())
		a.json, a.jsonLost = nil, true
	}
	if a.truncated {
		return a.text.String() + truncatedMark
	}
	return a.text.String()
}
