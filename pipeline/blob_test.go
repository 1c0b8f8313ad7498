package pipeline_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/blob"
)

// truncateBlob cuts a stored blob in half, as a crash or a bad disk might.
func truncateBlob(t *testing.T, dir, hash string) {
	t.Helper()
	var path string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(p) == hash {
			path = p
		}
		return nil
	})
	if path == "" {
		t.Fatalf("blob %s not found under %s", hash, dir)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedInlineBlobQuarantined is TestDamagedBlobQuarantined with the
// daemon's tiered blob store, the raw message kept in the database: a
// damaged row is detected, quarantined and the message failed.
func TestDamagedInlineBlobQuarantined(t *testing.T) {
	f := newFixture(t, nil)
	tiered, err := blob.NewTiered(f.blobs, f.db, config.DefaultInlineBlobBytes)
	if err != nil {
		t.Fatal(err)
	}
	f.h.Blobs, f.acc.Blobs = tiered, tiered
	id := f.deliver("support", mail("ann@customer.example", "Hi", "m1@customer.example", "", "Hello there"))
	in := f.inbound(id)
	if has, _ := f.blobs.Has(in.Blob); has {
		t.Fatal("a small raw message was written as a file")
	}
	// Damage the row behind the store's back.
	raw, err := sql.Open("sqlite", f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE blobs SET data = substr(data, 1, length(data) / 2) WHERE hash = ?`, in.Blob); err != nil {
		t.Fatal(err)
	}
	f.mustRun()
	in = f.inbound(id)
	if in.Status != store.StatusFailed || !strings.Contains(in.FailReason, "damaged") {
		t.Fatalf("damaged blob: %+v", in)
	}
	if _, err := tiered.QuarantineReason(t.Context(), in.Blob); err != nil {
		t.Fatalf("blob not quarantined: %v", err)
	}
}
