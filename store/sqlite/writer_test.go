package sqlite

import (
	"context"
	"errors"
	"fmt"
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
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- d.write(ctx, "first", func(t *tx) error {
			close(running)
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
