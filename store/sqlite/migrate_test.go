package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// releaseMigrations returns the binary's migrations up to version n, as the
// release that shipped them had them.
func releaseMigrations(t *testing.T, n int) []migration {
	t.Helper()
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if n > len(ms) {
		t.Fatalf("only %d migrations", len(ms))
	}
	return ms[:n]
}

// migrateOnly makes the database a release with migrations ms left
// behind: the schema only, as that release's code is not this one.
func migrateOnly(t *testing.T, path string, ms []migration) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(t.Context(), db, testLog(t), ms, time.Now); err != nil {
		t.Fatal(err)
	}
	return db
}

func openMigrations(t *testing.T, path string, ms []migration) (*DB, error) {
	t.Helper()
	return openWith(t.Context(), path, Options{Log: testLog(t)}, ms)
}

func TestReopenKeepsDataAndVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fd.db")
	ctx := t.Context()
	d, err := Open(ctx, path, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	in := &store.Inbound{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: "k1", Blob: strings.Repeat("a", 64), Size: 1}
	if _, err := d.AcceptInbound(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for range 2 {
		d, err = Open(ctx, path, testLog(t))
		if err != nil {
			t.Fatal(err)
		}
		all, _ := loadMigrations(migrationFiles)
		v, err := d.SchemaVersion(ctx)
		if err != nil || v != len(all) {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(all))
		}
		var rows int
		if err := d.r.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != v {
			t.Fatalf("schema_migrations has %d rows, %v; want %d", rows, err, v)
		}
		got, err := d.Inbound(ctx, in.ID)
		if err != nil || got.SourceKey != "k1" {
			t.Fatalf("row after reopen = %+v, %v", got, err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPreviousRelease opens a database made by the release that had only
// migration 1 (U1): this binary migrates it without loss; a later release's
// migration applies on top, and this binary then refuses the newer file.
func TestPreviousRelease(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v1.db")
	old := migrateOnly(t, path, releaseMigrations(t, 1))
	// What that release wrote: a registered message and its case.
	const inID, caseID = 7, 3
	for _, q := range []string{
		`INSERT INTO inbound (id, channel, source, source_key, blob, size, received_at, status, updated_at)
			VALUES (7, 'imap', 'INBOX', 'imap:INBOX:1:1', '` + strings.Repeat("b", 64) + `', 10, 1, 'accepted', 1)`,
		`INSERT INTO cases (id, kind, category, priority, status, queue, channel, customer, subject, inbound_id, created_at, updated_at)
			VALUES (3, 'incident', '', 'normal', 'open', 'support', 'imap', 'a@example.net', 'Help', 7, 2, 2)`,
		`INSERT INTO thread_messages (case_id, inbound_id, direction, created_at) VALUES (3, 7, 'in', 1)`,
		`UPDATE inbound SET case_id = 3, status = 'registered' WHERE id = 7`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	// This binary.
	all, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, path, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d.SchemaVersion(ctx); err != nil || v != len(all) {
		t.Fatalf("SchemaVersion after upgrade = %d, %v; want %d", v, err, len(all))
	}
	in, err := d.Inbound(ctx, inID)
	if err != nil || in.SourceKey != "imap:INBOX:1:1" || in.CaseID != caseID || in.Status != store.StatusRegistered || in.CardsMasked != 0 {
		t.Fatalf("inbound after upgrade = %+v, %v", in, err)
	}
	if got, err := d.CaseByNumber(ctx, "C-000003"); err != nil || got.InboundID != inID {
		t.Fatalf("case after upgrade = %+v, %v", got, err)
	}
	// The upgraded database takes this release's writes.
	again, created, err := d.RegisterCase(ctx, store.NewCase{InboundID: inID, Kind: "incident", Queue: "support"})
	if err != nil || created || again.ID != caseID {
		t.Fatalf("RegisterCase after upgrade = %+v, %v, %v", again, created, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// The next release adds a migration that reshapes a table.
	next := append(append([]migration(nil), all...), migration{version: len(all) + 1, name: "case_escalation", sql: `
		ALTER TABLE cases ADD COLUMN escalation INTEGER NOT NULL DEFAULT 0;
		CREATE INDEX cases_escalation ON cases (escalation);`})
	d, err = openMigrations(t, path, next)
	if err != nil {
		t.Fatal(err)
	}
	var esc int
	if err := d.r.db.QueryRowContext(ctx, `SELECT escalation FROM cases WHERE id = ?`, caseID).Scan(&esc); err != nil || esc != 0 {
		t.Fatalf("new column = %d, %v", esc, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// This binary refuses the upgraded database.
	_, err = Open(ctx, path, testLog(t))
	if !errors.Is(err, ErrSchemaTooNew) || IsTemporary(err) {
		t.Fatalf("this binary on a newer database: %v; want permanent ErrSchemaTooNew", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "fd.db")
	d, err := Open(ctx, path, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.w.db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, path, testLog(t)); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer database: %v; want ErrSchemaTooNew", err)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "fd.db")
	all, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	n := len(all)
	bad := append(append([]migration(nil), all...), migration{version: n + 1, name: "broken", sql: `
		CREATE TABLE half_done (a INTEGER);
		INSERT INTO no_such_table VALUES (1);`})
	if _, err := openMigrations(t, path, bad); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%04d_broken", n+1)) {
		t.Fatalf("broken migration: %v; want an error naming it", err)
	}
	d, err := Open(ctx, path, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v, _ := d.SchemaVersion(ctx); v != n {
		t.Fatalf("version after a failed migration = %d; want %d", v, n)
	}
	var left int
	if err := d.r.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the failed migration left a table behind (%d, %v)", left, err)
	}
}

func TestLoadMigrationsValidates(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"migrations/0001_a.sql": {Data: []byte("SELECT 1")}, "migrations/0003_c.sql": {Data: []byte("SELECT 1")}},
		"bad name": {"migrations/0001_a.sql": {Data: []byte("SELECT 1")}, "migrations/two.sql": {Data: []byte("SELECT 1")}},
		"empty":    {},
		"zero":     {"migrations/0000_a.sql": {Data: []byte("SELECT 1")}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations succeeded", name)
		}
	}
	ms, err := loadMigrations(fstest.MapFS{
		"migrations/0002_b.sql": {Data: []byte("B")},
		"migrations/0001_a.sql": {Data: []byte("A")},
	})
	if err != nil || len(ms) != 2 || ms[0].name != "a" || ms[1].sql != "B" {
		t.Fatalf("loadMigrations = %+v, %v", ms, err)
	}
}

func TestBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if _, err := Open(t.Context(), p, nil); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// TestWAL checks the pragmas every connection runs with and that Close
// checkpoints the WAL into the database file.
func TestWAL(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "fd.db")
	d, err := Open(ctx, path, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*pool{"writer": d.w, "reader": d.r} {
		var mode string
		var fk, busy, sync int
		row := p.db.QueryRowContext(ctx, `SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_busy_timeout, pragma_synchronous`)
		if err := row.Scan(&mode, &fk, &busy, &sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || busy != 5000 {
			t.Errorf("%s: journal_mode %s, foreign_keys %d, busy_timeout %d", name, mode, fk, busy)
		}
		if name == "writer" && sync != 1 { // NORMAL
			t.Errorf("writer: synchronous = %d; want 1 (NORMAL)", sync)
		}
	}
	if _, err := d.r.db.ExecContext(ctx, `INSERT INTO health (id, at) VALUES (1, 1)`); err == nil {
		t.Error("the read pool accepted a write")
	}
	for i := range 50 {
		in := &store.Inbound{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: keyOf(i), Blob: strings.Repeat("c", 64), Size: 1}
		if _, err := d.AcceptInbound(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := osStat(path + "-wal"); err != nil || fi == 0 {
		t.Fatalf("no WAL content while open (%d bytes, %v)", fi, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := osStat(path + "-wal"); err == nil && n > 0 {
		t.Fatalf("WAL still holds %d bytes after Close", n)
	}
	// The checkpointed file alone has the data.
	raw, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM inbound`).Scan(&n); err != nil || n != 50 {
		t.Fatalf("rows after Close = %d, %v", n, err)
	}
}
