package sqlite

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

func acceptKey(t *testing.T, d *DB, key string) *store.Inbound {
	t.Helper()
	in := &store.Inbound{Channel: message.ChannelDrop, Source: "scans", SourceKey: key, Blob: strings.Repeat("a", 64), Size: 1}
	if _, err := d.AcceptInbound(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestFailedAndInboundEvents(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	a := acceptKey(t, d, "a")
	acceptKey(t, d, "ok")
	b := acceptKey(t, d, "b")
	for _, x := range []struct {
		id     int64
		reason string
	}{{a.ID, "max_parts exceeded (500)"}, {b.ID, "OCR timed out"}} {
		if err := d.FailInbound(ctx, x.id, x.reason); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Failed(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != b.ID || got[0].FailReason != "OCR timed out" || got[1].ID != a.ID {
		t.Fatalf("Failed = %+v; want b then a", got)
	}
	es, err := d.InboundEvents(ctx, a.ID)
	if err != nil || len(es) != 1 || es[0].Kind != "inbound.failed" || es[0].Detail != "max_parts exceeded (500)" {
		t.Fatalf("InboundEvents = %+v, %v", es, err)
	}
}

func TestWorkItemsListing(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var ids []int64
	for i, p := range []store.Priority{store.PriorityLow, store.PriorityUrgent, store.PriorityNormal} {
		in := acceptKey(t, d, "w"+string(rune('a'+i)))
		w := &store.WorkItem{Queue: "mailroom", InboundID: in.ID, Priority: p, CreatedAt: now.Add(time.Duration(i) * time.Minute)}
		if _, err := d.EnsureWorkItem(ctx, w); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID)
	}
	other := acceptKey(t, d, "other")
	if _, err := d.EnsureWorkItem(ctx, &store.WorkItem{Queue: "support", InboundID: other.ID}); err != nil {
		t.Fatal(err)
	}
	list := func(queue string, state store.WorkState) []int64 {
		t.Helper()
		ws, err := d.WorkItems(ctx, queue, state, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, w := range ws {
			out = append(out, w.ID)
		}
		return out
	}
	if got := list("mailroom", ""); !slices.Equal(got, []int64{ids[1], ids[2], ids[0]}) {
		t.Fatalf("live items in claim order = %v", got)
	}
	claimed, err := d.Claim(ctx, "mailroom", "csr", now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := list("mailroom", store.WorkClaimed); !slices.Equal(got, []int64{claimed.ID}) {
		t.Fatalf("claimed = %v", got)
	}
	if got := list("mailroom", store.WorkOpen); len(got) != 2 {
		t.Fatalf("open = %v", got)
	}
	if err := d.Complete(ctx, claimed.ID, "csr", now); err != nil {
		t.Fatal(err)
	}
	if got := list("", store.WorkDone); !slices.Equal(got, []int64{claimed.ID}) {
		t.Fatalf("done = %v", got)
	}
	if got := list("", ""); len(got) != 3 {
		t.Fatalf("all live = %v", got)
	}
	if _, err := d.WorkItems(ctx, "", "bogus", 0); err == nil {
		t.Fatal("unknown state accepted")
	}
}

func TestClearAddressFailing(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	if err := d.MarkAddressFailing(ctx, "Ann@Example.net", "550"); err != nil {
		t.Fatal(err)
	}
	if err := d.ClearAddressFailing(ctx, "ann@example.NET"); err != nil {
		t.Fatal(err)
	}
	if bad, err := d.AddressFailing(ctx, "ann@example.net"); err != nil || bad {
		t.Fatalf("AddressFailing after clearing = %v, %v", bad, err)
	}
}
