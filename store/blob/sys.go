package blob

import (
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
)

// The hot path of Put talks to the kernel directly: os.OpenFile would also
// try to register each regular file and directory with the runtime poller
// (a failing epoll_ctl per open), and os.Rename stats the target first.
// Errors are *os.PathError or *os.LinkError wrapping the errno, as the os
// package reports them.

// tempFile is a temp file being written, as a raw descriptor.
type tempFile struct {
	fd   int
	path string
}

// createTemp creates a new file "put-<random>" in dir, for writing only.
func createTemp(dir string) (*tempFile, string, error) {
	for range 100 {
		path := dir + "/put-" + strconv.FormatUint(rand.Uint64(), 36)
		fd, err := ignoringEINTR2(func() (int, error) {
			return syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, filePerm)
		})
		if err == nil {
			return &tempFile{fd: fd, path: path}, path, nil
		}
		if !errors.Is(err, syscall.EEXIST) {
			return nil, "", &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
	return nil, "", &os.PathError{Op: "createtemp", Path: dir + "/put-*", Err: os.ErrExist}
}

// Write writes all of p.
func (f *tempFile) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Write(f.fd, p[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "write", Path: f.path, Err: err}
		}
		if m == 0 {
			return n, &os.PathError{Op: "write", Path: f.path, Err: syscall.EIO}
		}
		n += m
	}
	return n, nil
}

func (f *tempFile) sync() error {
	if err := ignoringEINTR(func() error { return syscall.Fsync(f.fd) }); err != nil {
		return &os.PathError{Op: "fsync", Path: f.path, Err: err}
	}
	return nil
}

// close closes the descriptor; a failing close(2) may report a write
// error, so it is returned. The descriptor is released either way.
func (f *tempFile) close() error {
	if err := syscall.Close(f.fd); err != nil {
		return &os.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}

// removeTemp removes a temp file; best effort (Open removes stale ones).
func removeTemp(path string) { _ = syscall.Unlink(path) }

// rename renames from to to, replacing to.
func rename(from, to string) error {
	if err := ignoringEINTR(func() error { return syscall.Rename(from, to) }); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// syncDir fsyncs a directory so that entries created or renamed in it are
// durable.
func syncDir(dir string) error {
	fd, err := ignoringEINTR2(func() (int, error) {
		return syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	err = ignoringEINTR(func() error { return syscall.Fsync(fd) })
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: dir, Err: err}
	}
	return nil
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}

func ignoringEINTR2[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if err != syscall.EINTR {
			return v, err
		}
	}
}
