# Poolgate — `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go
LINT  := tools/bin/golangci-lint
PKGS  := ./...
# Node tools (spec linters, Prism, TypeScript generator, oidc-provider, maildev, playwright-core).
NODE_MODULES := tools/node/node_modules
NODE_BIN     := $(NODE_MODULES)/.bin
# The web console's build tools (Vite, TypeScript, Preact), from web/'s own lock file.
WEB_MODULES  := web/node_modules
# The seven contracts (six of its own and seed 001's compatible paths). (The openapi-typescript flags of clients/ts are in openapi/lint/typescript.flags.)
SPECS        := $(foreach c,public auth gateway admin user hooks seed001,openapi/$(c).yaml)
# Where `make test` records the API tests' exchanges for `make contract` (cmd/contractreplay).
CONTRACT_DIR := .contract

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z/_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-14s %s\n", $$1, $$2}'

generate: $(NODE_MODULES) ## Regenerate gen/ (oapi-codegen, sqlc) and clients/ (Go, TypeScript) from openapi/ and sql/
	$(GO) generate ./gen/... ./clients/...
	$(GO) tool sqlc generate
	$(GO) run ./internal/config/configdoc docs/configuration.md

check: generate web lint speclint ## Fail on generated-code or console-build drift, go.mod drift, spec-rule, spec-lint or lint violations
	@if [ -n "$$(git status --porcelain -- gen clients docs/configuration.md web/dist)" ]; then \
		echo "generated code or the console build is out of date; run make generate web and commit:"; \
		git status --porcelain -- gen clients docs/configuration.md web/dist; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) test -count=1 ./openapi/

lint: $(LINT) ## Run golangci-lint (built into tools/bin from tools/go.mod)
	$(LINT) run --allow-parallel-runners ./...

speclint: $(NODE_MODULES) ## Lint the contracts with Redocly and Spectral: no problem allowed beyond the justified ones in openapi/lint/
	$(NODE_BIN)/redocly lint --config openapi/lint/redocly.yaml --format=stylish $(SPECS)
	$(NODE_BIN)/spectral lint --ruleset openapi/lint/spectral.yaml --fail-severity=warn --format=text $(SPECS)

node: $(NODE_MODULES) ## Install the pinned Node tools into tools/node (npm ci)

web: $(WEB_MODULES) ## Rebuild the web console into web/dist (committed, embedded in the binary; deterministic)
	npm run --prefix web --silent build

$(WEB_MODULES): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	@touch $(WEB_MODULES)

$(NODE_MODULES): tools/node/package.json tools/node/package-lock.json
	npm ci --prefix tools/node --no-audit --no-fund --loglevel=error
	@touch $(NODE_MODULES)

$(LINT): tools/go.mod
	cd tools && $(GO) build -o bin/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint

test: $(NODE_MODULES) ## Run every test against the local PostgreSQL and Redis (recording API exchanges for make contract)
	rm -rf $(CONTRACT_DIR)
	CONTRACT_RECORD_DIR=$(abspath $(CONTRACT_DIR)) $(GO) test -count=1 -timeout 20m $(PKGS)

contract: $(NODE_MODULES) ## Replay the exchanges make test recorded through prism proxy --errors, one per contract; any violation fails
	$(GO) run ./cmd/contractreplay $(CONTRACT_DIR)

ci: check test contract ## What CI runs: check, test, then the contract replay through Prism

run: ## Start a development server with zero configuration (see README)
	$(GO) run ./cmd/poolgate dev

build: ## Build bin/poolgate
	$(GO) build -o bin/poolgate ./cmd/poolgate

bench: ## Load benchmark: full gateway vs nginx, a bare reverse proxy and the upstream called directly (writes figures to stdout)
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./internal/billing/ ./internal/api/gateway/
	$(GO) test -run '^$$' -bench Plan -benchtime 2s ./internal/pool/
	$(GO) run ./cmd/poolbench

soak: ## Soak (not in CI): SOAK_DURATION (default 30m) of steady mixed load; RSS, goroutines, files, PG connections stay flat
	SOAK_DURATION=$${SOAK_DURATION:-30m} $(GO) test -count=1 -run '^TestSoak$$' -timeout 0 -v ./internal/reliability/

db/migrate: ## Apply migrations to DATABASE_URL
	$(GO) run ./cmd/poolgate migrate

.PHONY: help generate check web lint speclint node test contract ci run build bench soak db/migrate
