// Package devenv finds or makes the services a developer's `make run` needs, so that it works
// with no configuration. Production never uses it: there DATABASE_URL is required.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// dbName is the development database made on whichever server is found.
	dbName = "poolgate"
	// probeTimeout bounds one attempt to reach a local server.
	probeTimeout = 3 * time.Second
)

// server is a local PostgreSQL server worth trying: how to reach it as an administrator, and
// the URL of the development database on it.
type server struct {
	admin string
	url   string
}

// localServers returns the servers tried first: the usual local server over TCP, then over its
// unix socket, both as user postgres with trust authentication.
func localServers() []server {
	return []server{
		{
			admin: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
			url:   "postgres://postgres@127.0.0.1:5432/" + dbName + "?sslmode=disable",
		},
		{
			admin: "postgres:///postgres?host=/var/run/postgresql&user=postgres&sslmode=disable",
			url:   "postgres:///" + dbName + "?host=/var/run/postgresql&user=postgres&sslmode=disable",
		},
	}
}

// finder holds where Database looks, so tests can take one path or another for real.
type finder struct {
	servers []server
	binDirs func() []string
}

// Database finds or makes a PostgreSQL database for development and returns its URL and a stop
// func, which is a no-op unless this call started a private cluster.
//
// It tries, in order:
//  1. the local server at 127.0.0.1:5432 or /var/run/postgresql, as user postgres with trust
//     authentication: it creates database poolgate there if missing;
//  2. a private cluster under <dataDir>/pg run with the local PostgreSQL binaries
//     (/usr/lib/postgresql/*/bin, highest version first, then PATH), made on first use, started
//     unless a previous run left it running, and reached over a unix socket. As root, the
//     binaries run as user postgres, which must be able to reach dataDir.
//
// Otherwise it returns an error telling the user to set DATABASE_URL.
func Database(ctx context.Context, log *slog.Logger, dataDir string) (url string, stop func(context.Context) error, err error) {
	f := finder{servers: localServers(), binDirs: systemBinDirs}
	return f.database(ctx, log, dataDir)
}

func (f finder) database(ctx context.Context, log *slog.Logger, dataDir string) (string, func(context.Context) error, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, s := range f.servers {
		err := ensureDatabase(ctx, s.admin, dbName)
		if err == nil {
			log.Info("PostgreSQL: using the local server", "url", s.url)
			return s.url, noop, nil
		}
		log.Debug("PostgreSQL: local server not usable", "admin", s.admin, "err", err)
		if ctx.Err() != nil {
			return "", nil, ctx.Err()
		}
	}

	dirs := f.binDirs()
	if len(dirs) == 0 {
		return "", nil, errors.New("no PostgreSQL for development: nothing accepts connections as user postgres " +
			"at 127.0.0.1:5432 or /var/run/postgresql, and no initdb and pg_ctl under /usr/lib/postgresql/*/bin " +
			"or on PATH to run a private one; install PostgreSQL or set DATABASE_URL")
	}
	url, stop, err := startCluster(ctx, log, dataDir, dirs)
	if err != nil {
		return "", nil, fmt.Errorf("no local PostgreSQL server, and the private one failed (set DATABASE_URL to use another server): %w", err)
	}
	return url, stop, nil
}

func noop(context.Context) error { return nil }

// ensureDatabase connects with the admin connection string and creates database name if missing.
func ensureDatabase(ctx context.Context, admin, name string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: made meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
