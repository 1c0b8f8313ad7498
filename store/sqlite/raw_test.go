package sqlite

import (
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

// rawTemp opens a raw connection on a new database with table t.
func rawTemp(t *testing.T, pragmas ...string) (*rconn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, n INTEGER, f REAL, u TEXT UNIQUE) STRICT`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c, err := openRaw(path, time.Second, pragmas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c, path
}

// TestRawRoundTrip: values bound and read back through the C API are the
// ones database/sql would give.
func TestRawRoundTrip(t *testing.T) {
	c, _ := rawTemp(t)
	long := strings.Repeat("ü€😀", 20000)
	for i, tc := range []struct {
		s any
		n any
		f any
	}{
		{"", int64(0), 0.0},
		{"a\x00b", int64(math.MaxInt64), math.Inf(1)},
		{long, int64(math.MinInt64), -1.5},
		{nil, nil, nil},
		{"x", 42, 2.5},
		{"y", true, 0.25},
	} {
		changes, id, err := c.exec(`INSERT INTO t (s, n, f) VALUES (?, ?, ?)`, []any{tc.s, tc.n, tc.f})
		if err != nil || changes != 1 || id != int64(i+1) {
			t.Fatalf("insert %d: %d changes, id %d, %v", i, changes, id, err)
		}
		vals, err := c.queryRow(`SELECT s, n, f FROM t WHERE id = ?`, []any{id})
		if err != nil {
			t.Fatal(err)
		}
		want := []any{tc.s, tc.n, tc.f}
		switch n := tc.n.(type) {
		case int:
			want[1] = int64(n)
		case bool:
			want[1] = int64(1)
		}
		for j := range want {
			if vals[j] != want[j] {
				t.Errorf("row %d column %d = %#v; want %#v", i, j, shorten(vals[j]), shorten(want[j]))
			}
		}
	}
	// Several rows, early stop.
	var seen int
	if err := c.query(`SELECT id FROM t ORDER BY id`, nil, func(vals []any) error {
		if seen++; seen == 3 {
			return errStop
		}
		return nil
	}); err != nil || seen != 3 {
		t.Fatalf("query stopped after %d rows, %v", seen, err)
	}
	if _, err := c.queryRow(`SELECT id FROM t WHERE id = ?`, []any{int64(999)}); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("queryRow of nothing: %v; want sql.ErrNoRows", err)
	}
	// The statement is kept: a second run of an exec with other values.
	if _, _, err := c.exec(`INSERT INTO t (s, n, f) VALUES (?, ?, ?)`, []any{"again", int64(1), nil}); err != nil {
		t.Fatal(err)
	}
	if len(c.stmts) != 4 {
		t.Fatalf("%d statements prepared; want 4", len(c.stmts))
	}
}

func shorten(v any) any {
	if s, ok := v.(string); ok && len(s) > 20 {
		return s[:20] + "..."
	}
	return v
}

// TestRawErrors: SQLite's errors keep their codes, so that the store maps
// them (constraints to ErrConflict, and so on) and classifies them.
func TestRawErrors(t *testing.T) {
	c, path := rawTemp(t)
	d := &DB{}
	if _, _, err := c.exec(`INSERT INTO t (u) VALUES (?)`, []any{"k"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.exec(`INSERT INTO t (u) VALUES (?)`, []any{"k"})
	var re *rawError
	if !errors.As(err, &re) || re.Code() != 2067 { // SQLITE_CONSTRAINT_UNIQUE
		t.Fatalf("duplicate: %v; want SQLITE_CONSTRAINT_UNIQUE", err)
	}
	if werr := d.wrap("insert", err); !errors.Is(werr, store.ErrConflict) || IsTemporary(werr) {
		t.Fatalf("wrapped duplicate: %v; want a permanent ErrConflict", werr)
	}
	if txLost(err) {
		t.Fatal("a constraint error counts as losing the transaction")
	}
	if _, _, err := c.exec(`INSERT INTO t (n) VALUES (?)`, []any{"not a number"}); err == nil {
		t.Fatal("a STRICT type error passed")
	}
	if _, _, err := c.exec(`INSERT INTO nowhere VALUES (1)`, nil); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("bad statement: %v", err)
	}
	if _, _, err := c.exec(`SELECT ?`, nil); err == nil {
		t.Fatal("a missing argument passed")
	}
	if _, _, err := c.exec(`SELECT ?`, []any{struct{}{}}); err == nil {
		t.Fatal("an unsupported argument type passed")
	}
	// A query-only connection refuses writes.
	r, err := openRaw(path, time.Second, "query_only = 1")
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if _, _, err := r.exec(`INSERT INTO t (s) VALUES ('x')`, nil); err == nil {
		t.Fatal("a query-only connection wrote")
	}
	if _, err := openRaw(filepath.Join(t.TempDir(), "missing.db"), time.Second); err == nil {
		t.Fatal("opened a database that does not exist")
	}
}
