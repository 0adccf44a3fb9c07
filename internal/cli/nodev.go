//go:build nodev

package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/poolgate/poolgate/internal/config"
)

// errNoDev answers `poolgate dev` in a binary built with `-tags nodev` (the production image):
// it links neither the development database finder nor the fake upstream.
var errNoDev = errors.New("this binary was built without the development server (-tags nodev); use `go run ./cmd/poolgate dev`")

func devDatabase(context.Context, *slog.Logger, string) (string, func(context.Context) error, error) {
	return "", nil, errNoDev
}

func serveDev(context.Context, *config.Config, *slog.Logger, io.Writer) error { return errNoDev }
