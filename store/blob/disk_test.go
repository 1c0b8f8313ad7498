package blob

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

func TestPutDiskFull(t *testing.T) {
	dir := testenv.MountTmpfs(t, "size=256k,mode=0700")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 1<<20)
	_, _, err = s.Put(t.Context(), bytes.NewReader(big))
	if !errors.Is(err, syscall.ENOSPC) || !IsTemporary(err) {
		t.Fatalf("Put on a full disk: %v; want temporary ENOSPC", err)
	}
	if left := tempFiles(t, s); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
	// Space is back once the failed write is gone: the store resumes.
	if _, _, err := s.Put(t.Context(), strings.NewReader("small")); err != nil {
		t.Fatalf("Put after freeing space: %v", err)
	}
}

func TestPutReadOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		// Without root a read-only directory is a permission problem.
		s := open(t)
		tmp := filepath.Join(s.Dir(), tmpDir)
		if err := os.Chmod(tmp, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(tmp, 0o700) })
		if _, _, err := s.Put(t.Context(), strings.NewReader("x")); !IsTemporary(err) {
			t.Fatalf("Put into a read-only directory: %v; want temporary", err)
		}
		return
	}
	dir := testenv.MountTmpfs(t, "size=1m,mode=0700")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	kept, _, err := s.Put(t.Context(), strings.NewReader("stored before"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=1m,mode=0700"); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	_, _, err = s.Put(t.Context(), strings.NewReader("stored during"))
	if !errors.Is(err, syscall.EROFS) || !IsTemporary(err) {
		t.Fatalf("Put on a read-only file system: %v; want temporary EROFS", err)
	}
	if _, err := s.Get(t.Context(), kept); err != nil {
		t.Fatalf("Get on a read-only file system: %v", err)
	}
	if err := s.Delete(kept); !IsTemporary(err) {
		t.Fatalf("Delete on a read-only file system: %v; want temporary", err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatalf("Open of an existing store on a read-only file system: %v", err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=1m,mode=0700"); err != nil {
		t.Fatalf("remount read-write: %v", err)
	}
	if _, _, err := s.Put(t.Context(), strings.NewReader("stored after")); err != nil {
		t.Fatalf("Put after remount: %v", err)
	}
}

func TestOpenRemovesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, tmpDir, "put-stale")
	fresh := filepath.Join(dir, tmpDir, "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file (a Put in progress) removed: %v", err)
	}
}

func TestOpenEmptyDir(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}
