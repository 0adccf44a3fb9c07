package translate

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/internal/jsonx"
)

// jw appends compact JSON to a byte slice, inserting commas itself.
type jw struct {
	b        []byte
	comma    []bool
	afterKey bool
}

func (w *jw) sep() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if n := len(w.comma); n > 0 {
		if w.comma[n-1] {
			w.b = append(w.b, ',')
		}
		w.comma[n-1] = true
	}
}

func (w *jw) obj() { w.sep(); w.b = append(w.b, '{'); w.comma = append(w.comma, false) }
func (w *jw) arr() { w.sep(); w.b = append(w.b, '['); w.comma = append(w.comma, false) }
func (w *jw) end() { w.b = append(w.b, '}'); w.comma = w.comma[:len(w.comma)-1] }
func (w *jw) endArr() {
	w.b = append(w.b, ']')
	w.comma = w.comma[:len(w.comma)-1]
}

// key writes a member name. Every name the encoders write is a literal that needs no escaping,
// so it is copied as is.
func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
	w.afterKey = true
}

func (w *jw) str(s string)    { w.sep(); w.b = jsonx.AppendString(w.b, s) }
func (w *jw) raw(r []byte)    { w.sep(); w.b = append(w.b, r...) }
func (w *jw) rawS(r string)   { w.sep(); w.b = append(w.b, r...) }
func (w *jw) int(v int64)     { w.sep(); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) bool(v bool)     { w.sep(); w.b = strconv.AppendBool(w.b, v) }
func (w *jw) null()           { w.sep(); w.b = append(w.b, "null"...) }
func (w *jw) float(v float64) { w.sep(); w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64) }

// kv helpers write "key": value.
func (w *jw) kStr(k, v string)        { w.key(k); w.str(v) }
func (w *jw) kInt(k string, v int64)  { w.key(k); w.int(v) }
func (w *jw) kRaw(k string, v []byte) { w.key(k); w.raw(v) }

// requestObject parses a request body, which must be one JSON object.
func requestObject(body []byte) (gjson.Result, error) {
	if !gjson.ValidBytes(body) {
		return gjson.Result{}, errorf("the request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return root, errorf("the request body must be a JSON object")
	}
	return root, nil
}

// get reads the first of several spellings of a field (Gemini accepts camelCase and snake_case).
func get(r gjson.Result, names ...string) gjson.Result {
	for _, n := range names {
		if v := r.Get(n); v.Exists() {
			return v
		}
	}
	return gjson.Result{}
}

// floatPtr reads a number field; nil when absent or null.
func floatPtr(r gjson.Result) *float64 {
	if r.Type != gjson.Number {
		return nil
	}
	v := r.Num
	return &v
}

// intPtr reads an integer field; nil when absent or null.
func intPtr(r gjson.Result) *int64 {
	if r.Type != gjson.Number {
		return nil
	}
	v := r.Int()
	return &v
}

// rawNumber keeps a number field's text as sent (seeds may exceed float precision).
func rawNumber(r gjson.Result) []byte {
	if r.Type != gjson.Number {
		return nil
	}
	return []byte(r.Raw)
}

// rawObject returns a JSON object's raw bytes, or nil.
func rawObject(r gjson.Result) []byte {
	if !r.IsObject() {
		return nil
	}
	return []byte(r.Raw)
}

// strings reads a string or an array of strings.
func stringList(r gjson.Result) []string {
	if r.Type == gjson.String {
		return []string{r.Str}
	}
	var out []string
	r.ForEach(func(_, v gjson.Result) bool {
		if v.Type == gjson.String {
			out = append(out, v.Str)
		}
		return true
	})
	return out
}

// parseDataURL splits "data:<mime>;base64,<data>"; ok is false for any other URL.
func parseDataURL(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mediaType, isB64 := strings.CutSuffix(meta, ";base64")
	if !isB64 {
		// Percent-encoded data URLs are rare for images; re-encode them as base64.
		return mediaType, base64.StdEncoding.EncodeToString([]byte(data)), true
	}
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	return mediaType, data, true
}

// mediaTypeOfURL guesses an image's media type from its URL's extension.
func mediaTypeOfURL(u string) string {
	path, _, _ := strings.Cut(u, "?")
	switch i := strings.LastIndexByte(path, '.'); {
	case i < 0:
	case strings.EqualFold(path[i:], ".png"):
		return "image/png"
	case strings.EqualFold(path[i:], ".gif"):
		return "image/gif"
	case strings.EqualFold(path[i:], ".webp"):
		return "image/webp"
	}
	return "image/jpeg"
}

// textOf joins the Text parts of parts with newlines.
func textOf(parts []Part) string {
	n := 0
	var one string
	for _, p := range parts {
		if p.Kind == Text {
			n++
			one = p.Text
		}
	}
	if n <= 1 {
		return one
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Kind == Text {
			if sb.Len() > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(p.Text)
		}
	}
	return sb.String()
}

// validArgs returns args when it is a JSON object, else "{}".
func validArgs(args []byte) []byte {
	r := gjson.ParseBytes(args)
	if len(args) == 0 || !r.IsObject() || !gjson.ValidBytes(args) {
		return []byte("{}")
	}
	return args
}
