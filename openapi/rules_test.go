package openapi_test

import (
	"context"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/openapi"
)

// load reads a contract from the embedded files, resolving ./common/ references.
func load(t *testing.T, name string) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		return openapi.FS.ReadFile(path.Clean(strings.TrimPrefix(u.Path, "/")))
	}
	doc, err := loader.LoadFromURI(&url.URL{Path: name + ".yaml"})
	require.NoError(t, err, "load %s", name)
	require.NoError(t, doc.Validate(context.Background(), openapi3.EnableExamplesValidation()), "validate %s", name)
	return doc
}

var (
	operationID = regexp.MustCompile(`^[a-z][a-zA-Z0-9]+$`)
	verbFirst   = regexp.MustCompile(`^(get|list|create|update|delete|post|put|patch|set|do|make|fetch)[A-Z]`)
)

// TestContracts enforces the spec rules of style.md on every contract: OpenAPI 3.0, an
// operationId starting with a noun, exactly one tag, an explicit security, documented error
// responses, and examples for every request body and JSON response.
func TestContracts(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, name := range openapi.Contracts {
		doc := load(t, name)
		require.True(t, strings.HasPrefix(doc.OpenAPI, "3.0."), "%s: OpenAPI 3.0.x only", name)
		require.NotEmpty(t, doc.Info.Description, "%s: info.description", name)
		for p, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				where := name + " " + method + " " + p
				require.Regexp(t, operationID, op.OperationID, "%s: operationId", where)
				require.NotRegexp(t, verbFirst, op.OperationID, "%s: operationId starts with the noun", where)
				if other, dup := seen[op.OperationID]; dup && name != "hooks" {
					t.Errorf("%s: operationId %s also used by %s", where, op.OperationID, other)
				}
				seen[op.OperationID] = where
				require.Len(t, op.Tags, 1, "%s: exactly one tag", where)
				require.NotNil(t, op.Security, "%s: explicit security (use [] for none)", where)
				require.NotEmpty(t, op.Summary, "%s: summary", where)
				errs := 0
				for code, ref := range op.Responses.Map() {
					if code[0] == '4' || code[0] == '5' {
						errs++
					}
					require.NotEmpty(t, ref.Value.Description, "%s %s: response description", where, code)
					for ct, mt := range ref.Value.Content {
						if strings.Contains(ct, "json") || strings.HasPrefix(ct, "text/") {
							require.True(t, mt.Example != nil || len(mt.Examples) > 0, "%s %s %s: example", where, code, ct)
						}
					}
				}
				require.Positive(t, errs, "%s: documents its error responses", where)
				if rb := op.RequestBody; rb != nil {
					for ct, mt := range rb.Value.Content {
						require.True(t, mt.Example != nil || len(mt.Examples) > 0, "%s request %s: example", where, ct)
					}
				}
				for _, prm := range append(item.Parameters, op.Parameters...) {
					require.NotEmpty(t, prm.Value.Description, "%s: parameter %s description", where, prm.Value.Name)
					require.NotNil(t, prm.Value.Schema, "%s: parameter %s schema", where, prm.Value.Name)
				}
			}
		}
	}
}
