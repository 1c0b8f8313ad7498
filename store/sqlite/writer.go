package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
)

// Group commit. SQLite has one writer, so every write is a job for one
// goroutine that owns the write connection. It runs the first queued job,
// then every job that queued meanwhile (up to maxBatch), each inside its
// own SAVEPOINT, in one BEGIN IMMEDIATE transaction, and commits once: a
// commit's cost (WAL frames, locks) is shared by the batch. A job that fails
// is rolled back to its savepoint and only its caller sees the error; a
// caller learns of success only after the COMMIT. If the transaction itself
// is lost (a full disk, an I/O error) every job of the batch fails, and its
// callers retry.
//
// The queue holds maxBatch jobs, so callers rarely wait to hand one over.
//
// Statements run under the writer's own context: cancelling one caller's
// context must not interrupt (and so roll back) a transaction that carries
// other callers' work. A caller's context is honoured until its job starts.

const maxBatch = 64

// errClosed is returned for writes after Close.
var errClosed = errors.New("database is closed")

type job struct {
	ctx  context.Context
	fn   func(t *tx) error
	done chan error // buffered: the writer never blocks on delivery
}

// startWriter starts the writer goroutine; bg must never be cancelled.
func (d *DB) startWriter(bg context.Context) {
	d.jobs = make(chan *job, maxBatch)
	d.writerDone = make(chan struct{})
	d.bg = bg
	go d.writer()
}

// write runs fn in a write transaction and returns once it is committed (or
// failed). Errors are wrapped with op and classified (see Error).
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
// Commits is the mean batch size of the group commit.
type WriteStats struct {
	Writes  int64 // write calls committed
	Commits int64 // transactions committed
}

// WriteStats returns the counts since Open.
func (d *DB) WriteStats() WriteStats {
	return WriteStats{Writes: d.nWrites.Load(), Commits: d.nCommits.Load()}
}

// batch runs first and the jobs queued behind it in one transaction.
func (d *DB) batch(first *job) {
	if err := first.ctx.Err(); err != nil {
		first.done <- err
		return
	}
	sqltx, err := d.w.db.BeginTx(d.bg, nil)
	if err != nil {
		first.done <- err
		return
	}
	rollback := func() {
		if err := sqltx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			d.log.Debug("sqlite: rollback", slog.Any("err", err))
		}
	}
	// The first job needs no savepoint: if it fails, nothing else is in
	// the transaction yet.
	if err := d.newTx(sqltx).run(first.fn); err != nil {
		rollback()
		first.done <- err
		return
	}
	ran := []*job{first}
	for n := 1; n < maxBatch; n++ {
		var j *job
		select {
		case j = <-d.jobs: // nil once closed and drained
		default:
		}
		if j == nil {
			break
		}
		if err := j.ctx.Err(); err != nil {
			j.done <- err
			continue
		}
		err := d.runSaved(sqltx, j)
		if err == nil {
			ran = append(ran, j)
			continue
		}
		j.done <- err
		if errors.Is(err, errTxLost) {
			rollback()
			for _, r := range ran {
				r.done <- fmt.Errorf("transaction shared with other writes failed: %w", err)
			}
			return
		}
	}
	err = sqltx.Commit()
	if err == nil {
		d.nCommits.Add(1)
		d.nWrites.Add(int64(len(ran)))
	}
	for _, j := range ran {
		j.done <- err
	}
}

func (d *DB) newTx(sqltx *sql.Tx) *tx {
	return &tx{ctx: d.bg, tx: sqltx, p: d.w, now: d.now()}
}

// errTxLost marks an error after which the batch's transaction is gone.
var errTxLost = errors.New("transaction lost")

// runSaved runs j inside a savepoint of sqltx. On a job error the
// savepoint is rolled back and the error returned; if that fails the
// transaction is gone and the error also wraps errTxLost.
func (d *DB) runSaved(sqltx *sql.Tx, j *job) error {
	if _, err := sqltx.ExecContext(d.bg, "SAVEPOINT job"); err != nil {
		return fmt.Errorf("%w: %w", errTxLost, err)
	}
	err := d.newTx(sqltx).run(j.fn)
	if err == nil {
		if _, rerr := sqltx.ExecContext(d.bg, "RELEASE job"); rerr != nil {
			return fmt.Errorf("%w: %w", errTxLost, rerr)
		}
		return nil
	}
	if _, rerr := sqltx.ExecContext(d.bg, "ROLLBACK TO job"); rerr != nil {
		return fmt.Errorf("%w (%w: %w)", err, errTxLost, rerr)
	}
	if _, rerr := sqltx.ExecContext(d.bg, "RELEASE job"); rerr != nil {
		return fmt.Errorf("%w (%w: %w)", err, errTxLost, rerr)
	}
	return err
}

// run calls fn, turning a panic into an error so that one bad job cannot
// take the writer (and every caller) down.
func (t *tx) run(fn func(t *tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in write: %v", r)
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
