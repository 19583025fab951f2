package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/evercast/evercast"
)

// The suite runs every test against both backends: SQLite in a temporary
// directory, and PostgreSQL in a database of its own created on the server
// named by EVERCAST_TEST_POSTGRES_URL.
const defaultTestPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// env is one test's fresh, migrated database.
type env struct {
	t   testing.TB
	ctx context.Context
	url string
	s   *Store
	clk *testClock
}

// open returns another handle on the env's database, closed at cleanup.
func (e *env) open() *Store {
	e.t.Helper()
	s, err := Open(e.ctx, e.url, testLogger(e.t))
	if err != nil {
		e.t.Fatalf("open %s: %v", e.url, err)
	}
	s.SetClock(e.clk.Now)
	e.t.Cleanup(func() { _ = s.Close() })
	return s
}

// backend makes a fresh database url for a test.
type backend struct {
	name  string
	newDB func(t testing.TB) string
}

func backends() []backend {
	return []backend{
		{name: DialectSQLite, newDB: func(t testing.TB) string {
			return "sqlite://" + filepath.Join(t.TempDir(), "evercast.db")
		}},
		{name: DialectPostgres, newDB: newPostgresDB},
	}
}

// newPostgresDB creates database evercast_t_<random> on the test server and
// drops it at cleanup. An unreachable server fails the test.
func newPostgresDB(t testing.TB) string {
	t.Helper()
	server := os.Getenv("EVERCAST_TEST_POSTGRES_URL")
	if server == "" {
		server = defaultTestPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		shown := server
		if u, perr := url.Parse(server); perr == nil {
			shown = u.Redacted()
		}
		t.Fatalf("PostgreSQL is unreachable at %s: %v\n"+
			"The store tests need a PostgreSQL server with trust auth for user postgres. Start one with\n"+
			"  apt-get install -y postgresql && pg_ctlcluster 15 main start\n"+
			"or  docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16\n"+
			"or point EVERCAST_TEST_POSTGRES_URL at another server.", shown, err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "evercast_t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("EVERCAST_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// newEnv makes a fresh database on b and opens it. Cleanups run in reverse
// order, so handles close before the database is dropped.
func newEnv(t testing.TB, b backend) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), url: b.newDB(t), clk: newTestClock()}
	e.s = e.open()
	if got := e.s.Dialect(); got != b.name {
		t.Fatalf("Dialect() = %q, want %q", got, b.name)
	}
	return e
}

// suite is every store test; TestStore runs it on each backend.
func suite() []struct {
	name string
	run  func(t *testing.T, e *env)
} {
	return []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"Migrations", testMigrations},
		{"Merchants", testMerchants},
		{"APIKeys", testAPIKeys},
		{"Anchors", testAnchors},
		{"Products", testProducts},
		{"GetProducts", testGetProducts},
		{"Sessions", testSessions},
		{"DeleteGuards", testDeleteGuards},
		{"SessionState", testSessionState},
		{"Lease", testLease},
		{"PlanClips", testPlanClips},
		{"AdvanceClip", testAdvanceClip},
		{"CueOrder", testCueOrder},
		{"Rundown", testRundown},
		{"ClipStats", testClipStats},
		{"ConcurrentCue", testConcurrentCue},
		{"StandbyTemplate", testStandbyTemplate},
		{"StuckHead", testStuckHead},
	}
}

func TestStore(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range suite() {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newEnv(t, b))
				})
			}
		})
	}
}

// testClock starts at a fixed time and moves one second per reading, so
// that every timestamp the store assigns is distinct and predictable.
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
	c.t = c.t.Add(time.Second)
	return c.t
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// fixture is a merchant with an anchor, three products and a session.
type fixture struct {
	merchant *evercast.Merchant
	anchor   *evercast.Anchor
	products []*evercast.Product
	session  *evercast.Session
}

func newFixture(t testing.TB, e *env) *fixture {
	t.Helper()
	f := &fixture{merchant: &evercast.Merchant{Name: "西湖茶庄"}}
	must(t, e.s.CreateMerchant(e.ctx, f.merchant))
	f.anchor = &evercast.Anchor{MerchantID: f.merchant.ID, Name: "小云", Language: evercast.LangZH,
		Voice: evercast.Voice{Name: "cmn-latn-pinyin"}}
	must(t, e.s.CreateAnchor(e.ctx, f.anchor))
	for i := range 3 {
		p := &evercast.Product{MerchantID: f.merchant.ID, SKU: fmt.Sprintf("SKU-%d", i),
			Title: evercast.Text{evercast.LangZH: fmt.Sprintf("龙井 %d", i)}, Price: evercast.Money(10000 + i)}
		must(t, e.s.CreateProduct(e.ctx, p))
		f.products = append(f.products, p)
	}
	f.session = &evercast.Session{MerchantID: f.merchant.ID, AnchorID: f.anchor.ID, Title: "全天直播",
		ProductIDs: []string{f.products[0].ID, f.products[1].ID}}
	must(t, e.s.CreateSession(e.ctx, f.session))
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err wraps target.
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want one wrapping %q", err, target)
	}
}

// sameJSON fails unless got and want are deeply equal, showing both as JSON.
func sameJSON(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("%s differs\n got: %s\nwant: %s", what, g, w)
	}
}

func ptr[T any](v T) *T { return &v }

func testMigrations(t *testing.T, e *env) {
	f := newFixture(t, e)
	count := func(s *Store) (n, max int64) {
		t.Helper()
		must(t, s.db.QueryRowContext(e.ctx, "SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &max))
		return n, max
	}
	ms, err := migrations()
	must(t, err)
	n, max := count(e.s)
	if n != int64(len(ms)) || max != ms[len(ms)-1].version {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d up to %d", n, max, len(ms), ms[len(ms)-1].version)
	}
	// Several processes starting together, then a plain reopen: nothing is
	// applied twice and the data stays.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := Open(e.ctx, e.url, testLogger(t))
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	s := e.open()
	if n2, max2 := count(s); n2 != n || max2 != max {
		t.Fatalf("after reopen schema_migrations has %d rows up to %d, want %d up to %d", n2, max2, n, max)
	}
	got, err := s.GetSession(e.ctx, f.session.ID)
	must(t, err)
	sameJSON(t, "session after reopen", got, f.session)
	must(t, s.Ping(e.ctx))
}

// TestConcurrentMigrationsFreshDB opens a brand-new database from several
// goroutines at once: the migration lock must let exactly one apply it.
func TestConcurrentMigrationsFreshDB(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			u := b.newDB(t)
			ctx := context.Background()
			var wg sync.WaitGroup
			stores := make([]*Store, 6)
			errs := make([]error, 6)
			for i := range stores {
				wg.Go(func() { stores[i], errs[i] = Open(ctx, u, testLogger(t)) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("open %d: %v", i, err)
				}
				defer stores[i].Close()
			}
			var n int
			must(t, stores[0].db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n))
			ms, err := migrations()
			must(t, err)
			if n != len(ms) {
				t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
			}
		})
	}
}

func TestSQLiteDSN(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, in, want string
	}{
		{"absolute url", "sqlite://" + dir + "/a.db", "file:" + dir + "/a.db?"},
		{"relative url", "sqlite://rel.db", "file:rel.db?"},
		{"file uri keeps params", "file:" + dir + "/b.db?mode=rwc", "file:" + dir + "/b.db?"},
		{"plain path", dir + "/sub/c.db", "file:" + dir + "/sub/c.db?"},
		{"odd characters", dir + "/d?#%.db", "file:" + dir + "/d%3f%23%25.db?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqliteDSN(tc.in)
			must(t, err)
			path, query, _ := cutLast(got, "?")
			if path+"?" != tc.want {
				t.Fatalf("sqliteDSN(%q) = %q, want prefix %q", tc.in, got, tc.want)
			}
			q, err := url.ParseQuery(query)
			must(t, err)
			for _, p := range sqliteParams() {
				if q.Get(p[0]) != p[1] {
					t.Errorf("%s = %q, want %q", p[0], q.Get(p[0]), p[1])
				}
			}
		})
	}
	if _, err := os.Stat(dir + "/sub"); err != nil {
		t.Errorf("directory of a new database not created: %v", err)
	}
	// The settings really apply.
	s, err := Open(context.Background(), dir+"/e.db", nil)
	must(t, err)
	defer s.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		must(t, s.db.QueryRow("PRAGMA "+pragma).Scan(&got))
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

func cutLast(s, sep string) (before, after string, found bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

func TestRebind(t *testing.T) {
	pg := &Store{dialect: DialectPostgres}
	lite := &Store{dialect: DialectSQLite}
	tests := []struct{ in, pg string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"},
		{"owner = '' OR x = '?' OR y = ?", "owner = '' OR x = '?' OR y = $1"},
	}
	for _, tc := range tests {
		if got := pg.rebind(tc.in); got != tc.pg {
			t.Errorf("postgres rebind(%q) = %q, want %q", tc.in, got, tc.pg)
		}
		if got := lite.rebind(tc.in); got != tc.in {
			t.Errorf("sqlite rebind(%q) = %q, want it unchanged", tc.in, got)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "", nil); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if _, err := Open(ctx, "sqlite://", nil); err == nil {
		t.Error("Open(sqlite://) succeeded")
	}
	if _, err := Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", nil); err == nil {
		t.Error("Open of a closed port succeeded")
	}
}
