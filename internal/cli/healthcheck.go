package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck asks the local server's /health (PORT, default 8080) and returns 0 when it answers
// 200 within 5 seconds. Container images run it as their HEALTHCHECK.
func healthcheck(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/health", nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: /health answered %d\n", res.StatusCode)
		return 1
	}
	return 0
}
