package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// TestDiskFull fills the file system under the database: writes fail with a
// temporary error (F8) and the database is intact and writable once space
// is freed.
func TestDiskFull(t *testing.T) {
	ctx := t.Context()
	dir := testenv.MountTmpfs(t, "size=2m,mode=0700")
	d, err := Open(ctx, filepath.Join(dir, "fd.db"), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Fill the disk with another file, leaving a little room.
	ballast := filepath.Join(dir, "ballast")
	f, err := os.Create(ballast)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	var werr error
	for i := 0; i < 10000 && werr == nil; i++ {
		in := &store.Inbound{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: fmt.Sprintf("full:%d:%s", i, strings.Repeat("k", 2000)),
			Blob: strings.Repeat("a", 64), Size: 1}
		_, werr = d.AcceptInbound(ctx, in)
	}
	if werr == nil || !IsTemporary(werr) {
		t.Fatalf("AcceptInbound on a full disk: %v; want a temporary error", werr)
	}
	t.Logf("AcceptInbound on a full disk: %v", werr)
	if err := d.Ping(ctx); !IsTemporary(err) {
		t.Logf("Ping on a full disk: %v", err) // may still fit in the WAL
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	in := &store.Inbound{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: "after", Blob: strings.Repeat("a", 64), Size: 1}
	if _, err := d.AcceptInbound(ctx, in); err != nil {
		t.Fatalf("AcceptInbound after freeing space: %v", err)
	}
	if err := d.Ping(ctx); err != nil {
		t.Fatalf("Ping after freeing space: %v", err)
	}
	var check string
	if err := d.w.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
}

// TestReadOnlyDisk opens a database whose file system went read-only (a
// remount needs the files closed, as after a restart): Open fails with a
// temporary error, and succeeds, data intact, once it is writable again.
func TestReadOnlyDisk(t *testing.T) {
	ctx := t.Context()
	const opts = "size=8m,mode=0700"
	dir := testenv.MountTmpfs(t, opts)
	path := filepath.Join(dir, "fd.db")
	d, err := Open(ctx, path, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	in := &store.Inbound{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: "before", Blob: strings.Repeat("a", 64), Size: 1}
	if _, err := d.AcceptInbound(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, opts); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	if d, err := Open(ctx, path, testLog(t)); err == nil {
		d.Close()
		t.Fatal("Open on a read-only file system succeeded")
	} else if !IsTemporary(err) {
		t.Fatalf("Open on a read-only file system: %v; want a temporary error", err)
	} else {
		t.Logf("Open on a read-only file system: %v", err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, opts); err != nil {
		t.Fatalf("remount read-write: %v", err)
	}
	d, err = Open(ctx, path, testLog(t))
	if err != nil {
		t.Fatalf("Open after remount: %v", err)
	}
	defer d.Close()
	if got, err := d.Inbound(ctx, in.ID); err != nil || got.SourceKey != "before" {
		t.Fatalf("row after remount = %+v, %v", got, err)
	}
	if err := d.Ping(ctx); err != nil {
		t.Fatalf("Ping after remount: %v", err)
	}
}
