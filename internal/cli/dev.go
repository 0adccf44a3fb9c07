//go:build !nodev

package cli

import (
	"context"
	"io"
	"log/slog"

	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/devenv"
	"github.com/poolgate/poolgate/internal/devserver"
)

// devDatabase finds or starts a PostgreSQL server for `poolgate dev`.
func devDatabase(ctx context.Context, log *slog.Logger, dataDir string) (string, func(context.Context) error, error) {
	return devenv.Database(ctx, log, dataDir)
}

// serveDev runs the development server (built-in echo upstream, fixtures).
func serveDev(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	return devserver.Serve(ctx, cfg, log, out)
}
