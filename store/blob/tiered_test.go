package blob

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/store/sqlite"
)

// openTiered opens a tiered store over a file store and a real database in
// a test directory, with the given threshold.
func openTiered(t *testing.T, threshold int64) (*Tiered, *sqlite.DB) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "frontdesk.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	files, err := Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := NewTiered(files, db, threshold)
	if err != nil {
		t.Fatal(err)
	}
	return ts, db
}

// inDB reports whether the database holds the blob (readable or not).
func inDB(t *testing.T, db *sqlite.DB, hash string) bool {
	t.Helper()
	_, err := db.GetBlob(t.Context(), hash)
	return err == nil
}

// onlyReader hides every method of r but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestTieredThreshold(t *testing.T) {
	const limit = 100
	ts, db := openTiered(t, limit)
	ctx := t.Context()
	for _, c := range []struct {
		size   int
		inline bool
	}{{0, true}, {1, true}, {limit, true}, {limit + 1, false}, {3*copyBufSize + 7, false}} {
		for _, kind := range []string{"bytes", "stream", "seeker"} {
			// Distinct content per case and kind.
			content := bytes.Repeat([]byte(kind[:1]), c.size)
			var r io.Reader
			switch kind {
			case "bytes":
				r = bytes.NewReader(content)
			case "stream":
				r = onlyReader{bytes.NewReader(content)}
			case "seeker":
				r = struct{ io.ReadSeeker }{bytes.NewReader(content)} // no Len
			}
			hash, size, err := ts.Put(ctx, r)
			if err != nil {
				t.Fatalf("%d bytes (%s): %v", c.size, kind, err)
			}
			if hash != sum(content) || size != int64(c.size) {
				t.Fatalf("%d bytes (%s): hash %s size %d", c.size, kind, hash, size)
			}
			file, err := ts.Files().Has(hash)
			if err != nil {
				t.Fatal(err)
			}
			if db := inDB(t, db, hash); db != c.inline || file == c.inline {
				t.Fatalf("%d bytes (%s): in database %v, as a file %v; want inline %v", c.size, kind, db, file, c.inline)
			}
			got, err := ts.Get(ctx, hash)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("%d bytes (%s): Get = %d bytes, %v", c.size, kind, len(got), err)
			}
			if has, err := ts.Has(ctx, hash); err != nil || !has {
				t.Fatalf("%d bytes (%s): Has = %v, %v", c.size, kind, has, err)
			}
		}
	}
	// Putting again changes nothing.
	if _, _, err := ts.Put(ctx, strings.NewReader("again")); err != nil {
		t.Fatal(err)
	}
	if hash, _, err := ts.Put(ctx, strings.NewReader("again")); err != nil || hash != sum([]byte("again")) {
		t.Fatalf("second put: %s, %v", hash, err)
	}
	if _, err := ts.Get(ctx, sum([]byte("never stored"))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent blob: %v; want ErrNotFound", err)
	}
	if _, err := ts.Get(ctx, "../etc/passwd"); !errors.Is(err, ErrInvalidHash) {
		t.Fatalf("bad hash: %v", err)
	}
}

// TestTieredFilesOnly: threshold 0 is today's store, every blob a file.
func TestTieredFilesOnly(t *testing.T) {
	ts, db := openTiered(t, 0)
	hash, _, err := ts.Put(t.Context(), strings.NewReader("tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if has, _ := ts.Files().Has(hash); !has || inDB(t, db, hash) {
		t.Fatalf("threshold 0: file %v, database %v", has, inDB(t, db, hash))
	}
	if got, err := ts.Get(t.Context(), hash); err != nil || string(got) != "tiny" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if _, err := NewTiered(ts.Files(), db, -1); err == nil {
		t.Fatal("negative threshold accepted")
	}
	if _, err := NewTiered(ts.Files(), db, MaxInline+1); err == nil {
		t.Fatal("threshold over MaxInline accepted")
	}
}

// TestTieredOldFiles: blobs written as files before the change (or when
// they were over a smaller threshold) are still read, and quarantined as
// files.
func TestTieredOldFiles(t *testing.T) {
	ts, db := openTiered(t, 1<<10)
	ctx := t.Context()
	hash, _, err := ts.Files().Put(ctx, strings.NewReader("written as a file"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ts.Get(ctx, hash); err != nil || string(got) != "written as a file" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if inDB(t, db, hash) {
		t.Fatal("a Get moved the blob")
	}
	truncateFile(t, ts.Files(), hash)
	if _, err := ts.Get(ctx, hash); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged file: %v; want ErrCorrupt", err)
	}
	if err := ts.Quarantine(t.Context(), hash, "truncated"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Get(ctx, hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after quarantine: %v; want ErrNotFound", err)
	}
	if note, err := ts.QuarantineReason(ctx, hash); err != nil || !strings.Contains(note, "reason: truncated") {
		t.Fatalf("reason = %q, %v", note, err)
	}
}

func truncateFile(t *testing.T, s *Store, hash string) {
	t.Helper()
	st, err := os.Stat(s.path(hash))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(s.path(hash), st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// TestTieredCorruptInline: a row whose bytes do not match its hash is
// ErrCorrupt, never returned as content, and quarantine moves it out of
// reach keeping the bad bytes and the reason.
func TestTieredCorruptInline(t *testing.T) {
	ts, db := openTiered(t, 1<<10)
	ctx := t.Context()
	content := []byte("From: ann@example.com\r\nSubject: hi\r\n\r\nhello\r\n")
	hash, _, err := ts.Put(ctx, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	// Damage the row behind the store's back, as a bad disk might.
	raw, err := sql.Open("sqlite", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `UPDATE blobs SET data = ? WHERE hash = ?`, content[:len(content)/2], hash); err != nil {
		t.Fatal(err)
	}
	got, err := ts.Get(ctx, hash)
	if !errors.Is(err, ErrCorrupt) || got != nil {
		t.Fatalf("damaged row: %d bytes, %v; want ErrCorrupt", len(got), err)
	}
	if IsTemporary(err) {
		t.Fatalf("corruption classified temporary: %v", err)
	}
	if err := ts.Quarantine(t.Context(), hash, "content does not match its hash"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Get(ctx, hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after quarantine: %v; want ErrNotFound", err)
	}
	if err := ts.Quarantine(t.Context(), hash, "again"); err != nil {
		t.Fatalf("second quarantine: %v", err)
	}
	note, err := ts.QuarantineReason(ctx, hash)
	if err != nil || !strings.Contains(note, "reason: content does not match its hash") {
		t.Fatalf("reason = %q, %v", note, err)
	}
	var kept []byte
	if err := raw.QueryRowContext(ctx, `SELECT data FROM blob_quarantine WHERE hash = ?`, hash).Scan(&kept); err != nil ||
		!bytes.Equal(kept, content[:len(content)/2]) {
		t.Fatalf("quarantined bytes = %q, %v", kept, err)
	}
	if err := ts.Quarantine(t.Context(), sum([]byte("nowhere")), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("quarantine of nothing: %v; want ErrNotFound", err)
	}
	// The same message delivered again is stored afresh and readable.
	if _, _, err := ts.Put(ctx, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if got, err := ts.Get(ctx, hash); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("after a fresh put: %q, %v", got, err)
	}
}

// TestTieredSmallErrors: a failing database is a temporary error of the
// blob store, not a missing blob.
func TestTieredSmallErrors(t *testing.T) {
	ts, db := openTiered(t, 1<<10)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithoutCancel(t.Context())
	if _, _, err := ts.Put(ctx, strings.NewReader("x")); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("put on a closed database: %v", err)
	}
	if _, err := ts.Get(ctx, sum([]byte("x"))); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("get on a closed database: %v", err)
	}
}
