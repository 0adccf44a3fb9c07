// Command poolgate runs the Poolgate gateway: `poolgate serve` (the default), `poolgate migrate`,
// `poolgate dev` (zero-configuration development server) and `poolgate version`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/poolgate/poolgate/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
