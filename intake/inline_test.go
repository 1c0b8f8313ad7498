package intake

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store/blob"
	"github.com/frontdesk/frontdesk/store/sqlite"
)

// TestAcceptInline: with a tiered blob store over the ledger's database, a
// small raw copy is written with its row (one synced commit, readable from
// the blob store, masked), a large one as a file before the row.
func TestAcceptInline(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "fd.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	files, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	tiered, err := blob.NewTiered(files, db, 1024)
	if err != nil {
		t.Fatal(err)
	}
	enq := &memEnqueuer{}
	a := &Acceptor{Blobs: tiered, Ledger: db, Enqueuer: enq, Inline: tiered, InlineLedger: db}

	small := []byte("From: a@b.example\r\nSubject: card\r\n\r\nmy card 4111 1111 1111 1111\r\n")
	large := []byte("From: a@b.example\r\nSubject: big\r\n\r\n" + strings.Repeat("x", 4096) + "\r\n")
	for _, c := range []struct {
		name    string
		raw     []byte
		commits int64 // writer commits for the accept
		file    bool
	}{
		{"small", small, 1, false},
		{"large", large, 1, true},
	} {
		before := db.WriteStats()
		res, err := a.Accept(context.Background(), Submission{Channel: message.ChannelForm, Source: "form:contact",
			SourceKey: "form:contact:" + c.name, Intent: message.IntentCase, Queue: "web", Raw: c.raw})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		after := db.WriteStats()
		if n := after.Commits - before.Commits; n != c.commits || after.Synced-before.Synced != 1 {
			t.Errorf("%s: %d commits (%d synced); want %d, synced", c.name, n, after.Synced-before.Synced, c.commits)
		}
		in, err := db.Inbound(context.Background(), res.InboundID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tiered.Get(context.Background(), in.Blob)
		if err != nil || int64(len(got)) != in.Size {
			t.Fatalf("%s: raw copy %d bytes, %v; row says %d", c.name, len(got), err, in.Size)
		}
		if bytes.Contains(got, []byte("4111 1111 1111 1111")) {
			t.Errorf("%s: card number in the stored copy", c.name)
		}
		if _, err := files.Get(context.Background(), in.Blob); (err == nil) != c.file {
			t.Errorf("%s: a file of it exists: %v, want %v", c.name, err == nil, c.file)
		}
	}
}
