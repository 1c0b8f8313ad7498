// Package sqlite is the single-machine backend of the store: Frontdesk's
// system of record in one SQLite database (modernc.org/sqlite, pure Go). It
// implements store.Store and owns the schema and its migrations.
//
// Durability and concurrency: the database runs in WAL mode with
// synchronous=NORMAL. In WAL mode a commit appends to the WAL file without an
// fsync, and the WAL is fsynced at each checkpoint; a committed transaction
// therefore survives any crash of the process (the bytes are in the OS page
// cache), and only a power loss or kernel crash can roll back the last
// transactions before the next checkpoint. SQLite has one writer: every write
// goes through one connection, owned by one goroutine that runs the queued
// writes in BEGIN IMMEDIATE transactions (_txlock=immediate), several at a
// time with one commit (group commit, writer.go); a read-then-write
// transaction never has to upgrade a read lock, which is what causes
// SQLITE_BUSY deadlocks. Reads use a separate pool of query-only
// connections, which WAL lets run beside the writer. busy_timeout covers
// other processes (operator commands) that open the same file. Hot
// statements are prepared once (hot.go).
package sqlite

import (
	"context"
	"database/sql"
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
	// ReadConns is the size of the read pool. Default 4.
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
	w    *pool // the one writer connection
	r    *pool // query-only readers

	// The writer goroutine (writer.go).
	jobs       chan *job
	closeMu    sync.RWMutex // write holds it shared while queueing
	closed     bool
	writerDone chan struct{}
	bg         context.Context // the writer's context: never cancelled
	nWrites    atomic.Int64
	nCommits   atomic.Int64

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

	base := url.Values{}
	base.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opt.BusyTimeout.Milliseconds()))
	base.Add("_pragma", "foreign_keys(1)")
	wq := cloneValues(base)
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Add("_pragma", "synchronous(NORMAL)")
	// Savepoints (one per job of a batch) journal pages; keep that off disk.
	wq.Add("_pragma", "temp_store(MEMORY)")
	// Checkpoint every 4000 pages (16 MB) rather than 1000: the hot pages
	// (table ends, queue indexes) are copied once per checkpoint however
	// often they were rewritten, so fewer checkpoints mean fewer writes.
	wq.Add("_pragma", "wal_autocheckpoint(4000)")
	wq.Add("_pragma", "journal_size_limit(67108864)")
	wq.Set("_txlock", "immediate")
	rq := cloneValues(base)
	rq.Add("_pragma", "query_only(1)")

	wdb, err := sql.Open("sqlite", path+"?"+wq.Encode())
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

	rdb, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		return fail(d.wrap("open", err))
	}
	rdb.SetMaxOpenConns(opt.ReadConns)
	rdb.SetMaxIdleConns(opt.ReadConns)
	rdb.SetConnMaxLifetime(0)
	d.r = &pool{db: rdb}

	if err := d.w.prepare(ctx, hotWrites()...); err != nil {
		return fail(d.wrap("prepare", err))
	}
	if err := d.r.prepare(ctx, hotReads()...); err != nil {
		return fail(d.wrap("prepare", err))
	}
	// The writer's statements must not be interrupted by one caller's
	// cancellation (see writer.go); it keeps ctx's values only. Close stops
	// the writer by closing its queue.
	d.startWriter(context.WithoutCancel(ctx))
	return d, nil
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
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
	if d.r != nil {
		d.r.close()
	}
	if d.w != nil {
		d.w.close()
	}
}

// pool is a *sql.DB with the statements prepared on it at Open.
type pool struct {
	db *sql.DB
	// stmts is written only during Open, before the pool is shared.
	stmts map[string]*sql.Stmt
}

func (p *pool) prepare(ctx context.Context, qs ...string) error {
	if p.stmts == nil {
		p.stmts = make(map[string]*sql.Stmt, len(qs))
	}
	for _, q := range qs {
		st, err := p.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		p.stmts[q] = st
	}
	return nil
}

func (p *pool) close() error {
	for _, st := range p.stmts {
		st.Close()
	}
	return p.db.Close()
}

// queryRow runs a point read (one row by key, a count over an index). A
// cancelled ctx stops it before it starts; once started it runs to its end
// (microseconds) without watching ctx, which spares the driver a watcher
// goroutine per statement and halves the cost of a read. Scans over many
// rows use query, which watches ctx throughout.
func (p *pool) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if ctx.Err() == nil {
		ctx = context.WithoutCancel(ctx)
	}
	if st := p.stmts[q]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, q, args...)
}

func (p *pool) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := p.stmts[q]; st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, q, args...)
}

// tx is one job's view of the writer's transaction (see writer.go).
type tx struct {
	ctx context.Context // the writer's context
	tx  *sql.Tx
	p   *pool
	now time.Time // the clock, read once per job
}

func (t *tx) stmt(q string) *sql.Stmt {
	if st := t.p.stmts[q]; st != nil {
		return t.tx.StmtContext(t.ctx, st)
	}
	return nil
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	if st := t.stmt(q); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, q, args...)
}

func (t *tx) queryRow(q string, args ...any) *sql.Row {
	if st := t.stmt(q); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, q, args...)
}
