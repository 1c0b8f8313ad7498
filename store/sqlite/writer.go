package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"

	sqlite3 "modernc.org/sqlite/lib"
)

// Group commit. SQLite has one writer, so every write is a job for one
// goroutine that owns the write connection (raw.go). It runs the first
// queued job, then every job that queued meanwhile (up to maxBatch), in one
// BEGIN IMMEDIATE transaction, and commits once: a commit's cost (WAL
// frames, locks) is shared by the batch. A caller learns of success only
// after the COMMIT. If the commit fails (a full disk, an I/O error) every
// job of the batch fails, and its callers retry.
//
// Jobs run without a savepoint each: a savepoint costs two statements and,
// worse, copies into the sub-journal every page a job touches that an
// earlier job of the batch dirtied. Most failures change nothing (a row not
// found, a conflict found by a read, a constraint that aborts its own
// statement), so the batch goes on without the failed job. A job that fails
// after one of its statements changed the database (or with an error after
// which the transaction may be gone, or a panic, or that ended the
// transaction) makes the writer roll the transaction back, fail that job,
// and run the jobs that had succeeded again, in order, in a new
// transaction: only the failed job's caller sees an error (WriteStats
// counts the replays). A job's function may therefore run more than once
// (see write).
//
// Batches grow when the writer lets the callers it has just woken run
// before it commits: when no job is queued, it yields the processor a few
// times (runtime.Gosched, which returns at once when nothing else is
// runnable) before it commits what it has.
//
// Durable writes. The database runs with synchronous=NORMAL: a commit
// survives a crash of the process but not a power loss until the next
// checkpoint fsyncs the WAL. A write that must survive a power loss before
// its caller acts on it (AcceptInbound: the source deletes its copy next)
// is queued with
// writeDurable, and a batch carrying one commits with synchronous=FULL: in
// WAL mode FULL fsyncs the WAL at the commit. The WAL is replayed as a
// prefix, so that fsync makes every earlier commit durable too, and a batch
// pays one fsync however many durable jobs it carries. SQLite refuses to
// change the setting inside a transaction, so the writer sets it before
// BEGIN from the batch's first job (and the jobs waiting for a replay): a
// FULL batch takes any job, a NORMAL batch that meets a durable job commits
// without it and leaves it to start the next, FULL, batch.
//
// Statements run on the C API, which no caller's context can interrupt:
// cancelling one caller's context must not roll back a transaction that
// carries other callers' work. A caller's context is honoured until its
// job starts.

const (
	maxBatch = 128
	// maxYields bounds how often one batch yields waiting for jobs.
	maxYields = 2
)

// errClosed is returned for writes after Close.
var errClosed = errors.New("database is closed")

// errTxEnded is a job's error when the transaction was gone after it ran
// (it ended it, or SQLite did).
var errTxEnded = errors.New("the write ended its transaction")

type job struct {
	ctx     context.Context
	fn      func(t *tx) error
	done    chan error // buffered: the writer never blocks on delivery
	started bool       // fn ran once: a replay ignores ctx
	durable bool       // its commit must be fsynced (writeDurable)
}

// startWriter starts the writer goroutine.
func (d *DB) startWriter() {
	d.jobs = make(chan *job, maxBatch)
	d.writerDone = make(chan struct{})
	go d.writer()
}

// write runs fn in a write transaction and returns once it is committed (or
// failed). Errors are wrapped with op and classified (see Error).
//
// fn may run more than once, each time in a fresh transaction in which the
// database is as it was before the previous run: it must read its inputs
// only and set every result it reports on every run (reset them first),
// and must not touch anything outside the database but those results.
func (d *DB) write(ctx context.Context, op string, fn func(t *tx) error) error {
	return d.submit(ctx, op, false, fn)
}

// writeDurable is write for a change that must survive a power loss once
// it returns: its batch's commit fsyncs the WAL (synchronous=FULL).
func (d *DB) writeDurable(ctx context.Context, op string, fn func(t *tx) error) error {
	return d.submit(ctx, op, true, fn)
}

// submit queues fn as a job and waits for its verdict.
func (d *DB) submit(ctx context.Context, op string, durable bool, fn func(t *tx) error) error {
	if err := ctx.Err(); err != nil {
		return d.wrap(op, err)
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1), durable: durable}
	// The read lock keeps Close from closing d.jobs under a sender.
	d.closeMu.RLock()
	if d.closed {
		d.closeMu.RUnlock()
		return d.wrap(op, errClosed)
	}
	select {
	case d.jobs <- j:
		d.closeMu.RUnlock()
	case <-ctx.Done():
		d.closeMu.RUnlock()
		return d.wrap(op, ctx.Err())
	}
	// Once queued, the job may commit: wait for the verdict.
	return d.wrap(op, <-j.done)
}

// writer runs the queued jobs until Close closes the queue.
func (d *DB) writer() {
	defer close(d.writerDone)
	var next *job
	for {
		if next == nil {
			j, ok := <-d.jobs
			if !ok {
				return
			}
			next = j
		}
		next = d.batch(next)
	}
}

// WriteStats counts writes and the commits that carried them: Writes /
// Commits is the mean batch size of the group commit. Replays counts the
// jobs run again after another job of their batch failed having written;
// Synced the commits made with synchronous=FULL because they carried a
// durable write.
type WriteStats struct {
	Writes  int64 // write calls committed
	Commits int64 // transactions committed
	Replays int64
	Synced  int64 // commits that fsynced the WAL
}

// WriteStats returns the counts since Open.
func (d *DB) WriteStats() WriteStats {
	return WriteStats{Writes: d.nWrites.Load(), Commits: d.nCommits.Load(), Replays: d.nReplays.Load(),
		Synced: d.nSynced.Load()}
}

// batch runs first and the jobs queued behind it in one transaction. It
// returns a durable job it took from the queue but left for the next batch
// (this one is not synced), or nil.
func (d *DB) batch(first *job) (next *job) {
	var (
		todo    = []*job{first} // to run before taking more from the queue
		ran     []*job          // ran in the open transaction, waiting for its commit
		open    bool            // a transaction is open
		durable bool            // the open transaction commits with synchronous=FULL
		yields  int
	)
	rollback := func() {
		if d.wc.inTx() {
			if _, _, err := d.wc.exec("ROLLBACK", nil); err != nil {
				d.log.Debug("sqlite: rollback", slog.Any("err", err))
			}
		}
		open = false
	}
	for {
		var j *job
		switch {
		case len(todo) > 0:
			j, todo = todo[0], todo[1:]
		case len(ran) >= maxBatch:
		default:
			select {
			case j = <-d.jobs: // nil once closed and drained
			default:
				if yields < maxYields {
					yields++
					runtime.Gosched()
					continue
				}
			}
		}
		if j == nil {
			break
		}
		if open && j.durable && !durable {
			// Not for this NORMAL transaction: it starts the next batch.
			next = j
			break
		}
		if !j.started {
			if err := j.ctx.Err(); err != nil {
				j.done <- err
				continue
			}
			j.started = true
		}
		if !open {
			durable = j.durable
			for _, r := range todo {
				durable = durable || r.durable
			}
			level := qSyncNormal
			if durable {
				level = qSyncFull
			}
			err := d.setSynchronous(level)
			if err == nil {
				_, _, err = d.wc.exec("BEGIN IMMEDIATE", nil)
			}
			if err != nil {
				// Nothing ran in a transaction that survives: fail j and the
				// jobs waiting for a replay; the queue waits for the next batch.
				for _, f := range append([]*job{j}, todo...) {
					f.done <- err
				}
				return nil
			}
			open = true
		}
		t := &tx{c: d.wc, now: d.now()}
		err := t.run(j.fn)
		if err == nil && !d.wc.inTx() {
			err = errTxEnded
		}
		switch {
		case err == nil:
			ran = append(ran, j)
		case !t.wrote && !txLost(err) && d.wc.inTx():
			j.done <- err
		default:
			// j changed the database before it failed, or the transaction
			// may be gone: start again without j.
			rollback()
			j.done <- err
			d.nReplays.Add(int64(len(ran)))
			todo = append(ran, todo...)
			ran = nil
		}
	}
	if !open {
		return next
	}
	if len(ran) == 0 {
		rollback()
		return next
	}
	_, _, err := d.wc.exec("COMMIT", nil)
	if err == nil {
		d.nCommits.Add(1)
		d.nWrites.Add(int64(len(ran)))
		if durable {
			d.nSynced.Add(1)
		}
		d.ck.committed()
	} else {
		rollback()
	}
	for _, j := range ran {
		j.done <- err
	}
	return next
}

// The writer connection's synchronous settings: FULL for a batch carrying
// a durable write, NORMAL for others.
const (
	qSyncFull   = "PRAGMA synchronous = FULL"
	qSyncNormal = "PRAGMA synchronous = NORMAL"
)

// setSynchronous runs q (qSyncFull or qSyncNormal) on the writer
// connection, outside a transaction, unless it is in force already.
func (d *DB) setSynchronous(q string) error {
	if d.wcSync == q {
		return nil
	}
	// Prepared afresh each time (once): SQLite applies this pragma when it
	// prepares the statement, not when it runs it.
	if err := d.wc.once(q); err != nil {
		d.wcSync = "" // unknown: set it next time
		return err
	}
	d.wcSync = q
	return nil
}

// txLost reports whether a job's error may have ended the transaction or
// left it in a state the job did not choose: anything from SQLite but a
// constraint (which aborts only its own statement), and a panic.
func txLost(err error) bool {
	var p panicError
	if errors.As(err, &p) {
		return true
	}
	code, ok := sqliteCode(err)
	return ok && code&0xff != sqlite3.SQLITE_CONSTRAINT
}

// panicError is a panic in a job, turned into its error.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprintf("panic in write: %v", p.v) }

// run calls fn, turning a panic into an error so that one bad job cannot
// take the writer (and every caller) down.
func (t *tx) run(fn func(t *tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError{r}
		}
	}()
	return fn(t)
}

// stopWriter makes new writes fail, lets the writer finish the queued
// ones, and waits for it to stop.
func (d *DB) stopWriter() {
	if d.jobs == nil {
		return
	}
	d.closeMu.Lock()
	d.closed = true
	d.closeMu.Unlock()
	close(d.jobs)
	<-d.writerDone
}
