package openapi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// dynamicCodes are the places that build a fault code from a value the program does not know
// in advance, and why each is documented anyway. A new one must be added here on purpose.
var dynamicCodes = map[string]string{
	// An audit hook's own `error` code (`model_cap_exceeded`, ...) is passed through to the caller
	// on gateway routes, in the caller's protocol's shape (hooks.yaml, AuditRefusal).
	"internal/relay/hooks.go": "an audit hook's own error code, passed through on gateway routes",
	// An upstream's own error code (or `upstream_<status>`) is passed through to the caller on
	// gateway routes, in the caller's protocol's shape.
	"internal/relay/errors.go": "an upstream's own error code, passed through on gateway routes",
}

// TestFaultCodesDocumented walks every fault code the server can emit — fault's default codes,
// the literal or constant code of every fault.Code(...) call and fault.Error{Code: ...} literal
// in internal/ and cmd/ — and requires each to be in the documented list (the enum of
// ErrorDetail.code in openapi/common/schemas.yaml), and every documented code to be emitted.
func TestFaultCodesDocumented(t *testing.T) {
	t.Parallel()
	doc := load(t, "common/schemas")
	documented := map[string]bool{}
	for _, v := range doc.Components.Schemas["ErrorDetail"].Value.Properties["code"].Value.Enum {
		documented[v.(string)] = true
	}
	require.NotEmpty(t, documented, "ErrorDetail.code lists its values in an enum")

	emitted := faultCodes(t)
	var missing []string
	for code, where := range emitted {
		if !documented[code] {
			missing = append(missing, code+" ("+where+")")
		}
	}
	slices.Sort(missing)
	require.Empty(t, missing, "codes the server emits but openapi/common/schemas.yaml ErrorDetail.code does not list")
	var unused []string
	for code := range documented {
		if _, ok := emitted[code]; !ok {
			unused = append(unused, code)
		}
	}
	slices.Sort(unused)
	require.Empty(t, unused, "codes ErrorDetail.code lists but nothing emits")
}

// faultCodes parses the server's sources and returns every fault code with one place it is used.
func faultCodes(t *testing.T) map[string]string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	fset := token.NewFileSet()
	type file struct {
		rel string
		f   *ast.File
	}
	var files []file
	// consts maps "<dir>.<Name>" to a string constant's value.
	consts := map[string]string{}
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(p) //nolint:gosec // the repository's own sources
			if err != nil {
				return err
			}
			f, err := parser.ParseFile(fset, p, src, 0)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files = append(files, file{rel: filepath.ToSlash(rel), f: f})
			for _, decl := range f.Decls {
				g, ok := decl.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i < len(vs.Values) {
							if s, ok := stringLit(vs.Values[i]); ok {
								consts[filepath.ToSlash(filepath.Dir(rel))+"."+name.Name] = s
							}
						}
					}
				}
			}
			return nil
		})
		require.NoError(t, err)
	}

	out := map[string]string{}
	for _, fl := range files {
		dir := filepath.Dir(fl.rel)
		imports := map[string]string{} // local name → repository directory
		for _, im := range fl.f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			rel, ok := strings.CutPrefix(p, "github.com/poolgate/poolgate/")
			if !ok {
				continue
			}
			name := filepath.Base(rel)
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = rel
		}
		// resolve returns the values code expression e can take, and whether it can take others.
		resolve := func(e ast.Expr, fn *ast.FuncDecl) ([]string, bool) {
			if s, ok := stringLit(e); ok {
				return []string{s}, false
			}
			switch x := e.(type) {
			case *ast.Ident:
				if v, ok := consts[dir+"."+x.Name]; ok {
					return []string{v}, false
				}
				return localValues(x.Name, fn)
			case *ast.SelectorExpr:
				if pkg, ok := x.X.(*ast.Ident); ok {
					if v, ok := consts[imports[pkg.Name]+"."+x.Sel.Name]; ok {
						return []string{v}, false
					}
					if _, isPkg := imports[pkg.Name]; !isPkg && x.Sel.Name == "Code" {
						return nil, false // another fault's code, collected where that fault is made
					}
				}
			}
			return nil, true
		}
		where := func(n ast.Node) string { return fl.rel + ":" + strconv.Itoa(fset.Position(n.Pos()).Line) }
		add := func(n ast.Node, e ast.Expr, fn *ast.FuncDecl) {
			codes, dynamic := resolve(e, fn)
			if dynamic {
				_, ok := dynamicCodes[fl.rel]
				require.True(t, ok, "%s: a fault code the test cannot read; use a literal or a constant, or list the file in dynamicCodes", where(n))
			}
			for _, c := range codes {
				if _, seen := out[c]; !seen {
					out[c] = where(n)
				}
			}
		}
		for _, decl := range fl.f.Decls {
			fn, _ := decl.(*ast.FuncDecl)
			if dir == "internal/fault" {
				// fault's own constructors take the code as a parameter; its codes are the
				// default code of each kind (the string values of its map literals).
				if g, ok := decl.(*ast.GenDecl); ok {
					ast.Inspect(g, func(n ast.Node) bool {
						if kv, ok := n.(*ast.KeyValueExpr); ok {
							if s, ok := stringLit(kv.Value); ok {
								out[s] = where(kv)
							}
						}
						return true
					})
				}
				continue
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					if sel, ok := x.Fun.(*ast.SelectorExpr); ok && isFault(sel.X) && sel.Sel.Name == "Code" && len(x.Args) == 3 {
						add(x, x.Args[1], fn)
					}
				case *ast.CompositeLit:
					if sel, ok := x.Type.(*ast.SelectorExpr); ok && isFault(sel.X) && sel.Sel.Name == "Error" {
						for _, el := range x.Elts {
							if kv, ok := el.(*ast.KeyValueExpr); ok {
								if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Code" {
									add(kv, kv.Value, fn)
								}
							}
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// isFault says whether e names the fault package.
func isFault(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "fault"
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// localValues returns the string literals a local variable is given in fn, and whether it is
// given anything else (or fn is unknown).
func localValues(name string, fn *ast.FuncDecl) (vals []string, dynamic bool) {
	if fn == nil {
		return nil, true
	}
	ast.Inspect(fn, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok {
			return true
		}
		for i, lhs := range as.Lhs {
			id, ok := lhs.(*ast.Ident)
			if !ok || id.Name != name {
				continue
			}
			if len(as.Lhs) != len(as.Rhs) { // a, b := f()
				dynamic = true
				continue
			}
			switch s, ok := stringLit(as.Rhs[i]); {
			case !ok:
				dynamic = true
			case s != "": // "" means no code yet
				vals = append(vals, s)
			}
		}
		return true
	})
	return vals, dynamic || len(vals) == 0
}
