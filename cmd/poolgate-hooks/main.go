// Command poolgate-hooks is Poolgate's reference hook server (internal/hookserver), generated from
// openapi/hooks.yaml: a starting point for integrators. See docs/hooks.md.
//
// Environment: HOOKS_ADDR (default :8090), HOOK_SECRET (verify signatures), LOGIN_TOKENS
// (`token[:grant],...`), SHARE_TOKEN, BLOCKED_WORDS (comma-separated), MODEL_LIMITS
// (`gpt-4o=60/3h,gpt-4o-mini=DISABLED,*=100/1h`), REMOTE_TOKENS (comma-separated).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/poolgate/poolgate/internal/hookserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "poolgate-hooks:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	limits, err := hookserver.ParseLimits(getenv("MODEL_LIMITS"))
	if err != nil {
		return err
	}
	logins := map[string]string{}
	for _, item := range split(getenv("LOGIN_TOKENS")) {
		tok, grant, _ := strings.Cut(item, ":")
		logins[tok] = grant
	}
	cfg := hookserver.Config{LoginTokens: logins, ShareToken: getenv("SHARE_TOKEN"),
		BlockedWords: split(getenv("BLOCKED_WORDS")), Limits: limits, RemoteTokens: split(getenv("REMOTE_TOKENS"))}
	if s := getenv("HOOK_SECRET"); s != "" {
		cfg.Secret = []byte(s)
	}
	addr := getenv("HOOKS_ADDR")
	if addr == "" {
		addr = ":8090"
	}
	srv := &http.Server{Addr: addr, Handler: hookserver.New(cfg).Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("poolgate-hooks listening", "addr", addr, "signed", cfg.Secret != nil)
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = srv.Shutdown(sctx)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func split(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
