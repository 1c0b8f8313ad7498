package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
)

// Put stores the content of r and returns its sha256 (hex) and size. When
// Put returns nil the blob is durable: it was written to a temp file in the
// same file system, fsynced, renamed into place and its directory fsynced.
// Storing content that is already present is cheap and safe from several
// goroutines or processes at once; a present file of the wrong size (a
// truncated copy) is replaced. Errors from a full or read-only disk are
// temporary (IsTemporary).
func (s *Store) Put(ctx context.Context, r io.Reader) (hash string, size int64, err error) {
	if err := ctx.Err(); err != nil {
		return "", 0, &Error{Op: "put", Err: err}
	}
	f, err := os.CreateTemp(filepath.Join(s.dir, tmpDir), "put-*")
	if err != nil {
		return "", 0, wrap("put", "", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if tmp != "" {
			_ = os.Remove(tmp)
		}
	}()

	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), ctxReader{ctx: ctx, r: r})
	if err != nil {
		return "", 0, wrap("put", "", err)
	}
	if err := f.Sync(); err != nil {
		return "", 0, wrap("put", "", err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return "", 0, wrap("put", "", err)
	}
	hash = hex.EncodeToString(h.Sum(nil))
	final := s.path(hash)

	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
		// Already stored (perhaps by a concurrent Put whose directory
		// fsync is still under way): make sure its entry is durable too.
		if err := syncDir(filepath.Dir(final)); err != nil {
			return "", 0, wrap("put", hash, err)
		}
		return hash, size, nil
	}
	if err := s.mkdirs(hash); err != nil {
		return "", 0, wrap("put", hash, err)
	}
	// rename(2) is atomic and replaces a damaged copy; two Puts of the same
	// content racing here both install identical bytes.
	if err := os.Rename(tmp, final); err != nil {
		return "", 0, wrap("put", hash, err)
	}
	tmp = ""
	if err := syncDir(filepath.Dir(final)); err != nil {
		return "", 0, wrap("put", hash, err)
	}
	return hash, size, nil
}

// mkdirs creates <dir>/ab/cd for hash, fsyncing each parent whose entries
// changed so the new directories survive a crash.
func (s *Store) mkdirs(hash string) error {
	parent := s.dir
	for _, part := range []string{hash[0:2], hash[2:4]} {
		d := filepath.Join(parent, part)
		err := os.Mkdir(d, dirPerm)
		switch {
		case err == nil:
			if err := syncDir(parent); err != nil {
				return err
			}
		case errors.Is(err, os.ErrExist):
		default:
			return err
		}
		parent = d
	}
	return nil
}

// syncDir fsyncs a directory so that entries created or renamed in it are
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
