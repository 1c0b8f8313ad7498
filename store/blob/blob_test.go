package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// tempFiles lists what is left in the temp directory.
func tempFiles(t *testing.T, s *Store) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(s.Dir(), tmpDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestPutGetRoundTrip(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	for _, content := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("From: a@b\r\n\r\nbody\r\n"), 100000)} {
		hash, size, err := s.Put(ctx, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		if hash != sum(content) || size != int64(len(content)) {
			t.Fatalf("Put = %s, %d; want %s, %d", hash, size, sum(content), len(content))
		}
		want := filepath.Join(s.Dir(), hash[:2], hash)
		if fi, err := os.Stat(want); err != nil || fi.Size() != size {
			t.Fatalf("blob not at %s: %v", want, err)
		}
		got, err := s.Get(ctx, hash)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("Get: %v, %d bytes", err, len(got))
		}
		rc, err := s.Open(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("Open: %v, %d bytes", err, len(got))
		}
		if err := s.Verify(ctx, hash); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Has(hash); !ok || err != nil {
			t.Fatalf("Has = %v, %v", ok, err)
		}
	}
	if left := tempFiles(t, s); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestPutSameContentTwice(t *testing.T) {
	s := open(t)
	content := []byte("the same message")
	h1, _, err := s.Put(t.Context(), bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	h2, _, err := s.Put(t.Context(), bytes.NewReader(content))
	if err != nil || h1 != h2 {
		t.Fatalf("second Put = %s, %v; want %s", h2, err, h1)
	}
	if left := tempFiles(t, s); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestPutConcurrentSameContent(t *testing.T) {
	s := open(t)
	content := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	want := sum(content)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			h, size, err := s.Put(t.Context(), bytes.NewReader(content))
			if err == nil && (h != want || size != int64(len(content))) {
				err = errors.New("wrong hash or size " + h)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Get(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	if left := tempFiles(t, s); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestTruncationDetected(t *testing.T) {
	content := bytes.Repeat([]byte("Subject: order 42\r\n"), 5000)
	for _, cut := range []int64{0, 1, 4095, 4096, int64(len(content)) / 2, int64(len(content)) - 1} {
		s := open(t)
		ctx := t.Context()
		hash, _, err := s.Put(ctx, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(s.path(hash), cut); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, hash); !errors.Is(err, ErrCorrupt) || IsTemporary(err) {
			t.Fatalf("cut %d: Get err = %v; want permanent ErrCorrupt", cut, err)
		}
		if err := s.Verify(ctx, hash); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut %d: Verify err = %v; want ErrCorrupt", cut, err)
		}
		// The streaming reader never ends in io.EOF on damaged content.
		rc, err := s.Open(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(rc)
		rc.Close()
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut %d: reading through Open: %v; want ErrCorrupt", cut, err)
		}
	}
}

func TestCorruptInPlaceDetected(t *testing.T) {
	s := open(t)
	content := []byte("Dear desk, please cancel order O-000042.")
	hash, _, err := s.Put(t.Context(), bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(content)
	damaged[5] ^= 0x20
	if err := os.WriteFile(s.path(hash), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), hash); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get err = %v; want ErrCorrupt", err)
	}
}

func TestQuarantine(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	content := []byte("a message that will be damaged")
	hash, _, err := s.Put(ctx, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(s.path(hash), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(t.Context(), hash, "truncated:\nhash mismatch"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after quarantine: %v; want ErrNotFound", err)
	}
	q, err := os.ReadFile(filepath.Join(s.Dir(), quarantineDir, hash))
	if err != nil || string(q) != string(content[:7]) {
		t.Fatalf("quarantined copy: %q, %v", q, err)
	}
	reason, err := s.QuarantineReason(hash)
	if err != nil || !strings.Contains(reason, "reason: truncated: hash mismatch\n") {
		t.Fatalf("reason file: %q, %v", reason, err)
	}
	// Idempotent.
	if err := s.Quarantine(t.Context(), hash, "again"); err != nil {
		t.Fatalf("second Quarantine: %v", err)
	}
	// A fresh copy of the same content can be stored again.
	if _, _, err := s.Put(ctx, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, hash); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(t.Context(), sum([]byte("never stored")), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Quarantine of missing blob: %v; want ErrNotFound", err)
	}
}

func TestPutRepairsTruncatedCopy(t *testing.T) {
	s := open(t)
	content := []byte("the raw message, complete")
	hash, _, err := s.Put(t.Context(), bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(s.path(hash), 3); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(t.Context(), bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(t.Context(), hash); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Get after repair: %q, %v", got, err)
	}
}

func TestNotFoundAndDelete(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	missing := sum([]byte("missing"))
	if _, err := s.Get(ctx, missing); !errors.Is(err, ErrNotFound) || IsTemporary(err) {
		t.Fatalf("Get: %v", err)
	}
	if _, err := s.Open(ctx, missing); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open: %v", err)
	}
	if ok, err := s.Has(missing); ok || err != nil {
		t.Fatalf("Has = %v, %v", ok, err)
	}
	hash, _, err := s.Put(ctx, strings.NewReader("to be erased"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Delete(hash); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Get(ctx, hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
}

func TestInvalidHashRejected(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	// A file the traversal attempts would reach.
	if err := os.WriteFile(filepath.Join(s.Dir(), "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := []string{
		"", "../secret", "../../../../etc/passwd", strings.Repeat("a", 63), strings.Repeat("a", 65),
		strings.ToUpper(sum([]byte("x"))), strings.Repeat("g", 64), "ab/cd/" + strings.Repeat("a", 58),
		strings.Repeat("a", 62) + "\x00a", strings.Repeat(".", 64),
	}
	for _, h := range bad {
		if _, err := s.Get(ctx, h); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Get(%q): %v", h, err)
		}
		if _, err := s.Open(ctx, h); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Open(%q): %v", h, err)
		}
		if err := s.Delete(h); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Delete(%q): %v", h, err)
		}
		if err := s.Quarantine(t.Context(), h, "x"); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Quarantine(%q): %v", h, err)
		}
		if _, err := s.Has(h); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Has(%q): %v", h, err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "secret")); err != nil {
		t.Fatal("file outside the blob tree was touched")
	}
}

func TestPutCancelled(t *testing.T) {
	s := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	r := &cancelAfter{n: 3, cancel: cancel}
	if _, _, err := s.Put(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v; want context.Canceled", err)
	}
	if left := tempFiles(t, s); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

// cancelAfter yields n chunks, then cancels its context.
type cancelAfter struct {
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n == 0 {
		c.cancel()
		return copy(p, "more"), nil
	}
	c.n--
	return copy(p, "chunk"), nil
}

func TestReaderErrorLeavesNothing(t *testing.T) {
	s := open(t)
	boom := errors.New("peer went away")
	if _, _, err := s.Put(t.Context(), io.MultiReader(strings.NewReader("half a message"), errReader{boom})); !errors.Is(err, boom) {
		t.Fatalf("Put: %v", err)
	}
	if left := tempFiles(t, s); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// A store made before layout 2 (blobs under <dir>/ab/cd/) keeps its layout:
// its blobs are found and new ones go beside them; a new store gets layout
// 2 with its 256 directories made up front.
func TestLayouts(t *testing.T) {
	ctx := t.Context()
	content := []byte("a message from before layout 2\r\n")
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])

	old := t.TempDir()
	if err := os.MkdirAll(filepath.Join(old, hash[:2], hash[2:4]), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, hash[:2], hash[2:4], hash), content, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(old)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, hash); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("old layout: Get %q, %v", got, err)
	}
	h2, _, err := s.Put(ctx, bytes.NewReader([]byte("a new one")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(old, h2[:2], h2[2:4], h2)); err != nil {
		t.Fatalf("new blob not in the old layout: %v", err)
	}
	if _, err := os.Stat(filepath.Join(old, layoutFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old store got a layout file: %v", err)
	}

	fresh := t.TempDir()
	s, err = Open(fresh)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(fresh)
	if len(entries) != 256+3 { // fan-out, tmp, quarantine, layout
		t.Fatalf("new store has %d entries, want 259", len(entries))
	}
	h3, _, err := s.Put(ctx, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(fresh, h3[:2], h3)); err != nil {
		t.Fatalf("blob not at <dir>/ab/<hash>: %v", err)
	}
	// Reopened, it stays layout 2.
	if s, err = Open(fresh); err != nil || s.twoLevel {
		t.Fatalf("reopened: %v, two-level %v", err, s != nil && s.twoLevel)
	}
	if err := os.WriteFile(filepath.Join(fresh, layoutFile), []byte("9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(fresh); err == nil {
		t.Fatal("an unknown layout was accepted")
	}
}
