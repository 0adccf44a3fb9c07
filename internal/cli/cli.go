// Package cli parses Poolgate's command line and runs the chosen command.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/poolgate/poolgate/internal/app"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/store"
)

const usage = `Usage: poolgate [command]

Commands:
  serve     run the server (default); configuration comes from the environment and .env
  migrate   apply pending database migrations and exit
  dev       run a development server with zero configuration: finds or starts PostgreSQL,
            creates an admin, a demo user with an API key and a demo channel on a built-in
            echo upstream, and prints how to call it
  version   print the version
  healthcheck
            exit 0 when the server on 127.0.0.1:$PORT answers GET /health with 200 (for
            container health checks: the image has no shell or curl)
`

// Run executes a command and returns the process exit code.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	getenv = config.WithDotenv(getenv, ".env")
	switch cmd {
	case "serve", "migrate", "dev":
	case "version":
		fmt.Fprintln(stdout, "poolgate 0.1.0")
		return 0
	case "healthcheck":
		return healthcheck(ctx, getenv, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if cmd == "dev" {
		getenv = devDefaults(getenv)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "configuration error:\n%v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	var stopDB func(context.Context) error
	if cmd == "dev" && cfg.DatabaseURL == "" {
		cfg.DatabaseURL, stopDB, err = devDatabase(ctx, log, cfg.DataDir)
		if err != nil {
			fmt.Fprintf(stderr, "no database for development: %v\n", err)
			return 1
		}
		defer func() { _ = stopDB(context.WithoutCancel(ctx)) }()
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "configuration error:\n%v\n", err)
		return 2
	}
	switch cmd {
	case "migrate":
		pool, err := store.Open(ctx, cfg.DatabaseURL)
		if err == nil {
			err = store.Migrate(ctx, pool)
			pool.Close()
		}
		if err != nil {
			log.Error("migrate", "error", err)
			return 1
		}
		log.Info("migrations applied")
		return 0
	case "dev":
		err = serveDev(ctx, cfg, log, stdout)
	default:
		err = app.Serve(ctx, cfg, log, app.Options{})
	}
	if err != nil {
		log.Error("poolgate stopped", "error", err)
		return 1
	}
	return 0
}

// devDefaults makes `poolgate dev` a development environment unless told otherwise.
func devDefaults(getenv func(string) string) func(string) string {
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		if name == "APP_ENV" {
			return config.EnvDevelopment
		}
		return ""
	}
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
