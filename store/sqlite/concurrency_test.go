package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/storetest"
)

// TestConcurrentWriters runs 8 goroutines × 200 AcceptInbound through two
// handles on one file (as a daemon and an operator command would): no
// SQLITE_BUSY may leak, every row lands once.
func TestConcurrentWriters(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "fd.db")
	a := openPath(t, path)
	b := openPath(t, path)
	const goroutines, each = 8, 200
	errs := make(chan error, goroutines)
	for g := range goroutines {
		d := a
		if g%2 == 1 {
			d = b
		}
		go func() {
			for i := range each {
				// Every key is accepted twice: a fresh insert and a duplicate.
				key := fmt.Sprintf("imap:INBOX:%d:%d", g, i%(each/2))
				in := &store.Inbound{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: key, Blob: strings.Repeat("d", 64), Size: 1}
				if _, err := d.AcceptInbound(ctx, in); err != nil {
					errs <- fmt.Errorf("goroutine %d, message %d: %w", g, i, err)
					return
				}
				if i%10 == 0 {
					if _, _, err := d.RegisterCase(ctx, store.NewCase{InboundID: in.ID, Kind: "inquiry", Queue: "q"}); err != nil {
						errs <- fmt.Errorf("goroutine %d: register: %w", g, err)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := a.r.db.QueryRowContext(ctx, `SELECT count(*) FROM inbound`).Scan(&n); err != nil || n != goroutines*each/2 {
		t.Fatalf("%d inbound rows, %v; want %d", n, err, goroutines*each/2)
	}
}

func openPath(t *testing.T, path string) *DB {
	t.Helper()
	d, err := Open(t.Context(), path, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// TestConformanceSharedFile runs the suite through a second handle on the
// database of the first: state is in the file, not in a handle.
func TestConformanceSharedFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		path := filepath.Join(t.TempDir(), "fd.db")
		openPath(t, path)
		return openPath(t, path)
	})
}

// TestBusyIsTemporary holds the write lock from another connection beyond
// busy_timeout: writes fail with a temporary error, and work again once the
// lock is gone.
func TestBusyIsTemporary(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "fd.db")
	d, err := OpenWith(ctx, path, Options{Log: testLog(t), BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	in := &store.Inbound{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: "busy", Blob: strings.Repeat("e", 64), Size: 1}
	_, err = d.AcceptInbound(ctx, in)
	if !IsTemporary(err) {
		t.Fatalf("AcceptInbound under a foreign write lock: %v; want a temporary error", err)
	}
	if err := d.Ping(ctx); !IsTemporary(err) {
		t.Fatalf("Ping under a foreign write lock: %v; want a temporary error", err)
	}
	if err := d.FailInbound(ctx, 1, "x"); !IsTemporary(err) {
		t.Fatalf("transaction under a foreign write lock: %v; want a temporary error", err)
	}
	// Reads go on beside the writer (WAL).
	if _, err := d.Unfinished(ctx, time.Now(), store.Cursor{}, 10); err != nil {
		t.Fatalf("read under a foreign write lock: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AcceptInbound(ctx, in); err != nil {
		t.Fatalf("AcceptInbound after the lock is gone: %v", err)
	}
}

func TestErrorClasses(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	_, err := d.Inbound(ctx, 42)
	if !errors.Is(err, store.ErrNotFound) || IsTemporary(err) {
		t.Fatalf("missing row: %v; want permanent ErrNotFound", err)
	}
	_, err = d.AcceptInbound(ctx, &store.Inbound{})
	if err == nil || IsTemporary(err) || !IsInvalid(err) {
		t.Fatalf("invalid input: %v; want a permanent invalid-argument error", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Op != "accept inbound" {
		t.Fatalf("error %v does not carry its operation", err)
	}
}

// TestClock checks that the store's own times come from Options.Now and
// are stored as UTC unix nanoseconds.
func TestClock(t *testing.T) {
	ctx := t.Context()
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	d, err := OpenWith(ctx, filepath.Join(t.TempDir(), "fd.db"), Options{Log: testLog(t), Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := &store.Inbound{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: "clock", Blob: strings.Repeat("f", 64), Size: 1}
	if _, err := d.AcceptInbound(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := d.Inbound(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ReceivedAt.Equal(at) || !got.UpdatedAt.Equal(at) || got.UpdatedAt.Location() != time.UTC {
		t.Fatalf("times = %v / %v; want %v in UTC", got.ReceivedAt, got.UpdatedAt, at)
	}
	var raw int64
	if err := d.r.db.QueryRowContext(ctx, `SELECT updated_at FROM inbound WHERE id = ?`, in.ID).Scan(&raw); err != nil || raw != at.UnixNano() {
		t.Fatalf("stored %d, %v; want %d", raw, err, at.UnixNano())
	}
}

func TestNumbers(t *testing.T) {
	if CaseNumber(123) != "C-000123" || OrderNumber(1234567) != "O-1234567" {
		t.Fatal(CaseNumber(123), OrderNumber(1234567))
	}
	for in, want := range map[string]int64{"C-000123": 123, "c-1": 1, " C-42 ": 42, "C-1234567": 1234567} {
		if id, ok := parseNumber(casePrefix, in); !ok || id != want {
			t.Errorf("parseNumber(%q) = %d, %v; want %d", in, id, ok, want)
		}
	}
	for _, in := range []string{"C-", "C-0", "O-1", "C--1", "C-1a", "C-99999999999999999999", "C-+1"} {
		if _, ok := parseNumber(casePrefix, in); ok {
			t.Errorf("parseNumber(%q) accepted", in)
		}
	}
}
