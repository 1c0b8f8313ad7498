package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"syscall"

	"github.com/frontdesk/frontdesk/store"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrSchemaTooNew is returned by Open for a database that a newer Frontdesk
// has migrated: this binary does not know its schema and must not write it.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this binary")

// Error is a failed database operation. Temporary reports whether the same
// call may succeed later (SQLITE_BUSY or LOCKED beyond busy_timeout, a full
// or read-only disk, an I/O error); permanent errors include
// store.ErrNotFound, store.ErrConflict, invalid arguments and corruption.
type Error struct {
	Op   string
	Err  error
	temp bool
}

func (e *Error) Error() string { return "sqlite: " + e.Op + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether retrying later may succeed.
func (e *Error) Temporary() bool { return e.temp }

// IsTemporary reports whether err, or an error it wraps, says it is
// temporary: the caller should keep its input and retry later (DESIGN.md
// F8: intake refuses, the source keeps the message).
func IsTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// wrap turns err into an *Error with op, classified. An error that is
// already an *Error is returned as it is.
func (d *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if code, ok := sqliteCode(err); ok {
		// Constraints back up the checks each method makes first; should
		// one still fire (a concurrent writer in another process), the
		// caller gets the store's meaning of it.
		switch code {
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			err = fmt.Errorf("%w (%w)", store.ErrNotFound, err)
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			err = fmt.Errorf("%w (%w)", store.ErrConflict, err)
		}
	}
	return &Error{Op: op, Err: err, temp: temporary(err)}
}

// sqliteCode returns the extended result code of an error SQLite reported,
// through the driver (*sqlite.Error) or the C API (*rawError).
func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	var re *rawError
	if errors.As(err, &re) {
		return re.code, true
	}
	return 0, false
}

// temporary classifies err.
func temporary(err error) bool {
	if code, ok := sqliteCode(err); ok {
		switch code & 0xff { // primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_INTERRUPT:
			return true
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	for _, e := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EROFS, syscall.EIO, syscall.EACCES, syscall.EAGAIN, syscall.EMFILE, syscall.ENFILE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// invalid is a permanent error for bad arguments.
type invalidError string

func (e invalidError) Error() string { return string(e) }

func invalid(msg string) error { return invalidError(msg) }

// IsInvalid reports whether err was caused by invalid arguments.
func IsInvalid(err error) bool {
	var ie invalidError
	return errors.As(err, &ie)
}
