// Command contractreplay replays the API tests' recorded exchanges (internal/apptest, when
// CONTRACT_RECORD_DIR is set) through Prism's validating proxy, one `prism proxy --errors` per
// contract in front of a server that answers each request with its recorded response. Prism
// checks every request and response against the spec on its own (a second validator beside
// kin-openapi in the tests); any violation fails. `make contract` runs it after `make test`.
//
// Usage: contractreplay [-prism path] [-openapi dir] DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	prism := flag.String("prism", "tools/node/node_modules/.bin/prism", "the prism CLI")
	specs := flag.String("openapi", "openapi", "where the contracts are")
	workers := flag.Int("workers", 8, "requests in flight per contract")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: contractreplay [-prism path] [-openapi dir] DIR")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	r := &replay{prism: *prism, specs: *specs, workers: *workers, out: os.Stdout}
	err := r.run(ctx, flag.Arg(0))
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "contractreplay: %v\n", err)
		os.Exit(1)
	}
}
