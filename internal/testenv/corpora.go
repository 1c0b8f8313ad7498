package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Corpora returns the path of ../shared/corpora next to the repository root
// (the folder holding go.mod). It skips the test when the folder is absent,
// unless CI=true, when it fails.
func Corpora(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "..", "shared", "corpora")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		Missing(t, "test corpora not found at "+dir)
	}
	return dir
}

// RepoRoot walks up from the working directory to the folder holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
