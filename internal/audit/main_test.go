package audit

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/testenv"
)

// backend is a database the tests run on: SQLite in a temporary file, and
// PostgreSQL in a database of its own on the server named by
// EVERCAST_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/
// postgres?sslmode=disable; an unreachable server fails the test).
type backend struct {
	name string
	// newDB returns a store url and the database/sql driver name and DSN
	// that open the same database raw (for the tamper tests).
	newDB func(t testing.TB) (url, driver, dsn string)
}

func backends() []backend {
	return []backend{
		{name: store.DialectSQLite, newDB: func(t testing.TB) (string, string, string) {
			p := filepath.Join(t.TempDir(), "evercast.db")
			return "sqlite://" + p, "sqlite", "file:" + p + "?_pragma=busy_timeout(10000)"
		}},
		{name: store.DialectPostgres, newDB: func(t testing.TB) (string, string, string) {
			u := testenv.Postgres(t)
			return u, "pgx", u
		}},
	}
}

// db is one test's fresh, migrated database.
type db struct {
	t       testing.TB
	ctx     context.Context
	url     string
	dialect string
	driver  string
	dsn     string
	st      *store.Store
	clk     *testClock
}

func newDB(t testing.TB, b backend) *db {
	t.Helper()
	u, driver, dsn := b.newDB(t)
	d := &db{t: t, ctx: context.Background(), url: u, dialect: b.name, driver: driver, dsn: dsn, clk: newTestClock()}
	d.st = d.open()
	return d
}

// open returns another handle on the database, closed at cleanup.
func (d *db) open() *store.Store {
	d.t.Helper()
	s, err := store.Open(d.ctx, d.url, testLogger(d.t))
	if err != nil {
		d.t.Fatalf("open %s: %v", d.url, err)
	}
	d.t.Cleanup(func() { _ = s.Close() })
	return s
}

// raw returns a plain database/sql handle on the database.
func (d *db) raw() *sql.DB {
	d.t.Helper()
	r, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { _ = r.Close() })
	return r
}

// exec runs SQL on a raw handle with ? placeholders rebound for PostgreSQL.
func (d *db) exec(r *sql.DB, q string, args ...any) error {
	if d.dialect == store.DialectPostgres {
		n := 0
		var b strings.Builder
		for _, c := range q {
			if c == '?' {
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteRune(c)
		}
		q = b.String()
	}
	_, err := r.ExecContext(d.ctx, q, args...)
	return err
}

// dropGuards removes the append-only triggers so that a test can tamper.
func (d *db) dropGuards(r *sql.DB) {
	d.t.Helper()
	stmts := []string{"DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"}
	if d.dialect == store.DialectPostgres {
		stmts = []string{"DROP TRIGGER audit_log_no_change ON audit_log"}
	}
	for _, s := range stmts {
		if err := d.exec(r, s); err != nil {
			d.t.Fatalf("%s: %v", s, err)
		}
	}
}

// testClock starts at a fixed time and moves 1.5 s per reading.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(1500 * time.Millisecond)
	return c.t
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want one wrapping %q", err, target)
	}
}
