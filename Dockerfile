# syntax=docker/dockerfile:1
# Poolgate: a static binary on a distroless base, run as a non-root user. Build with
#   docker build -t poolgate .
# and run with docker-compose.yml (PostgreSQL + Redis + Poolgate); see docs/deployment.md.

# --- build: a static, stripped binary (pure Go: no cgo) ---
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOOS=linux GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -tags nodev -ldflags="-s -w" -o /out/poolgate ./cmd/poolgate \
    && /out/poolgate version

# --- run: no shell, no package manager; uid/gid 65532 (nonroot) ---
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/poolgate /usr/local/bin/poolgate
USER 65532:65532
ENV APP_ENV=production PORT=8080
EXPOSE 8080
# `poolgate healthcheck` asks the server's own /health (the image has no curl).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/poolgate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/poolgate"]
CMD ["serve"]
