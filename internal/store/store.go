// Package store opens the PostgreSQL pool, applies migrations, runs transactions and translates
// database errors into typed faults in one place.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/migrations"
)

// Open connects a warm pool: connections are kept alive and health-checked so the hot path never
// pays for a reconnect.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	cfg.MinConns = 2
	cfg.MaxConnIdleTime = 30 * time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// Migrate applies every pending migration.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return migrateDB(ctx, db)
}

func migrateDB(ctx context.Context, db *sql.DB) error {
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// WithTx runs fn in a transaction, committing when it returns nil. The rollback runs even when
// ctx is cancelled.
func WithTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return Translate(err, "")
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	return Translate(tx.Commit(ctx), "")
}

// Translate turns database errors into faults: no rows → not found (with the given message),
// unique violation → conflict, check violation → invalid, foreign key violation → not found,
// connection trouble → unavailable. Other errors are returned wrapped, to be logged and rendered
// as a generic 500. It is the one place database errors are translated: the HTTP error renderer
// (httpx.ErrorHandler) runs every error it does not know through it, so handlers return query
// errors as they are and call Translate only to name what was not found.
func Translate(err error, notFound string) error {
	if err == nil {
		return nil
	}
	if _, ok := fault.As(err); ok {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		if notFound == "" {
			notFound = "not found"
		}
		return fault.Wrap(fault.NotFound, notFound, err)
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) || lostConnection(err) {
		return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fault.Wrap(fault.Conflict, "already exists", err)
		case "23514", "22001", "22003", "23502":
			return fault.Wrap(fault.Invalid, "a value is out of range", err)
		case "22021", "22P05": // character_not_in_repertoire (a NUL, invalid UTF-8), untranslatable_character
			return fault.Wrap(fault.Invalid, "text may not contain NUL characters or invalid UTF-8", err)
		case "23503":
			return fault.Wrap(fault.NotFound, "a referenced record does not exist", err)
		case "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006":
			// admin shutdown, crash shutdown, cannot connect now, too many connections, connection failures
			return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
		}
		return fmt.Errorf("database: %w", err)
	}
	return fmt.Errorf("database: %w", err)
}

// lostConnection reports whether err is a connection that broke under a query (the server
// stopped or restarted, the network cut): the outcome is unknown to the caller, but it is the
// database's unavailability, not a fault of ours.
func lostConnection(err error) bool {
	var netErr net.Error
	return pgconn.Timeout(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &netErr)
}

// IsNotFound reports whether err is a database error Translate makes not found: no rows, or a
// foreign key naming a record that does not exist.
func IsNotFound(err error) bool {
	return err != nil && fault.Is(Translate(err, ""), fault.NotFound)
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool { return IsUniqueViolationOf(err, "") }

// IsUniqueViolationOf reports whether err is a violation of the unique constraint or index named
// constraint ("": any).
func IsUniqueViolationOf(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}

// IsForeignKeyViolation reports whether err is a foreign-key violation (a row still referenced,
// or a reference to a row that does not exist).
func IsForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}
