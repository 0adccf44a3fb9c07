package jsonx

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

var scanNames = []string{"a", "b", "usage", "choices", "é"}

// checkScan compares ParseMembers with gjson: the same documents are valid objects, and every
// member read is what gjson's Get reads; ParseMembersInPlace reads the same.
func checkScan(t *testing.T, doc []byte) {
	t.Helper()
	out := make([]gjson.Result, len(scanNames))
	ok := ParseMembers(doc, scanNames, out)
	valid := gjson.ValidBytes(doc) && gjson.ParseBytes(doc).IsObject()
	require.Equal(t, valid, ok, "%q", doc)
	if !ok {
		return
	}
	require.True(t, json.Valid(doc), "%q", doc)
	root := gjson.ParseBytes(doc)
	for i, n := range scanNames {
		var want gjson.Result
		root.ForEach(func(k, v gjson.Result) bool {
			if k.Str == n {
				want = v
				return false
			}
			return true
		})
		require.Equal(t, want.Raw, out[i].Raw, "%q member %s", doc, n)
	}
	// In place: the same answer and members, read from doc itself.
	in := make([]gjson.Result, len(scanNames))
	require.True(t, ParseMembersInPlace(doc, scanNames, in), "%q", doc)
	require.Equal(t, out, in, "%q", doc)
}

func TestParseMembers(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":1,"a":2}`, `{"b":[1,2,{"c":null}],"a":"x\"y"}`, `{"\u00e9":true}`,
		`{"a":-0.5e+10,"b":[],"usage":{"x":[[]]}}`, `{"a":01}`, `{"a":1,}`, `{"a" 1}`, `[1]`, `{"a":"\x"}`,
		"{\"a\":\"\x01\"}", `{"a":tru}`, `{"a":1}x`, `{"a":1`, `{"a":"\u12"}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`,
		`{"a":[1 2]}`, `{"a":{"b"}}`, "{\"a\":\"\xff\"}", `{"choices":[{"index":0}],"usage":null}`,
	} {
		checkScan(t, []byte(doc))
	}
}

// FuzzParseMembers holds the scanner to gjson on arbitrary input.
func FuzzParseMembers(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,false,null],"usage":{"x":"y"}}`, `{"\u00e9":"\n"}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkScan(t, doc) })
}
