package reliability_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/apptest"
)

// badUTF8 stands for invalid UTF-8 in a generated JSON body: json.Marshal would repair the
// bytes, so the placeholder is replaced in the encoded body.
const badUTF8 = "\u0001bad-utf8\u0001"

// junkValues are what a path or query parameter gets instead of its value.
var junkValues = []string{
	"", " ", "\xff\xfe", "a\x00b", "%00", strings.Repeat("x", 8<<10), "-1", "0",
	"99999999999999999999999", "1e309", "NaN", "../../../etc/passwd", "' OR 1=1 --", "{}", "[]", "\u202e\u0000",
}

// variant is one invalid request generated from an operation.
type variant struct {
	what string
	c    call
}

// invalidVariants generates invalid requests for o from its spec: junk in every path and query
// parameter, an undeclared parameter, and for a JSON body: not JSON, empty, null, the wrong JSON
// type, every property missing, of the wrong type, huge, empty, of invalid UTF-8 and at and past
// its numeric bounds, an unknown property, and nesting 10,000 levels deep.
func invalidVariants(t testing.TB, o operation, base call) []variant {
	t.Helper()
	var out []variant
	for _, pr := range o.parameters() {
		p := pr.Value
		for _, j := range junkValues {
			c := clone(base)
			switch p.In {
			case openapi3.ParameterInPath:
				if j == "" {
					continue // an empty segment is another route
				}
				c.Path = replaceParam(o, base, p.Name, j)
			case openapi3.ParameterInQuery:
				c.Query.Set(p.Name, j)
			default:
				continue
			}
			out = append(out, variant{fmt.Sprintf("%s %s = %.40q", p.In, p.Name, j), c})
		}
	}
	c := clone(base)
	c.Query.Set("undeclared\xff", "\x00")
	out = append(out, variant{"undeclared query parameter", c})
	if base.Body == nil {
		return out
	}
	raw := func(what string, b []byte) {
		c := clone(base)
		c.Body = b
		out = append(out, variant{what, c})
	}
	raw("not JSON", []byte(`{"a":`))
	raw("empty body", []byte{})
	raw("null", []byte(`null`))
	raw("array", []byte(`[]`))
	raw("string", []byte(`"x"`))
	raw("invalid UTF-8 outside strings", []byte("{\xff}"))
	raw("nested 10000 deep", []byte(strings.Repeat(`{"a":`, 10000)+"1"+strings.Repeat("}", 10000)))
	raw("arrays nested 10000 deep", []byte(strings.Repeat("[", 10000)+strings.Repeat("]", 10000)))
	var ex map[string]any
	if json.Unmarshal(base.Body, &ex) != nil {
		return out
	}
	schema := bodySchema(o)
	set := func(what, key string, v any) {
		m := copyMap(ex)
		m[key] = v
		b, err := json.Marshal(m)
		require.NoError(t, err)
		b = bytes.ReplaceAll(b, []byte(`"\u0001bad-utf8\u0001"`), []byte("\"\xff\xfe\xfd\""))
		raw(what, b)
	}
	withExtra := copyMap(ex)
	withExtra["zz_unknown_field"] = "x"
	b, _ := json.Marshal(withExtra)
	raw("unknown property", b)
	for _, key := range propertyNames(schema, ex) {
		m := copyMap(ex)
		delete(m, key)
		b, _ := json.Marshal(m)
		raw("without "+key, b)
		set(key+" wrong type (object)", key, map[string]any{"x": []any{1}})
		set(key+" wrong type (array)", key, []any{"x", 1})
		set(key+" wrong type (bool)", key, true)
		set(key+" null", key, nil)
		set(key+" huge string", key, strings.Repeat("é", 200<<10))
		set(key+" empty string", key, "")
		set(key+" invalid UTF-8", key, badUTF8)
		set(key+" NUL", key, "a\x00b")
		for _, n := range numbersAround(propertySchema(schema, key)) {
			set(fmt.Sprintf("%s = %v", key, n), key, n)
		}
	}
	return out
}

// bodySchema is the operation's JSON request body schema (nil when none).
func bodySchema(o operation) *openapi3.Schema {
	if o.Op.RequestBody == nil || o.Op.RequestBody.Value == nil {
		return nil
	}
	mt := o.Op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// propertyNames are the body's properties: the schema's (through allOf) and the example's.
func propertyNames(s *openapi3.Schema, ex map[string]any) []string {
	set := map[string]bool{}
	for k := range ex {
		set[k] = true
	}
	var walk func(*openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if s == nil {
			return
		}
		for k := range s.Properties {
			set[k] = true
		}
		for _, a := range s.AllOf {
			walk(a.Value)
		}
	}
	walk(s)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func propertySchema(s *openapi3.Schema, key string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p := s.Properties[key]; p != nil {
		return p.Value
	}
	for _, a := range s.AllOf {
		if p := propertySchema(a.Value, key); p != nil {
			return p
		}
	}
	return nil
}

// numbersAround are the numbers at and just past a numeric schema's bounds, and extremes.
func numbersAround(s *openapi3.Schema) []any {
	if s == nil || s.Type == nil || (!s.Type.Is("integer") && !s.Type.Is("number")) {
		return nil
	}
	out := []any{-1, 0, 1.5, math.MaxInt64, json.Number("9223372036854775808"), json.Number("-9223372036854775809"),
		json.Number("1e309"), json.Number("-1e309")}
	if s.Min != nil {
		out = append(out, *s.Min, *s.Min-1)
	}
	if s.Max != nil {
		out = append(out, *s.Max, *s.Max+1)
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func clone(c call) call {
	out := c
	out.Query = url.Values{}
	for k, v := range c.Query {
		out.Query[k] = append([]string(nil), v...)
	}
	out.Header = c.Header.Clone()
	return out
}

// replaceParam fills the path template with the base call's values but name's, which is v
// (escaped as a path segment, so invalid UTF-8 and NUL arrive percent-encoded).
func replaceParam(o operation, base call, name, v string) string {
	tmpl := strings.Split(o.Path, "/")
	got := strings.Split(base.Path, "/")
	for i, seg := range tmpl {
		if seg == "{"+name+"}" && i < len(got) {
			got[i] = url.PathEscape(v)
		}
	}
	return strings.Join(got, "/")
}

// TestInvalidInputs sends every operation the invalid requests invalidVariants generates from
// its contract, as the administrator (past authorization; open operations too) and, for the
// gateway, with an API key: no answer is a 5xx, every answer matches the operation's contract
// (documented status and error shape; the client validates it), and no error message repeats
// more than a bounded part of what it was sent.
func TestInvalidInputs(t *testing.T) {
	t.Parallel()
	ops := operations(t)
	models := gatewayModels(ops)
	byContract := map[string][]operation{}
	for _, o := range ops {
		if r := matrix[o.ID]; r.access != outbound && !r.isolated {
			byContract[o.Contract] = append(byContract[o.Contract], o)
		}
	}
	for contract, group := range byContract {
		t.Run(contract, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, models, apptest.JunkInputs())
			type job struct {
				o        operation
				variants []variant
			}
			jobs := make(chan job, len(group))
			for _, o := range group {
				base, err := o.exampleCall(nil, nil)
				require.NoError(t, err)
				jobs <- job{o, invalidVariants(t, o, base)}
			}
			close(jobs)
			// The calls wait on the database far more than they use the CPU: a few operations go
			// at once (each one's requests in order), so the package stays within minutes on a
			// loaded machine.
			var (
				mu          sync.Mutex
				total       int
				slowest     time.Duration
				slowestWhat string
				wg          sync.WaitGroup
			)
			for range invalidWorkers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range jobs {
						o := j.o
						cred := bearer(w.env.AdminToken)
						if o.Contract == "gateway" {
							cred = bearer(w.user.Key)
						}
						for _, v := range j.variants {
							began := time.Now()
							status, b, err := trySend(w.env.RawHTTP, w.env.URL, v.c, cred)
							d := time.Since(began)
							mu.Lock()
							total++
							if d > slowest {
								slowest, slowestWhat = d, o.ID+" with "+v.what
							}
							mu.Unlock()
							if !assert.NoError(t, err, "%s %s (%s) with %s", o.Method, o.Path, o.ID, v.what) {
								continue
							}
							msg := fmt.Sprintf("%s %s (%s) with %s: %d %.300s", o.Method, o.Path, o.ID, v.what, status, b)
							if matrix[o.ID].unavailable && status == http.StatusServiceUnavailable {
								continue
							}
							assert.Less(t, status, 500, msg)
							if status >= 400 {
								assert.Less(t, len(b), 4<<10, "an error answer is small, whatever it was sent: "+msg)
							}
						}
					}
				}()
			}
			wg.Wait()
			t.Logf("%d invalid requests; the slowest answer took %s (%s)", total, slowest, slowestWhat)
		})
	}
}

// invalidWorkers is how many operations of one contract TestInvalidInputs sends at once.
const invalidWorkers = 4
