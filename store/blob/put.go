package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"syscall"
)

// Put stores the content of r and returns its sha256 (hex) and size. When
// Put returns nil the blob is durable: it was written to a temp file in the
// same file system, fsynced, renamed into place and its directory fsynced
// (and the fan-out directories above it are durable too).
//
// When r is an io.ReadSeeker (a bytes.Reader, a file) Put hashes it first
// and, if the blob is already stored, writes nothing: it only makes sure the
// present copy's directory entry is durable (it may be a concurrent Put's,
// or a crashed process's, whose directory fsync has not happened yet), and
// leaves r positioned at its end. Otherwise r is read once, written and
// hashed together, and renamed over any present copy. A present file of
// the wrong size (a truncated copy) is always replaced. Storing the same
// content from several goroutines or processes at once is safe. Errors
// from a full or read-only disk are temporary (IsTemporary).
func (s *Store) Put(ctx context.Context, r io.Reader) (hash string, size int64, err error) {
	if err := ctx.Err(); err != nil {
		return "", 0, &Error{Op: "put", Err: err}
	}
	buf := s.getBuf()
	defer s.bufs.Put(buf)
	if rs, ok := r.(io.ReadSeeker); ok {
		return s.putSeeker(ctx, rs, *buf)
	}
	return s.putStream(ctx, r, *buf)
}

// putSeeker hashes rs, skips the write when the blob is present, and
// otherwise writes it from the start again.
func (s *Store) putSeeker(ctx context.Context, rs io.ReadSeeker, buf []byte) (string, int64, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", 0, wrap("put", "", err)
	}
	h := sha256.New()
	size, err := io.CopyBuffer(h, ctxReader{ctx: ctx, r: rs}, buf)
	if err != nil {
		return "", 0, wrap("put", "", err)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	if ok, err := s.present(hash, size); err != nil {
		return "", 0, wrap("put", hash, err)
	} else if ok {
		return hash, size, nil
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return "", 0, wrap("put", hash, err)
	}
	h.Reset()
	tmp, n, err := s.writeTemp(ctx, rs, h, buf)
	if err != nil {
		return "", 0, wrap("put", hash, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hash || n != size {
		removeTemp(tmp)
		return "", 0, &Error{Op: "put", Hash: hash, Err: fmt.Errorf("content changed while being stored (%d bytes hashing to %s on the second read)", n, got)}
	}
	if err := s.install(tmp, hash); err != nil {
		return "", 0, wrap("put", hash, err)
	}
	return hash, size, nil
}

// putStream writes and hashes r in one pass, then installs the result.
func (s *Store) putStream(ctx context.Context, r io.Reader, buf []byte) (string, int64, error) {
	h := sha256.New()
	tmp, size, err := s.writeTemp(ctx, r, h, buf)
	if err != nil {
		return "", 0, wrap("put", "", err)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	if err := s.install(tmp, hash); err != nil {
		return "", 0, wrap("put", hash, err)
	}
	return hash, size, nil
}

// present reports whether the blob is stored with the given size, and if so
// makes its directory entry durable.
func (s *Store) present(hash string, size int64) (bool, error) {
	var st syscall.Stat_t
	err := ignoringEINTR(func() error { return syscall.Stat(s.path(hash), &st) })
	if err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size != size {
		// Missing, unreadable or damaged: store it afresh (rename replaces
		// a damaged copy; a real problem shows up there).
		return false, nil
	}
	if err := s.ensureDirs(hash); err != nil {
		return false, err
	}
	return true, syncDir(s.leafDir(hash))
}

// writeTemp copies r into a new temp file, hashing it into h, and fsyncs
// it. It returns the temp file's path; on error nothing is left behind.
func (s *Store) writeTemp(ctx context.Context, r io.Reader, h hash.Hash, buf []byte) (string, int64, error) {
	f, path, err := createTemp(s.dir + "/" + tmpDir)
	if err != nil {
		return "", 0, err
	}
	size, err := io.CopyBuffer(io.MultiWriter(f, h), ctxReader{ctx: ctx, r: r}, buf)
	if err == nil {
		err = f.sync()
	}
	if cerr := f.close(); err == nil {
		err = cerr
	}
	if err != nil {
		removeTemp(path)
		return "", 0, err
	}
	return path, size, nil
}

// install renames the fsynced temp file into place and fsyncs the blob's
// directory. rename(2) is atomic and replaces a present copy; two Puts of
// the same content racing here both install identical bytes.
func (s *Store) install(tmp, hash string) error {
	if err := s.ensureDirs(hash); err != nil {
		removeTemp(tmp)
		return err
	}
	final := s.path(hash)
	err := rename(tmp, final)
	if errors.Is(err, syscall.ENOENT) {
		// A fan-out directory was removed behind our back (by hand, or a
		// cleanup): make it again.
		s.dirs.forget(hash)
		if err = s.ensureDirs(hash); err == nil {
			err = rename(tmp, final)
		}
	}
	if err != nil {
		removeTemp(tmp)
		return err
	}
	return syncDir(s.leafDir(hash))
}

// getBuf returns a copy buffer from the Store's pool.
func (s *Store) getBuf() *[]byte {
	if b, ok := s.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, copyBufSize)
	return &b
}

// copyBufSize is the chunk in which content is hashed and written.
const copyBufSize = 64 << 10

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
