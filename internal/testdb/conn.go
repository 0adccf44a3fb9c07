package testdb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// connectTimeout bounds one connection attempt when the connection string sets none.
	connectTimeout = 10 * time.Second
	// maxAttempts bounds retries of operations that fail for a passing reason.
	maxAttempts = 30
)

// adminURL returns the admin connection string: TEST_DATABASE_URL or the local default.
func adminURL() string {
	if v := strings.TrimSpace(os.Getenv(envURL)); v != "" {
		return v
	}
	return defaultURL
}

// connect opens one admin connection (no background goroutines, unlike a pool), retrying while
// the server is starting up or out of connection slots, which happens when many test binaries
// start at once.
func connect(ctx context.Context, connString string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, unreachable(connString, fmt.Errorf("parse connection string: %w", err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	var conn *pgx.Conn
	err = retry(ctx, func() error {
		var err error
		conn, err = pgx.ConnectConfig(ctx, cfg)
		return err
	}, "53300", "57P03") // too_many_connections, cannot_connect_now
	if err != nil {
		return nil, unreachable(connString, err)
	}
	return conn, nil
}

// unreachable explains a failed admin connection, naming the variable that chooses the server.
func unreachable(connString string, err error) error {
	source := "the default; set " + envURL + " to use another server"
	if os.Getenv(envURL) != "" {
		source = "from " + envURL
	}
	return fmt.Errorf("cannot connect to PostgreSQL at %s (%s); tests need a reachable server whose role may create databases: %w",
		redact(connString), source, err)
}

// redact hides the password of a URL connection string.
func redact(connString string) string {
	if u, err := url.Parse(connString); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	if strings.Contains(connString, "password") {
		return "(keyword/value connection string with a password)"
	}
	return connString
}

// databaseURL returns the admin connection string pointed at database name.
func databaseURL(admin, name string) string {
	if u, err := url.Parse(admin); err == nil && u.Scheme != "" {
		u.Path = "/" + name
		u.RawPath = ""
		q := u.Query()
		if q.Has("dbname") {
			q.Del("dbname")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	// Keyword/value form: a later keyword overrides an earlier one.
	return admin + " dbname=" + name
}

// retry runs op until it succeeds, fails with an error whose SQLSTATE is not listed, the context
// ends, or maxAttempts is reached.
func retry(ctx context.Context, op func() error, codes ...string) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || !contains(codes, pgErr.Code) || attempt >= maxAttempts {
			return err
		}
		delay := min(time.Duration(attempt)*20*time.Millisecond, 500*time.Millisecond)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cloneDatabase creates database name from template tpl.
func cloneDatabase(ctx context.Context, admin, tpl, name string) error {
	conn, err := connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	sql := "CREATE DATABASE " + ident(name) + " TEMPLATE " + ident(tpl)
	// 55006 object_in_use: a session is still connected to the template (it should not be; it
	// goes away by itself, and the server already waits up to 5 s for it).
	if err := retry(ctx, func() error { _, err := conn.Exec(ctx, sql); return err }, "55006"); err != nil {
		return fmt.Errorf("create database %s from template %s: %w", name, tpl, err)
	}
	return nil
}

// dropTestDatabase drops a per-test database, terminating sessions still connected to it.
func dropTestDatabase(ctx context.Context, admin, name string) error {
	conn, err := connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return dropDatabase(ctx, conn, name)
}

// dropDatabase drops database name if it exists, terminating its sessions.
func dropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// ident quotes an identifier for SQL.
func ident(name string) string {
	return pgx.Identifier{name}.Sanitize()
}
