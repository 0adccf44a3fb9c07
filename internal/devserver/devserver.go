// Package devserver runs `poolgate dev`: the app with a built-in echo upstream (the fake OpenAI
// provider) and development fixtures. Only the dev command imports it, so the production wiring
// (internal/app) links no fake upstream, and a binary built with `-tags nodev` links none at all.
package devserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/app"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fakeupstream"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/store"
)

// Development fixtures.
const (
	devAdmin      = "admin"
	devUser       = "demo"
	devBalance    = 100_000_000
	devChannel    = "demo-echo"
	devEchoPrefix = "/_dev/echo"
)

// devModels are served by the demo channel, priced in quota units per million tokens.
var devModels = []struct {
	name          string
	input, output int64
}{{"echo-1", 1_000_000, 2_000_000}, {"gpt-4o-mini", 75_000, 300_000}}

// devState is what development mode remembers between runs (DATA_DIR/dev.json, mode 0600):
// the generated admin password and the demo API key, so they can be printed again.
type devState struct {
	AdminPassword string `json:"admin_password"`
	DemoKey       string `json:"demo_key"`
}

// Serve runs a development server: a built-in echo upstream (the fake OpenAI provider) is
// mounted at /_dev/echo, and an admin, a demo user with an API key and a demo channel on the echo
// upstream are created, then printed.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) error {
	if cfg.AppEnv != config.EnvDevelopment {
		return errors.New("poolgate dev requires APP_ENV=development")
	}
	return app.Serve(ctx, cfg, log, app.Options{
		Extra: func(e *echo.Echo) {
			e.Any(devEchoPrefix+"/*", echo.WrapHandler(fakeupstream.New(fakeupstream.WithoutRecording())))
		},
		Ready: func(ctx context.Context, a *app.App) error {
			st, err := bootstrap(ctx, a)
			if err != nil {
				return fmt.Errorf("development bootstrap: %w", err)
			}
			base := fmt.Sprintf("http://localhost:%d", cfg.Port)
			fmt.Fprintf(out, `
Poolgate development server
  URL        %[1]s   (Swagger UI: %[1]s/docs)
  console    %[1]s/app (users)   %[1]s/admin (administrators)   %[1]s/uptime (status)
  admin      %[2]s / %[3]s
  demo key   %[4]s   (user %[5]s)
  upstream   built-in echo at %[1]s%[6]s/v1 (models: echo-1, gpt-4o-mini)

Try it:
  curl %[1]s/v1/chat/completions -H "Authorization: Bearer %[4]s" -H "Content-Type: application/json" \
    -d '{"model":"echo-1","messages":[{"role":"user","content":"hello poolgate"}]}'
  curl -N %[1]s/v1/chat/completions -H "Authorization: Bearer %[4]s" -H "Content-Type: application/json" \
    -d '{"model":"echo-1","stream":true,"messages":[{"role":"user","content":"hello poolgate"}]}'

`, base, devAdmin, st.AdminPassword, st.DemoKey, devUser, devEchoPrefix)
			return nil
		},
	})
}

// bootstrap creates the development fixtures (idempotently) and remembers their secrets.
func bootstrap(ctx context.Context, a *app.App) (*devState, error) {
	path := filepath.Join(a.Cfg.DataDir, "dev.json")
	var st devState
	if b, err := os.ReadFile(path); err == nil { //nolint:gosec // DATA_DIR is the developer's own folder
		_ = json.Unmarshal(b, &st)
	}
	if st.AdminPassword == "" {
		st.AdminPassword = "dev-" + randomHex(8)
	}
	if st.DemoKey == "" {
		st.DemoKey = auth.NewKey()
	}
	err := store.WithTx(ctx, a.Pool, func(tx pgx.Tx) error {
		if err := ensureUser(ctx, a, tx, devAdmin, st.AdminPassword, auth.RoleAdmin, 0); err != nil {
			return err
		}
		if err := ensureUser(ctx, a, tx, devUser, "demo-"+randomHex(8), auth.RoleUser, devBalance); err != nil {
			return err
		}
		demo, err := a.Queries.UserGetByUsername(ctx, tx, devUser)
		if err != nil {
			return fmt.Errorf("read demo user: %w", err)
		}
		if _, err := a.Queries.APIKeyAuth(ctx, tx, auth.HashKey(st.DemoKey)); err != nil {
			if !fault.Is(store.Translate(err, ""), fault.NotFound) {
				return err
			}
			if _, err := a.Queries.APIKeyCreate(ctx, tx, db.APIKeyCreateParams{UserID: demo.ID, Name: "demo",
				KeyHash: auth.HashKey(st.DemoKey), KeyHint: auth.KeyHint(st.DemoKey)}); err != nil {
				return fmt.Errorf("create demo key: %w", err)
			}
		}
		return ensureDemoChannel(ctx, a, tx)
	})
	if err != nil {
		return nil, err
	}
	a.Bus.Publish(ctx, bus.TopicRoutes, "")
	if err := os.MkdirAll(a.Cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", a.Cfg.DataDir, err)
	}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &st, nil
}

func ensureUser(ctx context.Context, a *app.App, tx pgx.Tx, name, password, role string, balance int64) error {
	if _, err := a.Queries.UserGetByUsername(ctx, tx, name); err == nil {
		return nil
	}
	hash, err := a.Auth.HashPassword(password)
	if err != nil {
		return err
	}
	_, err = a.Queries.UserCreate(ctx, tx, db.UserCreateParams{Username: name, PasswordHash: hash, Role: role, Balance: balance})
	return store.Translate(err, "")
}

func ensureDemoChannel(ctx context.Context, a *app.App, tx pgx.Tx) error {
	chans, err := a.Queries.ChannelList(ctx, tx)
	if err != nil {
		return fmt.Errorf("list channels: %w", err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d%s/v1", a.Cfg.Port, devEchoPrefix)
	for _, c := range chans {
		if c.Name == devChannel {
			_, err := a.Queries.ChannelUpdate(ctx, tx, db.ChannelUpdateParams{ID: c.ID, BaseURL: &base})
			return store.Translate(err, "")
		}
	}
	names := make([]string, 0, len(devModels))
	for _, m := range devModels {
		names = append(names, m.name)
	}
	ch, err := a.Queries.ChannelCreate(ctx, tx, db.ChannelCreateParams{Name: devChannel, Type: "openai", BaseURL: base,
		Models: names, Priority: 0, Weight: 1, Status: "active"})
	if err != nil {
		return fmt.Errorf("create demo channel: %w", err)
	}
	cred := "sk-dev-echo-" + randomHex(12)
	if _, err := a.Queries.AccountCreate(ctx, tx, db.AccountCreateParams{ChannelID: ch.ID, Name: "echo",
		CredentialEnc: a.Box.Seal(cred), CredentialTail: secretbox.Tail(cred), Weight: 1, Status: "active"}); err != nil {
		return fmt.Errorf("create demo account: %w", err)
	}
	existing, err := a.Queries.ModelList(ctx, tx)
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	priced := map[string]bool{}
	for _, m := range existing {
		priced[m.Name] = true
	}
	for _, m := range devModels {
		if priced[m.name] {
			continue
		}
		if _, err := a.Queries.ModelCreate(ctx, tx, db.ModelCreateParams{Name: m.name, InputPrice: m.input, OutputPrice: m.output}); err != nil {
			return fmt.Errorf("price %s: %w", m.name, err)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
