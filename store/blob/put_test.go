package blob

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// streamOnly hides every method but Read, so Put cannot seek.
type streamOnly struct{ r io.Reader }

func (s streamOnly) Read(p []byte) (int, error) { return s.r.Read(p) }

// Content that is already stored is not written again when Put can read it
// twice (a bytes.Reader): the stored file stays the same file. A stream
// is written and renamed over it, which is also safe.
func TestPutPresentIsNotRewritten(t *testing.T) {
	s := open(t)
	content := []byte("From: a@example.com\r\n\r\nthe same message\r\n")
	hash, _, err := s.Put(t.Context(), bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(s.path(hash))
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(content)
	h2, size, err := s.Put(t.Context(), r)
	if err != nil || h2 != hash || size != int64(len(content)) {
		t.Fatalf("second Put = %s, %d, %v", h2, size, err)
	}
	after, err := os.Stat(s.path(hash))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("a present blob was written again")
	}
	if r.Len() != 0 {
		t.Errorf("reader left with %d unread bytes", r.Len())
	}

	if _, _, err := s.Put(t.Context(), streamOnly{bytes.NewReader(content)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(t.Context(), hash); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Get after a streamed Put: %q, %v", got, err)
	}
	if left := tempFiles(t, s); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

// Put starts from the reader's current offset, not from its beginning.
func TestPutSeekerFromOffset(t *testing.T) {
	s := open(t)
	r := strings.NewReader("skipped|stored")
	if _, err := r.Seek(int64(len("skipped|")), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	hash, size, err := s.Put(t.Context(), r)
	if err != nil || hash != sum([]byte("stored")) || size != 6 {
		t.Fatalf("Put = %s, %d, %v", hash, size, err)
	}
}

// changing reads different content the second time it is read from the
// start: content that changes while Put stores it.
type changing struct {
	*bytes.Reader
	reads int
	alt   []byte
}

func (c *changing) Seek(off int64, whence int) (int64, error) {
	if off == 0 && whence == io.SeekStart {
		c.reads++
		if c.reads == 1 {
			c.Reader = bytes.NewReader(c.alt)
		}
	}
	return c.Reader.Seek(off, whence)
}

// A blob's file always holds the content its name is the hash of: content
// that changes between Put's two reads is refused and nothing is stored.
func TestPutRefusesChangingContent(t *testing.T) {
	s := open(t)
	first, second := []byte("first version"), []byte("second version")
	_, _, err := s.Put(t.Context(), &changing{Reader: bytes.NewReader(first), alt: second})
	if err == nil {
		t.Fatal("Put of changing content succeeded")
	}
	for _, c := range [][]byte{first, second} {
		if ok, err := s.Has(sum(c)); ok || err != nil {
			t.Errorf("Has(%q) = %v, %v after a refused Put", c, ok, err)
		}
	}
	if left := tempFiles(t, s); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

// Fan-out directories removed behind the store's back (by hand, by a
// cleanup) are made again, although the store remembers having made them.
func TestPutRemakesRemovedDirectories(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	content := []byte("stored, removed, stored again")
	for _, stream := range []bool{false, true} {
		hash, _, err := s.Put(ctx, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(s.Dir(), hash[:2])); err != nil {
			t.Fatal(err)
		}
		var r io.Reader = bytes.NewReader(content)
		if stream {
			r = streamOnly{r}
		}
		if _, _, err := s.Put(ctx, r); err != nil {
			t.Fatalf("Put after the directories were removed (stream %v): %v", stream, err)
		}
		if got, err := s.Get(ctx, hash); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("Get: %q, %v", got, err)
		}
	}
}

// Errors keep their cause and classification through the raw syscalls.
func TestPutErrorsKeepTheirCause(t *testing.T) {
	s := open(t)
	if err := os.RemoveAll(filepath.Join(s.Dir(), tmpDir)); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Put(t.Context(), strings.NewReader("x"))
	var pe *os.PathError
	if !errors.Is(err, os.ErrNotExist) || !errors.As(err, &pe) || IsTemporary(err) {
		t.Fatalf("Put without a temp directory: %v; want a permanent *os.PathError for a missing file", err)
	}
}

func TestFanout(t *testing.T) {
	for _, tc := range []struct {
		hash      string
		top, leaf int
	}{
		{"0000", 0, 0}, {"ffff", 255, 65535}, {"a1b2", 0xa1, 0xa1b2}, {"09fa", 0x09, 0x09fa},
	} {
		if top, leaf := fanout(tc.hash + strings.Repeat("0", 60)); top != tc.top || leaf != tc.leaf {
			t.Errorf("fanout(%s…) = %d, %d; want %d, %d", tc.hash, top, leaf, tc.top, tc.leaf)
		}
	}
}
