// Package openapi embeds Poolgate's contracts so the server can publish them under /openapi/ and
// Swagger UI at /docs can show them.
package openapi

import "embed"

// FS holds the contracts and the shared schemas.
//
//go:embed *.yaml common/*.yaml
var FS embed.FS

// Contracts names the contracts in the order Swagger UI lists them: Poolgate's six, then seed
// 001's compatible paths.
var Contracts = []string{"gateway", "public", "auth", "user", "admin", "hooks", "seed001"}
