package mailparse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// memBlobs is an in-memory blob store keyed by sha256, as the real one is.
type memBlobs struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemBlobs() *memBlobs { return &memBlobs{m: map[string][]byte{}} }

func (b *memBlobs) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, err
	}
	// Copied once (io.ReadAll would grow its buffer step by step), as the
	// real store streams it to a file. An empty blob is stored too.
	buf := bytes.NewBuffer([]byte{})
	if _, err := io.Copy(buf, r); err != nil {
		return "", 0, err
	}
	data := buf.Bytes()
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	b.mu.Lock()
	b.m[h] = data
	b.mu.Unlock()
	return h, int64(len(data)), nil
}

func (b *memBlobs) reset() {
	b.mu.Lock()
	b.m = map[string][]byte{}
	b.mu.Unlock()
}

func (b *memBlobs) get(h string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[h]
}

// corporaDir returns ../shared/corpora relative to the repository root, or
// skips the test when it is absent (and fails when CI=true).
func corporaDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpora")
	if _, err := os.Stat(c); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("test corpora missing at %s (CI=true)", c)
		}
		t.Skipf("test corpora not found at %s; skipping", c)
	}
	return c
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
