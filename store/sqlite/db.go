// Package sqlite is the single-machine backend of the store: Frontdesk's
// system of record in one SQLite database (modernc.org/sqlite, pure Go). It
// implements store.Store and owns the schema and its migrations.
//
// Durability and concurrency: the database runs in WAL mode with
// synchronous=NORMAL. In WAL mode a commit appends to the WAL file without an
// fsync, and the WAL is fsynced at each checkpoint; a committed transaction
// therefore survives any crash of the process (the bytes are in the OS page
// cache), and only a power loss or kernel crash can roll back the last
// transactions before the next checkpoint. The writes that must survive a
// power loss when they return - AcceptInbound (DESIGN.md invariant 1: the
// source is told next) and the blob writes (blobs.go) - are durable: the
// group commit carrying one is made with synchronous=FULL, which fsyncs the
// WAL (writer.go). SQLite has one writer: every write
// goes through one connection, owned by one goroutine that runs the queued
// writes in BEGIN IMMEDIATE transactions, several at a time with one commit
// (group commit, writer.go); a read-then-write transaction never has to
// upgrade a read lock, which is what causes SQLITE_BUSY deadlocks. A
// goroutine of its own checkpoints the WAL, on its own connection
// (walcheckpoint.go). Reads use a pool of query-only connections, which WAL
// lets run beside the writer. busy_timeout covers other processes (operator
// commands) that open the same file.
//
// The writer, the checkpointer and the point reads use SQLite's C API
// directly (raw.go), each statement prepared once per connection;
// database/sql opens the database, migrates it, and runs the scans that
// watch their caller's context.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdesk/frontdesk/store"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

var _ store.Store = (*DB)(nil)

// Options tune OpenWith. Zero values mean the defaults.
type Options struct {
	Log *slog.Logger
	// Now is the clock for times the caller does not give (UpdatedAt,
	// default CreatedAt...). Default time.Now.
	Now func() time.Time
	// ReadConns is the number of reader connections for point reads, and
	// the most database/sql opens for scans. Default 4.
	ReadConns int
	// BusyTimeout is how long a write waits for another process's lock
	// before failing with a temporary error. Default 5s.
	BusyTimeout time.Duration
}

// DB is a Frontdesk database. It is safe for concurrent use.
type DB struct {
	path string
	log  *slog.Logger
	now  func() time.Time
	w    *pool         // database/sql's: migrations, Close's checkpoint, ad-hoc statements
	r    *pool         // query-only readers: raw ones for point reads, database/sql's for scans
	wc   *rconn        // the writer's connection (raw.go), used by the writer goroutine only
	ck   *checkpointer // WAL checkpoints (walcheckpoint.go)

	// The writer goroutine (writer.go).
	jobs       chan *job
	closeMu    sync.RWMutex // write holds it shared while queueing
	closed     bool
	writerDone chan struct{}
	nWrites    atomic.Int64
	nCommits   atomic.Int64
	nReplays   atomic.Int64
	nSynced    atomic.Int64
	// wcSync is the synchronous pragma in force on wc (writer goroutine
	// only; see setSynchronous).
	wcSync string

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating and migrating if needed) the database at path with
// the default options.
func Open(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	return OpenWith(ctx, path, Options{Log: log})
}

// OpenWith opens the database at path: WAL, busy_timeout, foreign keys,
// synchronous=NORMAL; it applies pending migrations and refuses a database
// made by a newer binary (ErrSchemaTooNew).
func OpenWith(ctx context.Context, path string, opt Options) (*DB, error) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return nil, err
	}
	return openWith(ctx, path, opt, ms)
}

func openWith(ctx context.Context, path string, opt Options, ms []migration) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: unusable database path %q (need a plain file path)", path)
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ReadConns <= 0 {
		opt.ReadConns = 4
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	d := &DB{path: path, log: opt.Log, now: opt.Now}

	// Every connection: the DSN's pragmas for database/sql's, the same run
	// on the raw ones (raw.go).
	common := []string{"foreign_keys = 1"}
	writer := append(common,
		"journal_mode = WAL",
		"synchronous = NORMAL",
		// Statement journals (kept for a statement that may abort) stay off disk.
		"temp_store = MEMORY",
		// The checkpointer (walcheckpoint.go) copies about every 3,000
		// pages; past 16,000 (64 MB) the writer does it itself. (The hot
		// pages - table ends, queue indexes - are copied once per checkpoint
		// however often they were rewritten: fewer checkpoints mean fewer
		// writes.)
		"wal_autocheckpoint = 16000",
		"journal_size_limit = 67108864")
	reader := append(common[:len(common):len(common)], "query_only = 1")
	dsn := func(pragmas []string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opt.BusyTimeout.Milliseconds()))
		for _, p := range pragmas {
			name, value, _ := strings.Cut(p, " = ")
			q.Add("_pragma", name+"("+value+")")
		}
		q.Set("_txlock", "immediate")
		return path + "?" + q.Encode()
	}

	wdb, err := sql.Open("sqlite", dsn(writer))
	if err != nil {
		return nil, d.wrap("open", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	d.w = &pool{db: wdb}

	fail := func(err error) (*DB, error) {
		d.closePools()
		return nil, err
	}
	var mode string
	if err := wdb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fail(d.wrap("open", err))
	}
	if !strings.EqualFold(mode, "wal") {
		return fail(fmt.Errorf("sqlite: open %s: journal mode is %q, not WAL (is the file system local?)", path, mode))
	}
	if err := migrate(ctx, wdb, d.log, ms, d.now); err != nil {
		return fail(d.wrap("migrate", err))
	}

	rdb, err := sql.Open("sqlite", dsn(reader))
	if err != nil {
		return fail(d.wrap("open", err))
	}
	rdb.SetMaxOpenConns(opt.ReadConns)
	rdb.SetMaxIdleConns(opt.ReadConns)
	rdb.SetConnMaxLifetime(0)
	d.r = &pool{db: rdb}
	if d.wc, err = openRaw(path, opt.BusyTimeout, writer...); err != nil {
		return fail(d.wrap("open writer", err))
	}
	if err := d.wc.prepare(hotWrites()...); err != nil {
		return fail(d.wrap("prepare", err))
	}
	d.wcSync = qSyncNormal // the writer pragmas above
	if err := d.r.openReaders(path, opt.ReadConns, opt.BusyTimeout, reader, hotReads()); err != nil {
		return fail(d.wrap("open readers", err))
	}
	if d.ck, err = startCheckpointer(path, opt.BusyTimeout, d.log); err != nil {
		return fail(d.wrap("open checkpointer", err))
	}
	// Close stops the writer by closing its queue.
	d.startWriter()
	return d, nil
}

// Path returns the database file name.
func (d *DB) Path() string { return d.path }

// Ping reads from the database through the read pool and writes one row
// through the writer, so it fails when the file is unreadable, read-only or
// locked beyond busy_timeout.
func (d *DB) Ping(ctx context.Context) error {
	var v int
	if err := d.r.queryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&v); err != nil {
		return d.wrap("ping", err)
	}
	return d.write(ctx, "ping", func(t *tx) error {
		_, err := t.exec(qPing, ts(t.now))
		return err
	})
}

// Close checkpoints the WAL into the database file and closes every
// connection. It is safe to call more than once.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		d.stopWriter()
		if cerr := d.ck.stop(); cerr != nil {
			d.log.Warn("sqlite: closing the checkpointer", slog.Any("err", cerr))
		}
		if cerr := d.wc.close(); cerr != nil {
			d.log.Warn("sqlite: closing the writer connection", slog.Any("err", cerr))
		}
		// Close readers first: a checkpoint cannot pass a reader's snapshot.
		if d.r != nil {
			d.r.close()
		}
		var err error
		if _, cerr := d.w.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); cerr != nil {
			err = d.wrap("close: checkpoint", cerr)
			d.log.Warn("sqlite: WAL checkpoint on close failed", slog.String("path", d.path), slog.Any("err", cerr))
		}
		if _, oerr := d.w.db.Exec("PRAGMA optimize"); oerr != nil {
			d.log.Debug("sqlite: optimize on close failed", slog.Any("err", oerr))
		}
		if cerr := d.w.close(); cerr != nil && err == nil {
			err = d.wrap("close", cerr)
		}
		d.closeErr = err
	})
	return d.closeErr
}

func (d *DB) closePools() {
	if d.ck != nil {
		d.ck.stop()
	}
	if d.r != nil {
		d.r.close()
	}
	if d.wc != nil {
		d.wc.close()
	}
	if d.w != nil {
		d.w.close()
	}
}

// tx is one job's view of the writer's transaction (see writer.go).
type tx struct {
	c   *rconn    // the writer's connection
	now time.Time // the clock, read once per job
	// wrote records that a statement of this job changed the database, so
	// that its failure must roll the transaction back (writer.go).
	wrote bool
}

// isRead reports whether statement q only reads.
func isRead(q string) bool { return strings.HasPrefix(strings.TrimSpace(q), "SELECT") }

// result is what a statement run to its end changed.
type result struct{ changes, lastID int64 }

// RowsAffected is the number of rows the statement changed.
func (r result) RowsAffected() (int64, error) { return r.changes, nil }

// LastInsertId is the rowid of the last row inserted on the connection.
func (r result) LastInsertId() (int64, error) { return r.lastID, nil }

func (t *tx) exec(q string, args ...any) (result, error) {
	changes, lastID, err := t.c.exec(q, args)
	if err == nil && changes > 0 && !isRead(q) {
		t.wrote = true
	}
	return result{changes, lastID}, err
}

// insert runs an INSERT that may add one row or, on a conflict it is told
// to ignore, none: ok says which, id is the new row's.
func (t *tx) insert(q string, args ...any) (id int64, ok bool, err error) {
	res, err := t.exec(q, args...)
	if err != nil || res.changes == 0 {
		return 0, false, err
	}
	return res.lastID, true, nil
}

// queryRow runs q, which may be a write with a RETURNING clause, and
// returns its first row. A write that returned a row changed the database;
// one that failed in SQLite did not (the statement was undone).
func (t *tx) queryRow(q string, args ...any) values {
	vals, err := t.c.queryRow(q, args)
	if !isRead(q) && !errors.Is(err, sql.ErrNoRows) {
		var re *rawError
		if err == nil || !errors.As(err, &re) {
			t.wrote = true
		}
	}
	return values{vals: vals, err: err}
}
