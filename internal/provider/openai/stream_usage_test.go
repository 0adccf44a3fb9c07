package openai_test

import (
	"bytes"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/poolgate/poolgate/internal/provider/openai"
)

// FuzzWithStreamUsage: for every JSON object, WithStreamUsage gives exactly the bytes sjson gives
// (its fast path for bodies without stream_options included).
func FuzzWithStreamUsage(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1} `, "{\"a\":1}\n", ` {"a":1}`, `{}`, `{ }`, `{"a":1 }`,
		"{\"a\":1\n}\n", `{"a":{"b":"}"}}`, `{"a":[1,{}]}`, `{"model":"m","stream":true,"messages":[]}`,
		`{"stream_options":null}`, `{"stream_options":{}}`, `{"stream_options":{"include_usage":false},"x":1}`,
		`{"stream\u005foptions":1}`, `{"a":"stream_options"}`, "\t{\r\n}\t"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !gjson.ValidBytes(body) || !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
			return
		}
		want, werr := sjson.SetBytes(bytes.Clone(body), "stream_options.include_usage", true)
		got, err := openai.WithStreamUsage(bytes.Clone(body))
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("WithStreamUsage(%q) = %q, %v; sjson gives %q, %v", body, got, err, want, werr)
		}
	})
}
