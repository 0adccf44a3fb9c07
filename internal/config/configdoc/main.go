// Command configdoc rewrites the variable table of docs/configuration.md from the configuration's
// option table (internal/config Options). `make generate` runs it; `make check` fails on drift.
package main

import (
	"fmt"
	"os"

	"github.com/poolgate/poolgate/internal/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: configdoc docs/configuration.md")
		os.Exit(2)
	}
	path := os.Args[1]
	b, err := os.ReadFile(path) //nolint:gosec // the path is the Makefile's
	if err == nil {
		var out string
		if out, err = config.RewriteDoc(string(b)); err == nil && out != string(b) {
			err = os.WriteFile(path, []byte(out), 0o644) //nolint:gosec // a documentation file
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "configdoc: %v\n", err)
		os.Exit(1)
	}
}
