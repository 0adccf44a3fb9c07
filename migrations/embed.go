// Package migrations embeds Poolgate's goose SQL migrations so the binary can apply them on start
// (`poolgate serve`) or on demand (`poolgate migrate`).
package migrations

import "embed"

// FS holds every migration file, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
