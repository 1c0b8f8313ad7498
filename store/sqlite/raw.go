package sqlite

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The hot paths (every write, the point reads) talk to SQLite's C API as
// modernc.org/sqlite/lib exposes it, on connections of their own. Through
// database/sql and the driver a statement cost about twice what SQLite
// spends on it: a transaction-specific *sql.Stmt per statement, arguments
// and columns converted through reflection, every parameter's name and
// every column's name and declared type fetched from SQLite on each run, a
// connection mutex around each call. Here a statement is prepared once per
// connection (SQLITE_PREPARE_PERSISTENT), arguments are bound by position
// and columns read by type. A connection is used by one goroutine at a
// time (the writer, or a reader's borrower), so it is opened NOMUTEX.
//
// database/sql still opens the database (DSN pragmas, migrations), runs
// the scans that watch their context, and serves the odd ad-hoc statement.

// rconn is one SQLite connection used through the C API.
type rconn struct {
	tls   *libc.TLS
	db    uintptr // sqlite3*
	stmts map[string]*rstmt
	cell  uintptr // 8 bytes of C memory for out-parameters
	texts []ctext // C copies of the text and blob arguments of the running statement
}

// ctext is a text argument copied to C memory, bound to parameter param.
type ctext struct {
	p     uintptr
	param int32
}

// rstmt is a prepared statement of an rconn.
type rstmt struct {
	p      uintptr // sqlite3_stmt*
	params int
	cols   int
}

// rawError is an error SQLite reported, with its extended result code.
type rawError struct {
	code int
	msg  string
}

func (e *rawError) Error() string { return fmt.Sprintf("%s (%d)", e.msg, e.code) }

// Code is SQLite's extended result code, as (*sqlite.Error).Code.
func (e *rawError) Code() int { return e.code }

// openRaw opens path (which must exist: database/sql made it) and runs
// pragmas ("name=value") on the new connection.
func openRaw(path string, busy time.Duration, pragmas ...string) (*rconn, error) {
	c := &rconn{tls: libc.NewTLS(), stmts: make(map[string]*rstmt)}
	c.cell = libc.Xmalloc(c.tls, 8)
	if c.cell == 0 {
		c.tls.Close()
		return nil, errors.New("sqlite: out of memory")
	}
	cpath, err := libc.CString(path)
	if err != nil {
		c.free()
		return nil, err
	}
	rc := sqlite3.Xsqlite3_open_v2(c.tls, cpath, c.cell,
		sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	libc.Xfree(c.tls, cpath)
	c.db = c.readCell()
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, int32(busy.Milliseconds()))
	for _, p := range pragmas {
		if err := c.once("PRAGMA " + p); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// readCell returns the pointer SQLite stored in c.cell. (Pointers from
// SQLite stay uintptr: nothing here keeps a Go pointer into C memory;
// libc's GoString copies out of it, GoBytes does not, so its result is
// copied or converted at once.)
func (c *rconn) readCell() uintptr {
	if unsafe.Sizeof(uintptr(0)) == 4 {
		return uintptr(binary.NativeEndian.Uint32(libc.GoBytes(c.cell, 4)))
	}
	return uintptr(binary.NativeEndian.Uint64(libc.GoBytes(c.cell, 8)))
}

// err turns SQLite's result code rc (and the connection's message) into an
// error.
func (c *rconn) err(rc int32) error {
	code := int(rc)
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		if ext := sqlite3.Xsqlite3_extended_errcode(c.tls, c.db); ext&0xff == rc&0xff {
			code = int(ext)
			msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
		}
	}
	return &rawError{code: code, msg: msg}
}

// stmt returns q prepared on c, preparing it the first time.
func (c *rconn) stmt(q string) (*rstmt, error) {
	if st := c.stmts[q]; st != nil {
		return st, nil
	}
	cq, err := libc.CString(q)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, cq)
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, cq, -1, sqlite3.SQLITE_PREPARE_PERSISTENT, c.cell, 0); rc != sqlite3.SQLITE_OK {
		return nil, fmt.Errorf("prepare %q: %w", q, c.err(rc))
	}
	p := c.readCell()
	if p == 0 {
		return nil, fmt.Errorf("prepare %q: no statement", q)
	}
	st := &rstmt{p: p, params: int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, p)),
		cols: int(sqlite3.Xsqlite3_column_count(c.tls, p))}
	c.stmts[q] = st
	return st, nil
}

// once runs q, which takes no arguments, without keeping it prepared.
func (c *rconn) once(q string) error {
	if _, _, err := c.exec(q, nil); err != nil {
		return err
	}
	if st := c.stmts[q]; st != nil {
		sqlite3.Xsqlite3_finalize(c.tls, st.p)
		delete(c.stmts, q)
	}
	return nil
}

// prepare prepares qs now, so that a bad statement fails Open.
func (c *rconn) prepare(qs ...string) error {
	for _, q := range qs {
		if _, err := c.stmt(q); err != nil {
			return err
		}
	}
	return nil
}

// bind binds args to st by position, as database/sql would convert the
// types this package passes.
func (c *rconn) bind(st *rstmt, args []any) error {
	if len(args) != st.params {
		return fmt.Errorf("sqlite: %d arguments for %d parameters", len(args), st.params)
	}
	for i, a := range args {
		n := int32(i + 1)
		var rc int32
		switch x := a.(type) {
		case nil:
			rc = sqlite3.Xsqlite3_bind_null(c.tls, st.p, n)
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st.p, n, x)
		case int:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st.p, n, int64(x))
		case bool:
			var v int64
			if x {
				v = 1
			}
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st.p, n, v)
		case float64:
			rc = sqlite3.Xsqlite3_bind_double(c.tls, st.p, n, x)
		case string:
			p, err := libc.CString(x)
			if err != nil {
				return err
			}
			c.texts = append(c.texts, ctext{p: p, param: n})
			// SQLITE_STATIC: the copy lives until the statement is reset.
			rc = sqlite3.Xsqlite3_bind_text(c.tls, st.p, n, p, int32(len(x)), 0)
		case []byte:
			if len(x) == 0 {
				rc = sqlite3.Xsqlite3_bind_zeroblob(c.tls, st.p, n, 0)
				break
			}
			// A C copy, as for text (CString only reads the bytes; the
			// string does not outlive the call).
			p, err := libc.CString(unsafe.String(unsafe.SliceData(x), len(x)))
			if err != nil {
				return err
			}
			c.texts = append(c.texts, ctext{p: p, param: n})
			rc = sqlite3.Xsqlite3_bind_blob(c.tls, st.p, n, p, int32(len(x)), 0)
		default:
			return fmt.Errorf("sqlite: argument %d: unsupported type %T", i+1, a)
		}
		if rc != sqlite3.SQLITE_OK {
			return c.err(rc)
		}
	}
	return nil
}

// done resets st for its next run and frees the text arguments, once no
// parameter points at them. (Not sqlite3_clear_bindings: that makes
// SQLite prepare again any statement whose plan may depend on a bound
// value, on every run.)
func (c *rconn) done(st *rstmt) {
	sqlite3.Xsqlite3_reset(c.tls, st.p)
	for _, t := range c.texts {
		sqlite3.Xsqlite3_bind_null(c.tls, st.p, t.param)
		libc.Xfree(c.tls, t.p)
	}
	clear(c.texts)
	c.texts = c.texts[:0]
}

// exec runs q to its end and returns the rows it changed and the last
// rowid inserted.
func (c *rconn) exec(q string, args []any) (changes, lastID int64, err error) {
	st, err := c.stmt(q)
	if err != nil {
		return 0, 0, err
	}
	defer c.done(st)
	if err := c.bind(st, args); err != nil {
		return 0, 0, err
	}
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, st.p); rc {
		case sqlite3.SQLITE_ROW:
			continue
		case sqlite3.SQLITE_DONE:
			return sqlite3.Xsqlite3_changes64(c.tls, c.db), sqlite3.Xsqlite3_last_insert_rowid(c.tls, c.db), nil
		default:
			return 0, 0, c.err(rc)
		}
	}
}

// query runs q and calls fn with each row's values (valid during the
// call); fn returning errStop ends the query early.
func (c *rconn) query(q string, args []any, fn func(vals []any) error) error {
	st, err := c.stmt(q)
	if err != nil {
		return err
	}
	defer c.done(st)
	if err := c.bind(st, args); err != nil {
		return err
	}
	vals := make([]any, st.cols)
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, st.p); rc {
		case sqlite3.SQLITE_ROW:
			for i := range vals {
				vals[i] = c.column(st, int32(i))
			}
			if err := fn(vals); err != nil {
				if errors.Is(err, errStop) {
					return nil
				}
				return err
			}
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			return c.err(rc)
		}
	}
}

// errStop ends a query from its row function.
var errStop = errors.New("stop")

// queryRow runs q and returns its first row (sql.ErrNoRows when none).
func (c *rconn) queryRow(q string, args []any) ([]any, error) {
	var first []any
	err := c.query(q, args, func(vals []any) error {
		first = vals
		return errStop
	})
	if err == nil && first == nil {
		err = sql.ErrNoRows
	}
	return first, err
}

// column reads column i of st's current row.
func (c *rconn) column(st *rstmt, i int32) any {
	switch sqlite3.Xsqlite3_column_type(c.tls, st.p, i) {
	case sqlite3.SQLITE_INTEGER:
		return sqlite3.Xsqlite3_column_int64(c.tls, st.p, i)
	case sqlite3.SQLITE_FLOAT:
		return sqlite3.Xsqlite3_column_double(c.tls, st.p, i)
	case sqlite3.SQLITE_TEXT:
		p := sqlite3.Xsqlite3_column_text(c.tls, st.p, i)
		n := int(sqlite3.Xsqlite3_column_bytes(c.tls, st.p, i))
		if p == 0 || n == 0 {
			return ""
		}
		return string(libc.GoBytes(p, n))
	case sqlite3.SQLITE_BLOB:
		p := sqlite3.Xsqlite3_column_blob(c.tls, st.p, i)
		n := int(sqlite3.Xsqlite3_column_bytes(c.tls, st.p, i))
		if p == 0 || n == 0 {
			return []byte{}
		}
		// GoBytes does not copy: the memory is SQLite's until the next step.
		return append([]byte(nil), libc.GoBytes(p, n)...)
	}
	return nil
}

// inTx reports whether a transaction is open on c (SQLite may have rolled
// it back after an error).
func (c *rconn) inTx() bool { return sqlite3.Xsqlite3_get_autocommit(c.tls, c.db) == 0 }

// close finalises the statements and closes the connection.
func (c *rconn) close() error {
	for q, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, st.p)
		delete(c.stmts, q)
	}
	var err error
	if c.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			err = c.err(rc)
		}
		c.db = 0
	}
	c.free()
	return err
}

func (c *rconn) free() {
	if c.cell != 0 {
		libc.Xfree(c.tls, c.cell)
		c.cell = 0
	}
	if c.tls != nil {
		c.tls.Close()
		c.tls = nil
	}
}
