// Package blob is Frontdesk's filesystem blob store: raw messages and
// attachments kept by the sha256 of their content under one directory, as
// <dir>/ab/<hash> (256 fan-out directories, made when the store is created,
// so that a Put never makes a directory; stores created before that layout
// keep <dir>/ab/cd/<hash>, see layout.go). A Put is durable when it returns (temp file, fsync,
// rename, fsync of the directory, as Postfix does before "250 OK"; DESIGN.md
// invariant 1). Reads verify the content against its hash, so a truncated or
// damaged file is reported as ErrCorrupt and never half-processed (F9);
// Quarantine moves such a file aside with the reason.
//
// Tiered (tiered.go) puts this file store behind a size threshold: smaller
// blobs go to a Small backend (the SQLite database), where a durable blob
// costs a share of a group commit instead of a file create and two fsyncs,
// with the same hashing, verification and quarantine.
package blob

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

const (
	tmpDir        = "tmp"
	quarantineDir = "quarantine"
	// staleTemp is the age after which Open removes a temp file left behind
	// by a crashed Put.
	staleTemp = time.Hour

	dirPerm  = 0o750
	filePerm = 0o600
)

// Store is a blob store rooted at one directory. It is safe for concurrent
// use, also by several processes sharing the directory.
type Store struct {
	dir string
	// dirs remembers the fan-out directories known to exist durably, so
	// that a Put does not make or check them again.
	dirs dirCache
	// bufs holds copy buffers (*[]byte of copyBufSize).
	bufs sync.Pool
	// twoLevel is the layout of stores created before layout 2.
	twoLevel bool
}

// Open opens (creating if needed) the blob store under dir and removes temp
// files that a crashed Put left behind more than an hour ago.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("blob: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	for _, d := range []string{abs, filepath.Join(abs, tmpDir), filepath.Join(abs, quarantineDir)} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, wrap("open", "", err)
		}
	}
	s := &Store{dir: abs}
	if err := s.openLayout(); err != nil {
		return nil, wrap("open", "", err)
	}
	s.removeStaleTemp(time.Now().Add(-staleTemp))
	return s, nil
}

// Dir returns the store's root directory.
func (s *Store) Dir() string { return s.dir }

// path returns where the blob with the (validated) hash lives.
func (s *Store) path(hash string) string {
	return s.leafDir(hash) + "/" + hash
}

// leafDir returns the directory holding the blob with the (validated) hash.
func (s *Store) leafDir(hash string) string {
	if s.twoLevel {
		return s.dir + "/" + hash[0:2] + "/" + hash[2:4]
	}
	return s.dir + "/" + hash[0:2]
}

// removeStaleTemp deletes temp files older than before; best effort.
func (s *Store) removeStaleTemp(before time.Time) {
	entries, err := os.ReadDir(filepath.Join(s.dir, tmpDir))
	if err != nil {
		return
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || fi.IsDir() || !fi.ModTime().Before(before) {
			continue
		}
		_ = os.Remove(filepath.Join(s.dir, tmpDir, e.Name()))
	}
}
