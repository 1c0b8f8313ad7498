package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

func TestPutGetBlob(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	data := []byte("From: a@example.com\r\n\r\nhello\x00\xff")
	h := strings.Repeat("a", 64)
	if err := d.PutBlob(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	// Idempotent: a second put (even of other bytes of the same size: the
	// present copy wins) changes nothing.
	other := bytes.Clone(data)
	other[0] = 'X'
	if err := d.PutBlob(ctx, h, other); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetBlob(ctx, h)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetBlob = %q, %v; want %q", got, err, data)
	}
	// A present copy of the wrong size (damaged) is replaced.
	if _, err := d.w.db.ExecContext(ctx, `UPDATE blobs SET data = x'00' WHERE hash = ?`, h); err != nil {
		t.Fatal(err)
	}
	if err := d.PutBlob(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetBlob(ctx, h); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after repair GetBlob = %q, %v", got, err)
	}
	// Empty content is a blob too.
	e := strings.Repeat("e", 64)
	if err := d.PutBlob(ctx, e, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetBlob(ctx, e); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty blob = %v, %v", got, err)
	}
	if _, err := d.GetBlob(ctx, strings.Repeat("b", 64)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent blob: %v; want ErrNotFound", err)
	}
	if err := d.PutBlob(ctx, "", data); !IsInvalid(err) {
		t.Fatalf("blob without hash: %v; want invalid", err)
	}
}

func TestQuarantineBlob(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	h := strings.Repeat("c", 64)
	if err := d.PutBlob(ctx, h, []byte("bad bytes")); err != nil {
		t.Fatal(err)
	}
	if err := d.QuarantineBlob(ctx, h, "content does not\nmatch"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetBlob(ctx, h); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("quarantined blob still readable: %v", err)
	}
	reason, at, err := d.BlobQuarantineReason(ctx, h)
	if err != nil || reason != "content does not match" || at.IsZero() {
		t.Fatalf("reason = %q at %v, %v", reason, at, err)
	}
	var kept []byte
	if err := d.w.db.QueryRowContext(ctx, `SELECT data FROM blob_quarantine WHERE hash = ?`, h).Scan(&kept); err != nil || string(kept) != "bad bytes" {
		t.Fatalf("quarantined data = %q, %v", kept, err)
	}
	// Again: a no-op. Nowhere: ErrNotFound.
	if err := d.QuarantineBlob(ctx, h, "again"); err != nil {
		t.Fatalf("second quarantine: %v", err)
	}
	if err := d.QuarantineBlob(ctx, strings.Repeat("d", 64), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("quarantine of nothing: %v; want ErrNotFound", err)
	}
	if _, _, err := d.BlobQuarantineReason(ctx, strings.Repeat("d", 64)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reason of nothing: %v; want ErrNotFound", err)
	}
	// Stored afresh after quarantine, it is readable again.
	if err := d.PutBlob(ctx, h, []byte("good")); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetBlob(ctx, h); err != nil || string(got) != "good" {
		t.Fatalf("re-put = %q, %v", got, err)
	}
}

// TestDurableBatch: ordinary writes queued behind a durable one share its
// commit, made with synchronous=FULL; a durable write meeting an ordinary
// batch starts the next batch, synced.
func TestDurableBatch(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	before := d.WriteStats()
	h := strings.Repeat("f", 64)
	// A durable blocker: ordinary writes and durable ones join its batch,
	// one synced commit.
	release, wait := queueBehind(t, d,
		func() error { return d.AddEvent(ctx, store.Event{Kind: "plain.0"}) },
		func() error { return durablePut(ctx, d, strings.Repeat("0", 64), []byte("durable")) },
		func() error { return acceptErr(d, "durable:0") },
	)
	release()
	for i, err := range wait() {
		if err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	after := d.WriteStats()
	if after.Commits-before.Commits != 1 || after.Writes-before.Writes != 4 || after.Synced-before.Synced != 1 {
		t.Fatalf("stats %+v -> %+v; want one synced commit of 4 writes", before, after)
	}
	before = after
	// An ordinary blocker: the durable put after it waits for the next
	// batch, which the ordinary writes behind it join.
	release, wait = queueBehindWith(t, d, d.write,
		func() error { return durablePut(ctx, d, h, []byte("durable")) },
		func() error { return d.AddEvent(ctx, store.Event{Kind: "plain.1"}) },
		func() error { return d.AddEvent(ctx, store.Event{Kind: "plain.2"}) },
	)
	release()
	for i, err := range wait() {
		if err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	after = d.WriteStats()
	if n := after.Commits - before.Commits; n != 2 {
		t.Fatalf("%d commits; want 2 (the blocker's, then the put's with the events)", n)
	}
	if n := after.Writes - before.Writes; n != 4 {
		t.Fatalf("%d writes committed; want 4", n)
	}
	if n := after.Synced - before.Synced; n != 1 {
		t.Fatalf("%d synced commits; want 1", n)
	}
	if got := d.syncLevel(t); got != 1 {
		t.Fatalf("writer connection synchronous = %d after an ordinary write; want 1 (NORMAL)", got)
	}
	if d.wcSync != qSyncNormal {
		t.Fatalf("writer left at %q", d.wcSync)
	}
	after = d.WriteStats()
	// Ordinary writes alone are not synced.
	if err := d.AddEvent(ctx, store.Event{Kind: "plain.3"}); err != nil {
		t.Fatal(err)
	}
	if n := d.WriteStats().Synced - after.Synced; n != 0 {
		t.Fatalf("an ordinary write was synced (%d)", n)
	}
	// PutBlob is not synced itself (the accept step's AcceptInbound
	// right after it is); AcceptInbound is durable.
	if err := d.PutBlob(ctx, strings.Repeat("1", 64), []byte("raw")); err != nil {
		t.Fatal(err)
	}
	if n := d.WriteStats().Synced - after.Synced; n != 0 {
		t.Fatalf("PutBlob was synced (%d)", n)
	}
	acceptKey(t, d, "durable:1")
	if n := d.WriteStats().Synced - after.Synced; n != 1 {
		t.Fatalf("AcceptInbound made %d synced commits; want 1", n)
	}
}

// durablePut is a durable write of one blob row: the durable job of the
// batching tests.
func durablePut(ctx context.Context, d *DB, hash string, data []byte) error {
	return d.writeDurable(ctx, "put blob", func(t *tx) error {
		_, err := t.exec(qPutBlob, hash, int64(len(data)), data)
		return err
	})
}

// syncLevel reads PRAGMA synchronous on the writer connection, through the
// writer goroutine.
func (d *DB) syncLevel(t *testing.T) int64 {
	t.Helper()
	var level int64
	if err := d.write(t.Context(), "read synchronous", func(tx *tx) error {
		return tx.queryRow("SELECT synchronous FROM pragma_synchronous").Scan(&level)
	}); err != nil {
		t.Fatal(err)
	}
	return level
}

// TestDurableReplay: when a job fails after writing, a durable job of its
// batch is replayed and still committed with a sync.
func TestDurableReplay(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	boom := errors.New("boom")
	h := strings.Repeat("9", 64)
	before := d.WriteStats()
	runs := 0
	release, wait := queueBehindWith(t, d, d.write,
		func() error { return durablePut(ctx, d, h, []byte("replayed")) },
		func() error {
			return d.write(ctx, "fails", func(t *tx) error {
				runs++
				if _, err := t.exec(qPutBlob, strings.Repeat("8", 64), int64(1), []byte("x")); err != nil {
					return err
				}
				return boom
			})
		},
	)
	release()
	errs := wait()
	if errs[0] != nil || !errors.Is(errs[1], boom) || runs != 1 {
		t.Fatalf("errors %v, failing job ran %d times", errs, runs)
	}
	after := d.WriteStats()
	// The ordinary blocker commits alone (the durable put starts the next
	// batch); the put is replayed after the failure and committed synced.
	if after.Replays-before.Replays != 1 || after.Synced-before.Synced != 1 || after.Commits-before.Commits != 2 {
		t.Fatalf("stats %+v -> %+v; want the put replayed, two commits, the second synced", before, after)
	}
	if got, err := d.GetBlob(ctx, h); err != nil || string(got) != "replayed" {
		t.Fatalf("replayed put = %q, %v", got, err)
	}
	if _, err := d.GetBlob(ctx, strings.Repeat("8", 64)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed job's blob was committed: %v", err)
	}
}

// acceptErr accepts a new inbound row with key and returns the error.
func acceptErr(d *DB, key string) error {
	_, err := d.AcceptInbound(context.Background(), &store.Inbound{Channel: "imap", Source: "INBOX", SourceKey: key,
		Blob: strings.Repeat("b", 64), Size: 1})
	return err
}

// TestAcceptInboundBlob: the raw copy and its row in one synced commit;
// a duplicate is the first row (its blob untouched); a size that does not
// match the data is refused.
func TestAcceptInboundBlob(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	raw := []byte("From: a@b.example\r\n\r\nhello\r\n")
	sum := sha256.Sum256(raw)
	h := hex.EncodeToString(sum[:])
	in := func(key string) *store.Inbound {
		return &store.Inbound{Channel: message.ChannelForm, Source: "form:contact", SourceKey: key, Blob: h, Size: int64(len(raw))}
	}
	before := d.WriteStats()
	first := in("form:contact:1")
	created, err := d.AcceptInboundBlob(ctx, first, raw)
	if err != nil || !created || first.ID == 0 {
		t.Fatalf("AcceptInboundBlob = %v, %v, id %d", created, err, first.ID)
	}
	after := d.WriteStats()
	if after.Commits-before.Commits != 1 || after.Synced-before.Synced != 1 {
		t.Fatalf("stats %+v -> %+v; want one synced commit", before, after)
	}
	if got, err := d.GetBlob(ctx, h); err != nil || string(got) != string(raw) {
		t.Fatalf("GetBlob = %q, %v", got, err)
	}
	again := in("form:contact:1")
	if created, err := d.AcceptInboundBlob(ctx, again, raw); err != nil || created || again.ID != first.ID {
		t.Fatalf("duplicate = %v, %v, id %d; want the first row %d", created, err, again.ID, first.ID)
	}
	bad := in("form:contact:2")
	bad.Size = 3
	if _, err := d.AcceptInboundBlob(ctx, bad, raw); err == nil {
		t.Fatal("a size that does not match the data was accepted")
	}
	if _, err := d.Inbound(ctx, first.ID+1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused accept left a row: %v", err)
	}
}
