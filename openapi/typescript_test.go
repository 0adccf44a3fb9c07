package openapi_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/nodetool"
	"github.com/poolgate/poolgate/openapi"
)

// TestTypeScriptDefaultsOptional generates each contract's TypeScript types with openapi-typescript
// and the flags every TypeScript client is generated with (openapi/lint/typescript.flags; the
// Makefile reads the same file), and requires every request field that has a `default` to be
// optional: a caller may leave out what the server fills in.
func TestTypeScriptDefaultsOptional(t *testing.T) {
	t.Parallel()
	root := nodetool.Root(t)
	raw, err := os.ReadFile(filepath.Join(root, "openapi", "lint", "typescript.flags"))
	require.NoError(t, err)
	flags := strings.Fields(string(raw))
	checked := 0
	for _, name := range openapi.Contracts {
		doc := load(t, name)
		fields := requestDefaults(doc)
		if len(fields) == 0 {
			continue
		}
		args := append([]string{filepath.Join(root, "openapi", name+".yaml")}, flags...)
		cmd := nodetool.Command(t, "openapi-typescript", args...)
		out, err := cmd.Output()
		require.NoError(t, err, "openapi-typescript %s", name)
		ts := string(out)
		for _, f := range fields {
			require.False(t, f.required, "%s: %s.%s has a default, so it cannot be required", name, f.schema, f.field)
			block := schemaBlock(ts, f.schema)
			require.NotEmpty(t, block, "%s: schema %s not found in the generated types", name, f.schema)
			optional := regexp.MustCompile(`(?m)^ {12}` + regexp.QuoteMeta(f.field) + `\?:`)
			require.Regexp(t, optional, block, "%s: %s.%s has a default, so it must be optional in TypeScript", name, f.schema, f.field)
			checked++
		}
	}
	require.Positive(t, checked)
}

type schemaField struct {
	schema, field string
	required      bool
}

// requestDefaults lists the fields with a default of the component schemas request bodies use,
// directly or nested.
func requestDefaults(doc *openapi3.T) []schemaField {
	names := map[*openapi3.Schema]string{}
	for n, ref := range doc.Components.Schemas {
		names[ref.Value] = n
	}
	seen := map[*openapi3.Schema]bool{}
	var out []schemaField
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if n, ok := names[s]; ok {
			for field, p := range s.Properties {
				if p.Value != nil && p.Value.Default != nil {
					out = append(out, schemaField{n, field, slices.Contains(s.Required, field)})
				}
			}
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		for _, group := range [][]openapi3.SchemaRefs{{s.AllOf}, {s.AnyOf}, {s.OneOf}} {
			for _, refs := range group {
				for _, r := range refs {
					walk(r)
				}
			}
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			for _, mt := range op.RequestBody.Value.Content {
				walk(mt.Schema)
			}
		}
	}
	return out
}

// schemaBlock is the text of components.schemas.<name> in openapi-typescript's output.
func schemaBlock(ts, name string) string {
	start := strings.Index(ts, "\n        "+name+": {")
	if start < 0 {
		return ""
	}
	end := strings.Index(ts[start+1:], "\n        }")
	if end < 0 {
		return ts[start:]
	}
	return ts[start : start+1+end]
}
