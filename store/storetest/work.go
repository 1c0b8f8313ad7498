package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

func testEnsureWorkItem(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "wi:1", "wi1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	due := t0.Add(4 * time.Hour)
	w := &store.WorkItem{Queue: "support", Ref: ref, InboundID: in.ID, Priority: store.PriorityHigh, DueAt: due}
	created, err := s.EnsureWorkItem(ctx, w)
	if err != nil || !created || w.ID == 0 {
		t.Fatalf("EnsureWorkItem = %v, %v, id %d", created, err, w.ID)
	}
	if w.State != store.WorkOpen || !w.DueAt.Equal(due) || w.Priority != store.PriorityHigh || w.Ref != ref ||
		w.InboundID != in.ID || w.CreatedAt.IsZero() || w.LeaseOwner != "" {
		t.Fatalf("new work item = %+v", w)
	}
	again := &store.WorkItem{Queue: "support", Ref: ref, InboundID: in.ID}
	if created, err := s.EnsureWorkItem(ctx, again); err != nil || created || again.ID != w.ID {
		t.Fatalf("second EnsureWorkItem = %+v, %v, %v", again, created, err)
	}
	// A follow-up for the same case while its item is open: the item stands.
	follow := accept(t, s, "wi:follow")
	if err := s.AttachInbound(ctx, follow.ID, ref, ""); err != nil {
		t.Fatal(err)
	}
	fw := &store.WorkItem{Queue: "support", Ref: ref, InboundID: follow.ID}
	if created, err := s.EnsureWorkItem(ctx, fw); err != nil || created || fw.ID != w.ID {
		t.Fatalf("EnsureWorkItem for a follow-up = %+v, %v, %v; want item %d", fw, created, err, w.ID)
	}
	// Claimed still counts as live.
	if _, err := s.Claim(ctx, "support", "csr1", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if created, err := s.EnsureWorkItem(ctx, &store.WorkItem{Queue: "support", Ref: ref, InboundID: follow.ID}); err != nil || created {
		t.Fatalf("EnsureWorkItem while claimed = %v, %v", created, err)
	}
	if err := s.Complete(ctx, w.ID, "csr1", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// Once done, a new follow-up opens new work.
	late := accept(t, s, "wi:late")
	if err := s.AttachInbound(ctx, late.ID, ref, ""); err != nil {
		t.Fatal(err)
	}
	lw := &store.WorkItem{Queue: "support", Ref: ref, InboundID: late.ID}
	if created, err := s.EnsureWorkItem(ctx, lw); err != nil || !created || lw.ID == w.ID {
		t.Fatalf("EnsureWorkItem after completion = %+v, %v, %v; want a new item", lw, created, err)
	}
	if lw.Priority != store.PriorityNormal || !lw.DueAt.IsZero() {
		t.Fatalf("defaults: priority %q due %v", lw.Priority, lw.DueAt)
	}

	// Intake failures: work pointing at an inbound only.
	bad := accept(t, s, "wi:bad")
	if err := s.FailInbound(ctx, bad.ID, "max_depth exceeded"); err != nil {
		t.Fatal(err)
	}
	bw := &store.WorkItem{Queue: "mailroom", InboundID: bad.ID, Reason: "max_depth exceeded"}
	if created, err := s.EnsureWorkItem(ctx, bw); err != nil || !created || bw.Reason != "max_depth exceeded" || !bw.Ref.IsZero() {
		t.Fatalf("EnsureWorkItem(failure) = %+v, %v, %v", bw, created, err)
	}
	if got, err := s.WorkItem(ctx, bw.ID); err != nil || got.InboundID != bad.ID || got.Queue != "mailroom" {
		t.Fatalf("WorkItem = %+v, %v", got, err)
	}
	if _, err := s.WorkItem(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("WorkItem(missing): %v", err)
	}
	_, err = s.EnsureWorkItem(ctx, &store.WorkItem{Queue: "support", InboundID: 99999})
	wantErr(t, "EnsureWorkItem for a missing inbound", err, store.ErrNotFound)
	_, err = s.EnsureWorkItem(ctx, &store.WorkItem{Queue: "support", Ref: store.Ref{CaseID: 99999}})
	wantErr(t, "EnsureWorkItem for a missing case", err, store.ErrNotFound)
	if _, err := s.EnsureWorkItem(ctx, &store.WorkItem{Queue: "support"}); err == nil {
		t.Fatal("EnsureWorkItem without inbound or ref succeeded")
	}
	if n := countEvents(t, s, ref, "work.created"); n != 2 {
		t.Fatalf("%d work.created events; want 2", n)
	}
}

func testEnsureWorkItemConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "wic:1", "wic1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	// The same inbound from several goroutines, and several follow-ups of
	// the same case at once: one item stands.
	var ins []*store.Inbound
	ins = append(ins, in)
	for i := range 3 {
		f := accept(t, s, keyN("wic:f", i))
		if err := s.AttachInbound(ctx, f.ID, ref, ""); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, f)
	}
	const n = 12
	ids := make([]int64, n)
	created := make([]bool, n)
	noErrors(t, parallel(n, func(i int) error {
		w := &store.WorkItem{Queue: "support", Ref: ref, InboundID: ins[i%len(ins)].ID}
		var err error
		created[i], err = s.EnsureWorkItem(ctx, w)
		ids[i] = w.ID
		return err
	}))
	if c := countTrue(created); c != 1 {
		t.Fatalf("%d items created; want 1", c)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("items differ: %v", ids)
		}
	}
}

// queueItem makes an inbound-only work item with the given ordering keys.
func queueItem(t *testing.T, s store.Store, queue, key string, p store.Priority, due, created time.Time) int64 {
	t.Helper()
	in := accept(t, s, key)
	w := &store.WorkItem{Queue: queue, InboundID: in.ID, Priority: p, DueAt: due, CreatedAt: created}
	if _, err := s.EnsureWorkItem(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	if !w.CreatedAt.Equal(created) {
		t.Fatalf("CreatedAt %v not kept; want %v", w.CreatedAt, created)
	}
	return w.ID
}

func testClaimOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	var none time.Time
	// Made in an order unrelated to the claim order.
	lowOld := queueItem(t, s, "q", "co:low-old", store.PriorityLow, none, t0.Add(-10*time.Hour))
	normNoDueOld := queueItem(t, s, "q", "co:norm-nodue-old", store.PriorityNormal, none, t0.Add(-9*time.Hour))
	normDueLate := queueItem(t, s, "q", "co:norm-due-late", store.PriorityNormal, t0.Add(3*time.Hour), t0.Add(-time.Hour))
	normDueSoon := queueItem(t, s, "q", "co:norm-due-soon", store.PriorityNormal, t0.Add(time.Hour), t0.Add(-time.Minute))
	normNoDueNew := queueItem(t, s, "q", "co:norm-nodue-new", store.PriorityNormal, none, t0.Add(-time.Minute))
	urgentNew := queueItem(t, s, "q", "co:urgent-new", store.PriorityUrgent, none, t0.Add(-time.Second))
	highDueSameA := queueItem(t, s, "q", "co:high-a", store.PriorityHigh, t0.Add(time.Hour), t0.Add(-3*time.Hour))
	highDueSameB := queueItem(t, s, "q", "co:high-b", store.PriorityHigh, t0.Add(time.Hour), t0.Add(-4*time.Hour))
	elsewhere := queueItem(t, s, "other", "co:other", store.PriorityUrgent, none, t0.Add(-20*time.Hour))

	want := []int64{urgentNew, highDueSameB, highDueSameA, normDueSoon, normDueLate, normNoDueOld, normNoDueNew, lowOld}
	var got []int64
	for range want {
		w, err := s.Claim(ctx, "q", "csr1", t0, 10*time.Minute)
		if err != nil {
			t.Fatalf("Claim after %v: %v", got, err)
		}
		if w.State != store.WorkClaimed || w.LeaseOwner != "csr1" || !w.LeaseExpires.Equal(t0.Add(10*time.Minute)) || w.Queue != "q" {
			t.Fatalf("claimed item = %+v", w)
		}
		got = append(got, w.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("claim order = %v; want %v", got, want)
	}
	if _, err := s.Claim(ctx, "q", "csr1", t0, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Claim of an empty queue: %v; want ErrNotFound", err)
	}
	if w, err := s.Claim(ctx, "other", "csr2", t0, time.Minute); err != nil || w.ID != elsewhere {
		t.Fatalf("Claim(other) = %+v, %v", w, err)
	}
	if _, err := s.Claim(ctx, "nonexistent", "csr1", t0, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Claim of an unknown queue: %v; want ErrNotFound", err)
	}
}

func testLeaseExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, c := openCase(t, s, "le:1", "le1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	w := &store.WorkItem{Queue: "support", Ref: ref, InboundID: c.InboundID}
	if _, err := s.EnsureWorkItem(ctx, w); err != nil {
		t.Fatal(err)
	}
	lease := time.Minute
	first, err := s.Claim(ctx, "support", "alice", t0, lease)
	if err != nil || first.ID != w.ID {
		t.Fatalf("Claim = %+v, %v", first, err)
	}
	// Leased: nobody else gets it, not even just before expiry.
	for _, at := range []time.Time{t0, t0.Add(30 * time.Second), t0.Add(lease - time.Nanosecond)} {
		if _, err := s.Claim(ctx, "support", "bob", at, lease); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Claim during the lease (at +%v): %v; want ErrNotFound", at.Sub(t0), err)
		}
	}
	// Alice renews at +50s: the lease now runs to +110s.
	r, err := s.Renew(ctx, w.ID, "alice", t0.Add(50*time.Second), lease)
	if err != nil || !r.LeaseExpires.Equal(t0.Add(110*time.Second)) {
		t.Fatalf("Renew = %+v, %v", r, err)
	}
	if _, err := s.Claim(ctx, "support", "bob", t0.Add(100*time.Second), lease); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Claim inside the renewed lease: %v", err)
	}
	wantErr(t, "Renew by a non-holder", errOnly(s.Renew(ctx, w.ID, "bob", t0.Add(60*time.Second), lease)), store.ErrConflict)
	wantErr(t, "Release by a non-holder", s.Release(ctx, w.ID, "bob", t0.Add(60*time.Second)), store.ErrConflict)
	wantErr(t, "Complete by a non-holder", s.Complete(ctx, w.ID, "bob", t0.Add(60*time.Second)), store.ErrConflict)

	// Alice vanishes; after expiry Bob gets the item.
	expired := t0.Add(110 * time.Second)
	second, err := s.Claim(ctx, "support", "bob", expired, lease)
	if err != nil || second.ID != w.ID || second.LeaseOwner != "bob" {
		t.Fatalf("Claim after expiry = %+v, %v", second, err)
	}
	wantErr(t, "Renew by the expired holder", errOnly(s.Renew(ctx, w.ID, "alice", expired, lease)), store.ErrConflict)
	wantErr(t, "Complete by the expired holder", s.Complete(ctx, w.ID, "alice", expired), store.ErrConflict)
	// Bob's own lease, once expired, cannot be completed either.
	wantErr(t, "Complete after one's lease expired", s.Complete(ctx, w.ID, "bob", expired.Add(lease)), store.ErrConflict)

	if err := s.Release(ctx, w.ID, "bob", expired.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.WorkItem(ctx, w.ID); got.State != store.WorkOpen || got.LeaseOwner != "" {
		t.Fatalf("after Release: %+v", got)
	}
	third, err := s.Claim(ctx, "support", "carol", expired.Add(2*time.Second), lease)
	if err != nil || third.ID != w.ID {
		t.Fatalf("Claim after release = %+v, %v", third, err)
	}
	doneAt := expired.Add(3 * time.Second)
	if err := s.Complete(ctx, w.ID, "carol", doneAt); err != nil {
		t.Fatal(err)
	}
	got, err := s.WorkItem(ctx, w.ID)
	if err != nil || got.State != store.WorkDone || !got.CompletedAt.Equal(doneAt) {
		t.Fatalf("after Complete: %+v, %v", got, err)
	}
	wantErr(t, "Complete twice", s.Complete(ctx, w.ID, "carol", doneAt), store.ErrConflict)
	if _, err := s.Claim(ctx, "support", "dave", doneAt.Add(time.Hour), lease); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Claim of a done item: %v", err)
	}
	wantErr(t, "Release of a missing item", s.Release(ctx, 99999, "x", t0), store.ErrNotFound)
	wantErr(t, "Renew of a missing item", errOnly(s.Renew(ctx, 99999, "x", t0, lease)), store.ErrNotFound)

	claims := 0
	for _, e := range mustEvents(t, s, ref) {
		if e.Kind == "work.claimed" {
			claims++
		}
	}
	if claims != 3 {
		t.Fatalf("%d work.claimed events; want 3", claims)
	}
	if countEvents(t, s, ref, "work.completed") != 1 || countEvents(t, s, ref, "work.released") != 1 {
		t.Fatal("missing work.completed or work.released event")
	}
}

func errOnly(_ *store.WorkItem, err error) error { return err }

func mustEvents(t *testing.T, s store.Store, ref store.Ref) []store.Event {
	t.Helper()
	es, err := s.Events(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func testClaimConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const items, workers = 24, 8
	for i := range items {
		queueItem(t, s, "burst", keyN("cc", i), store.PriorityNormal, time.Time{}, t0.Add(time.Duration(i)*time.Second))
	}
	var mu sync.Mutex
	seen := make(map[int64]string)
	errs := parallel(workers, func(i int) error {
		owner := fmt.Sprintf("csr%d", i)
		for {
			w, err := s.Claim(ctx, "burst", owner, t0.Add(time.Hour), time.Minute)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			prev, dup := seen[w.ID]
			seen[w.ID] = owner
			mu.Unlock()
			if dup {
				return fmt.Errorf("item %d claimed by %s and %s", w.ID, prev, owner)
			}
		}
	})
	noErrors(t, errs)
	if len(seen) != items {
		t.Fatalf("%d items claimed; want %d", len(seen), items)
	}
}

func testQueues(t *testing.T, s store.Store) {
	ctx := t.Context()
	queueItem(t, s, "billing", "qs:1", store.PriorityNormal, time.Time{}, t0.Add(-30*time.Minute))
	queueItem(t, s, "billing", "qs:2", store.PriorityNormal, time.Time{}, t0.Add(-10*time.Minute))
	queueItem(t, s, "billing", "qs:3", store.PriorityUrgent, time.Time{}, t0.Add(-5*time.Minute))
	queueItem(t, s, "support", "qs:4", store.PriorityNormal, time.Time{}, t0.Add(-2*time.Minute))
	done := queueItem(t, s, "archive", "qs:5", store.PriorityNormal, time.Time{}, t0.Add(-time.Hour))
	// The urgent one is claimed for 10 minutes; the archive one done.
	if w, err := s.Claim(ctx, "billing", "csr", t0, 10*time.Minute); err != nil || w.Priority != store.PriorityUrgent {
		t.Fatalf("Claim = %+v, %v", w, err)
	}
	if _, err := s.Claim(ctx, "archive", "csr", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, done, "csr", t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Queues(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	byName := func(a, b store.QueueStats) int { return strings.Compare(a.Queue, b.Queue) }
	slices.SortFunc(got, byName)
	want := []store.QueueStats{
		{Queue: "billing", Open: 2, Claimed: 1, OldestAge: 30 * time.Minute},
		{Queue: "support", Open: 1, Claimed: 0, OldestAge: 2 * time.Minute},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Queues = %+v; want %+v", got, want)
	}
	// After the lease expires the claimed item counts as open again.
	got, err = s.Queues(ctx, t0.Add(11*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, byName)
	if len(got) != 2 || got[0].Open != 3 || got[0].Claimed != 0 || got[0].OldestAge != 41*time.Minute {
		t.Fatalf("Queues after expiry = %+v", got)
	}
}
