package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

// waitFor polls cond until it holds (the test's deadline bounds it).
func waitFor(cond func() bool) {
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

// countKind counts the events of kind in the database.
func countKind(t *testing.T, d *DB, kind string) int {
	t.Helper()
	var n int
	if err := d.r.db.QueryRowContext(t.Context(), `SELECT count(*) FROM events WHERE kind = ?`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGroupCommit queues jobs behind a blocked one so that they run as one
// batch: failing and panicking jobs leave nothing behind and do not disturb
// the others, which are all committed.
func TestGroupCommit(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	release, running := make(chan struct{}), make(chan struct{})
	var once sync.Once
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- d.write(ctx, "first", func(t *tx) error {
			// A job may run again (replayed after a later job of its
			// batch failed having written).
			once.Do(func() { close(running) })
			<-release
			return t.event(store.Event{Kind: "first"})
		})
	}()
	<-running
	const n = 30
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = d.write(ctx, "job", func(t *tx) error {
				if err := t.event(store.Event{Kind: "ok", Detail: fmt.Sprint(i)}); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					// Wrote, then failed: the write must vanish.
					if err := t.event(store.Event{Kind: "leaked"}); err != nil {
						return err
					}
					return fmt.Errorf("job %d: %w", i, store.ErrConflict)
				case 2:
					if i == 2 {
						_ = t.event(store.Event{Kind: "leaked"})
						panic("boom")
					}
				}
				return nil
			})
		})
	}
	// Wait until every job is queued behind the blocked first one.
	waitFor(func() bool { return len(d.jobs) == n })
	before := d.WriteStats()
	close(release)
	wg.Wait()
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i, err := range errs {
		switch {
		case i%3 == 1:
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("job %d: %v; want its own ErrConflict", i, err)
			}
			failed++
		case i == 2:
			if err == nil || IsTemporary(err) {
				t.Errorf("panicking job: %v; want a permanent error", err)
			}
			failed++
		case err != nil:
			t.Errorf("job %d: %v", i, err)
		}
	}
	if got := countKind(t, d, "leaked"); got != 0 {
		t.Fatalf("%d writes of failed jobs were committed", got)
	}
	if got, want := countKind(t, d, "ok"), n-failed; got != want {
		t.Fatalf("%d writes of good jobs committed; want %d", got, want)
	}
	if countKind(t, d, "first") != 1 {
		t.Fatal("the first job's write is missing")
	}
	after := d.WriteStats()
	if after.Replays == before.Replays {
		t.Fatal("jobs that wrote and failed caused no replay")
	}
	if commits := after.Commits - before.Commits; commits != 1 {
		t.Fatalf("%d commits for one batch; want 1", commits)
	}
	if writes := after.Writes - before.Writes; writes != int64(1+n-failed) {
		t.Fatalf("%d writes counted; want %d", writes, 1+n-failed)
	}
}

// TestWriteCancelledBeforeRun: a job whose caller gave up while it was
// queued is not run.
func TestWriteCancelledBeforeRun(t *testing.T) {
	d := openTemp(t)
	release, running := make(chan struct{}), make(chan struct{})
	go func() {
		_ = d.write(t.Context(), "block", func(*tx) error { close(running); <-release; return nil })
	}()
	<-running
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- d.write(ctx, "cancelled", func(t *tx) error { return t.event(store.Event{Kind: "ran"}) })
	}()
	waitFor(func() bool { return len(d.jobs) == 1 })
	cancel()
	close(release)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled job: %v; want context.Canceled", err)
	}
	if countKind(t, d, "ran") != 0 {
		t.Fatal("a cancelled job ran")
	}
	if _, err := d.AcceptInbound(ctx, nil); err == nil {
		t.Fatal("write with a cancelled context succeeded")
	}
}

// TestCloseFinishesQueuedWrites: Close lets queued writes commit and makes
// later ones fail.
func TestCloseFinishesQueuedWrites(t *testing.T) {
	d, err := Open(t.Context(), t.TempDir()+"/fd.db", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	release, running := make(chan struct{}), make(chan struct{})
	results := make(chan error, 2)
	go func() {
		results <- d.write(t.Context(), "block", func(t *tx) error {
			close(running)
			<-release
			return t.event(store.Event{Kind: "a"})
		})
	}()
	<-running
	go func() {
		results <- d.write(t.Context(), "queued", func(t *tx) error { return t.event(store.Event{Kind: "b"}) })
	}()
	waitFor(func() bool { return len(d.jobs) == 1 })
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	close(release)
	for range 2 {
		if err := <-results; err != nil {
			t.Fatalf("queued write: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := d.Ping(t.Context()); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
	if err := d.AddEvent(t.Context(), store.Event{Kind: "late"}); !errors.Is(err, errClosed) {
		t.Fatalf("write after Close: %v; want errClosed", err)
	}
}

// queueBehind runs each of fns as a write from its own goroutine, in order,
// behind a write that blocks the writer until the returned release is
// called, so that they all run in one batch; wait returns their errors.
// The blocker is a durable write, so that durable writes among fns join
// its batch too (an ordinary batch leaves them for the next).
func queueBehind(t *testing.T, d *DB, fns ...func() error) (release func(), wait func() []error) {
	t.Helper()
	return queueBehindWith(t, d, d.writeDurable, fns...)
}

// queueBehindWith is queueBehind with the blocker queued by write (d.write
// or d.writeDurable).
func queueBehindWith(t *testing.T, d *DB, write func(context.Context, string, func(*tx) error) error,
	fns ...func() error) (release func(), wait func() []error) {
	t.Helper()
	ctx := t.Context()
	hold, running := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		_ = write(ctx, "block", func(*tx) error {
			once.Do(func() { close(running) })
			<-hold
			return nil
		})
	}()
	<-running
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
		waitFor(func() bool { return len(d.jobs) == i+1 })
	}
	return func() { close(hold) }, func() []error { wg.Wait(); return errs }
}

// TestReplayKeepsResults: when a job fails after writing, the jobs of its
// batch run again in a new transaction, and what they report (ids, created)
// is what was committed.
func TestReplayKeepsResults(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	opener := acceptKey(t, d, "replay:opener")
	var (
		in      = &store.Inbound{Channel: "imap", Source: "INBOX", SourceKey: "replay:new", Blob: strings.Repeat("b", 64), Size: 1}
		inNew   bool
		c       *store.Case
		cNew    bool
		w       = &store.WorkItem{Queue: "support", InboundID: opener.ID}
		wNew    bool
		boom    = errors.New("boom")
		runs    int
		before  = d.WriteStats()
		release func()
		wait    func() []error
	)
	release, wait = queueBehind(t, d,
		func() (err error) { inNew, err = d.AcceptInbound(ctx, in); return err },
		func() (err error) {
			c, cNew, err = d.RegisterCase(ctx, store.NewCase{InboundID: opener.ID, Kind: "incident", Queue: "support"})
			return err
		},
		func() error {
			return d.write(ctx, "fails", func(t *tx) error {
				runs++
				if err := t.event(store.Event{Kind: "leaked"}); err != nil {
					return err
				}
				return boom
			})
		},
		func() (err error) { wNew, err = d.EnsureWorkItem(ctx, w); return err },
	)
	release()
	errs := wait()
	if !errors.Is(errs[2], boom) {
		t.Fatalf("failing job: %v; want its own error", errs[2])
	}
	for i, err := range []error{errs[0], errs[1], errs[3]} {
		if err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	if runs != 1 {
		t.Fatalf("the failing job ran %d times; want 1", runs)
	}
	if after := d.WriteStats(); after.Replays-before.Replays < 3 {
		t.Fatalf("%d jobs replayed; want the 3 that ran before the failure (the blocker, accept, register)", after.Replays-before.Replays)
	}
	if got, err := d.Inbound(ctx, in.ID); err != nil || !inNew || got.SourceKey != "replay:new" {
		t.Fatalf("accepted row %d (created %v) reads %+v, %v", in.ID, inNew, got, err)
	}
	if got, err := d.Case(ctx, c.ID); err != nil || !cNew || got.InboundID != opener.ID {
		t.Fatalf("case %+v (created %v) reads %+v, %v", c, cNew, got, err)
	}
	if got, err := d.WorkItem(ctx, w.ID); err != nil || !wNew || got.InboundID != opener.ID {
		t.Fatalf("work item %+v (created %v) reads %+v, %v", w, wNew, got, err)
	}
	if n := countKind(t, d, "leaked"); n != 0 {
		t.Fatalf("the failed job's write was committed (%d)", n)
	}
	if n := countKind(t, d, "case.created"); n != 1 {
		t.Fatalf("%d case.created events; want 1", n)
	}
}

// TestCleanFailureNoReplay: a job that fails without having changed
// anything leaves its batch alone.
func TestCleanFailureNoReplay(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	before := d.WriteStats()
	release, wait := queueBehind(t, d,
		func() error { return d.AddEvent(ctx, store.Event{Kind: "kept"}) },
		func() error { return d.SetAckDone(ctx, 99999) },
		func() error {
			_, _, err := d.RegisterCase(ctx, store.NewCase{InboundID: 99999, Queue: "q"})
			return err
		},
		func() error { return d.AddEvent(ctx, store.Event{Kind: "kept"}) },
	)
	release()
	errs := wait()
	if errs[0] != nil || errs[3] != nil || !errors.Is(errs[1], store.ErrNotFound) || !errors.Is(errs[2], store.ErrNotFound) {
		t.Fatalf("errors = %v", errs)
	}
	if after := d.WriteStats(); after.Replays != before.Replays {
		t.Fatalf("%d replays for failures that changed nothing", after.Replays-before.Replays)
	}
	if n := countKind(t, d, "kept"); n != 2 {
		t.Fatalf("%d events kept; want 2", n)
	}
}

// TestJobEndingItsTransaction: a job that ends the transaction (here by
// hand; SQLite does after some errors) fails, and the others still commit.
func TestJobEndingItsTransaction(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	release, wait := queueBehind(t, d,
		func() error { return d.AddEvent(ctx, store.Event{Kind: "kept"}) },
		func() error {
			return d.write(ctx, "rogue", func(t *tx) error {
				_, err := t.exec("ROLLBACK")
				return err
			})
		},
		func() error { return d.AddEvent(ctx, store.Event{Kind: "kept"}) },
	)
	release()
	errs := wait()
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], errTxEnded) {
		t.Fatalf("errors = %v", errs)
	}
	if n := countKind(t, d, "kept"); n != 2 {
		t.Fatalf("%d events kept; want 2", n)
	}
}
