package pipeline_test

import (
	"os"
	"path/filepath"
	"testing"
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
