// Package store keeps Evercast's metadata: merchants and their API keys,
// anchors, products, sessions (with their ownership leases and planner
// state) and clips.
//
// It runs on SQLite (modernc.org/sqlite, pure Go, the embedded default) or on
// PostgreSQL (pgx through database/sql) with one set of versioned migrations
// and one set of queries: both are written in SQL the two accept, with `?`
// placeholders rebound to `$n` for PostgreSQL. Times are stored as BIGINT
// unix milliseconds UTC, so every time read back is in UTC and truncated to
// the millisecond.
//
// Errors wrap evercast.ErrNotFound, evercast.ErrConflict and
// evercast.ErrInvalid where those apply, and ErrNotReady when Cue has nothing
// rendered to put on air.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialects returned by Store.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DefaultConnectTimeout bounds the opening of each PostgreSQL connection
// (dial, TLS and start-up) when the URL sets no connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

// ErrNotReady means Cue found no rendered clip to put on air: the next clip
// is still in the pipeline, or nothing is pending at all.
var ErrNotReady = errors.New("store: next clip not ready")

// Log attribute keys.
const (
	logKeyDialect = "dialect"
	logKeyVersion = "version"
)

// Store is the metadata store. It is safe for concurrent use; several Store
// handles (in one process or many) may share one database.
type Store struct {
	db      *sql.DB
	dialect string
	log     *slog.Logger
	now     func() time.Time
}

// Open connects to the database named by url and runs the migrations it
// lacks.
//
// A url starting with "postgres://" or "postgresql://" selects PostgreSQL;
// "sqlite:///abs/path.db", "sqlite://rel.db", "file:..." or a plain file path
// select SQLite (the file and its directory are created when missing). A nil
// log discards messages.
func Open(ctx context.Context, url string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{log: log, now: time.Now}
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("store: parse postgres url: %w", err)
		}
		if cfg.ConnectTimeout == 0 {
			// Without a bound, a server that accepts and never answers
			// (a wrong port, a half-dead host) hangs start-up and every
			// reconnection for good.
			cfg.ConnectTimeout = DefaultConnectTimeout
		}
		s.dialect = DialectPostgres
		s.db = stdlib.OpenDB(*cfg)
		s.db.SetMaxOpenConns(16)
		s.db.SetMaxIdleConns(4)
		s.db.SetConnMaxIdleTime(5 * time.Minute)
		s.db.SetConnMaxLifetime(30 * time.Minute)
	case url == "":
		return nil, errors.New("store: empty database url")
	default:
		dsn, err := sqliteDSN(url)
		if err != nil {
			return nil, err
		}
		c, err := sqlite.NewConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: sqlite %s: %w", url, err)
		}
		s.dialect = DialectSQLite
		s.db = sql.OpenDB(c)
		// One connection: writers never race for the lock inside a process
		// (a deferred read transaction upgrading to write would get
		// SQLITE_BUSY), and every transaction begins IMMEDIATE so that
		// writers in other processes queue on busy_timeout.
		s.db.SetMaxOpenConns(1)
		s.db.SetMaxIdleConns(1)
		s.db.SetConnMaxIdleTime(0)
		s.db.SetConnMaxLifetime(0)
	}
	if err := s.connect(ctx); err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("store: connect %s: %w", s.dialect, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	return s, nil
}

// connect opens the first connection. On a brand-new SQLite file, several
// processes switching it to WAL at once get SQLITE_BUSY without the busy
// handler being consulted: retry that for a few seconds.
func (s *Store) connect(ctx context.Context) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = s.db.PingContext(ctx); err == nil || s.dialect != DialectSQLite || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(20+attempt*10) * time.Millisecond):
		}
	}
	return err
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// SetClock replaces the clock used for the timestamps the store assigns
// itself (CreatedAt, UpdatedAt, StartedAt, EndedAt, and clip times not
// given by the caller). Call it before the Store is used concurrently.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// clock returns the current time as stored: UTC, whole milliseconds.
func (s *Store) clock() time.Time { return fromMS(s.now().UnixMilli()) }

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface {
	Scan(dest ...any) error
}

func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, s.rebind(query), args...)
}

func (s *Store) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, s.rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.rebind(query), args...)
}

// execOne runs a statement that must change exactly one row and reports
// whether it did.
func (s *Store) execOne(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	res, err := s.exec(ctx, q, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// readTx runs fn on one consistent snapshot of the database: a read-only
// REPEATABLE READ transaction on PostgreSQL; on SQLite a transaction (which
// holds writers off while it lasts).
func (s *Store) readTx(ctx context.Context, fn func(q querier) error) error {
	var opts *sql.TxOptions
	if s.dialect == DialectPostgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rebind turns `?` placeholders into `$1`, `$2`... for PostgreSQL, leaving
// quoted literals alone.
func (s *Store) rebind(query string) string {
	if s.dialect != DialectPostgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	quoted := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// forUpdate is the row-locking suffix of a SELECT: PostgreSQL locks the row
// until the transaction ends; SQLite transactions begin IMMEDIATE and so
// already exclude other writers.
func (s *Store) forUpdate() string {
	if s.dialect == DialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// isUniqueViolation reports whether err is a unique or primary key violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// msOf returns the stored form of t: unix milliseconds.
func msOf(t time.Time) int64 { return t.UnixMilli() }

// nullMS returns the stored form of an optional time.
func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// timePtr reads an optional stored time.
func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// truncMS returns t as it will read back from the store.
func truncMS(t time.Time) time.Time { return fromMS(t.UnixMilli()) }
