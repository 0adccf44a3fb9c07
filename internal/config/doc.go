package config

import (
	"fmt"
	"strings"
)

// Doc markers delimit the generated variable table in docs/configuration.md.
const (
	DocBegin = "<!-- BEGIN GENERATED: variable table (make generate, from internal/config Options) -->"
	DocEnd   = "<!-- END GENERATED -->"
)

// Markdown renders Options as the configuration reference's table.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, o := range Options {
		def := "—"
		if o.def != "" {
			def = "`" + o.def + "`"
		}
		help := strings.ReplaceAll(o.help, "|", `\|`)
		if o.secret {
			help += " Secret: never logged; `" + o.name + "_FILE` reads it from a file."
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", o.name, def, help)
	}
	return b.String()
}

// RewriteDoc replaces the generated table between the markers in a document; it fails when the
// markers are missing.
func RewriteDoc(doc string) (string, error) {
	i := strings.Index(doc, DocBegin)
	j := strings.Index(doc, DocEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("the document lacks the markers %q and %q", DocBegin, DocEnd)
	}
	return doc[:i+len(DocBegin)] + "\n" + Markdown() + doc[j:], nil
}
