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
	if err := ctx.Err(); err != nil {
		return d.wrap(op, err)
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
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
	for j := range d.jobs {
		d.batch(j)
	}
}

// WriteStats counts writes and the commits that carried them: Writes /
// Commits is the mean batch size of the group commit. Replays counts the
// jobs run again after another job of their batch failed having written.
type WriteStats struct {
	Writes  int64 // write calls committed
	Commits int64 // transactions committed
	Replays int64
}

// WriteStats returns the counts since Open.
func (d *DB) WriteStats() WriteStats {
	return WriteStats{Writes: d.nWrites.Load(), Commits: d.nCommits.Load(), Replays: d.nReplays.Load()}
}

// batch runs first and the jobs queued behind it in one transaction.
func (d *DB) batch(first *job) {
	var (
		todo   = []*job{first} // to run before taking more from the queue
		ran    []*job          // ran in the open transaction, waiting for its commit
		open   bool            // a transaction is open
		yields int
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
		if !j.started {
			if err := j.ctx.Err(); err != nil {
				j.done <- err
				continue
			}
			j.started = true
		}
		if !open {
			if _, _, err := d.wc.exec("BEGIN IMMEDIATE", nil); err != nil {
				// Nothing ran in a transaction that survives: fail j and the
				// jobs waiting for a replay; the queue waits for the next batch.
				for _, f := range append([]*job{j}, todo...) {
					f.done <- err
				}
				return
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
		return
	}
	if len(ran) == 0 {
		rollback()
		return
	}
	_, _, err := d.wc.exec("COMMIT", nil)
	if err == nil {
		d.nCommits.Add(1)
		d.nWrites.Add(int64(len(ran)))
		d.ck.committed()
	} else {
		rollback()
	}
	for _, j := range ran {
		j.done <- err
	}
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
