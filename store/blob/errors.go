package blob

import (
	"errors"
	"io/fs"
	"syscall"
)

var (
	// ErrNotFound is returned for a hash that is not in the store.
	ErrNotFound = errors.New("blob: not found")
	// ErrCorrupt is returned when a blob's content does not match its hash
	// (a truncated or damaged file). It is permanent: quarantine the blob.
	ErrCorrupt = errors.New("blob: content does not match its hash")
	// ErrInvalidHash is returned for a hash that is not 64 lower-case hex
	// digits; no path is ever built from such a string.
	ErrInvalidHash = errors.New("blob: invalid hash")
)

// Error is a failed blob operation. Temporary reports whether retrying later
// may succeed (a full or read-only disk, an I/O error), as opposed to a
// missing or corrupt blob.
type Error struct {
	Op   string // "put", "get", "open", "read", "verify", "quarantine", "delete"
	Hash string // empty when not known yet
	Err  error
	temp bool
}

func (e *Error) Error() string {
	s := "blob: " + e.Op
	if e.Hash != "" {
		s += " " + e.Hash
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the operation may succeed when retried later.
func (e *Error) Temporary() bool { return e.temp }

// IsTemporary reports whether err, or an error it wraps, says it is
// temporary: the caller should keep the input and retry later.
func IsTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// temporaryErrnos are the file-system conditions an operator (or time) can
// fix: full disk or quota, read-only or permission-denied directory, I/O
// errors, resource exhaustion (DESIGN.md F8: intake refuses, then resumes).
var temporaryErrnos = []syscall.Errno{
	syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EACCES, syscall.EPERM,
	syscall.EIO, syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EAGAIN,
	syscall.EINTR, syscall.EBUSY, syscall.ETXTBSY,
}

// wrap turns err into an *Error, mapping a missing file to ErrNotFound and
// classifying it as temporary or permanent.
func wrap(op, hash string, err error) error {
	if err == nil {
		return nil
	}
	var be *Error
	if errors.As(err, &be) {
		return err
	}
	if errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrNotFound) && (op == "get" || op == "open" || op == "verify" || op == "quarantine") {
		return &Error{Op: op, Hash: hash, Err: ErrNotFound}
	}
	temp := false
	for _, e := range temporaryErrnos {
		if errors.Is(err, e) {
			temp = true
			break
		}
	}
	return &Error{Op: op, Hash: hash, Err: err, temp: temp}
}

// validHash reports whether h is a canonical sha256 hex string.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkHash(op, h string) error {
	if !validHash(h) {
		return &Error{Op: op, Err: ErrInvalidHash}
	}
	return nil
}
