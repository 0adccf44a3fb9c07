// Package tsclient holds the TypeScript client generated from the six contracts (src/gen, by
// openapi-typescript) and its hand-written factory (src/index.ts, on openapi-fetch). Its Go test
// type-checks the client with `tsc --strict` and runs a real flow with it under Node against a
// running server.
package tsclient

//go:generate ./generate.sh
