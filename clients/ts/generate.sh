#!/usr/bin/env bash
# Regenerates src/gen/<contract>.ts from openapi/<contract>.yaml with openapi-typescript (pinned in
# tools/node; `make node` installs it). Run by `make generate` (go generate ./clients/...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bin=../../tools/node/node_modules/.bin/openapi-typescript
if [[ ! -x $bin ]]; then
	echo "openapi-typescript is not installed: run make node" >&2
	exit 1
fi
# The flags every TypeScript client is generated with (openapi/typescript_test.go checks that a
# request field with a default stays optional under them).
read -r -a flags <../../openapi/lint/typescript.flags
pids=()
for c in public auth gateway admin user hooks seed001; do
	"$bin" "../../openapi/$c.yaml" -o "src/gen/$c.ts" "${flags[@]}" --silent &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p"
done
