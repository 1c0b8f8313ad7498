package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

func testAcceptInbound(t *testing.T, s store.Store) {
	ctx := t.Context()
	received := t0.Add(-3 * time.Second)
	in := &store.Inbound{
		Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: "imap:INBOX:7:42", Blob: blobOf("a"),
		Size: 1234, Intent: message.IntentOrder, Queue: "orders", ReceivedAt: received, CardsMasked: 2,
	}
	created, err := s.AcceptInbound(ctx, in)
	if err != nil || !created || in.ID == 0 {
		t.Fatalf("AcceptInbound = %v, %v, id %d", created, err, in.ID)
	}
	if in.Status != store.StatusAccepted || !sameTime(in.ReceivedAt, received) {
		t.Fatalf("new row: status %q received %v", in.Status, in.ReceivedAt)
	}

	// The same source key again (a re-fetch) is the first row, whatever
	// the second attempt carried.
	again := &store.Inbound{
		Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: "imap:INBOX:7:42", Blob: blobOf("b"),
		Size: 99, Intent: message.IntentCase, Queue: "support",
	}
	created, err = s.AcceptInbound(ctx, again)
	if err != nil || created {
		t.Fatalf("second AcceptInbound = %v, %v; want existing row", created, err)
	}
	if again.ID != in.ID || again.Blob != in.Blob || again.Size != 1234 || again.Queue != "orders" ||
		again.Intent != message.IntentOrder || !sameTime(again.ReceivedAt, received) || again.CardsMasked != 2 {
		t.Fatalf("second AcceptInbound loaded %+v; want the first row %+v", again, in)
	}

	got, err := s.Inbound(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SourceKey != in.SourceKey || got.Source != "INBOX" || got.Channel != message.ChannelIMAP ||
		got.Status != store.StatusAccepted || got.UpdatedAt.IsZero() || got.CaseID != 0 || got.AckDone ||
		got.CardsMasked != 2 {
		t.Fatalf("Inbound = %+v", got)
	}
	if _, err := s.Inbound(ctx, in.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Inbound(missing): %v; want ErrNotFound", err)
	}
	if _, err := s.AcceptInbound(ctx, &store.Inbound{Channel: message.ChannelIMAP, Blob: blobOf("c")}); err == nil {
		t.Fatal("AcceptInbound without a source key succeeded")
	}
}

func testAcceptInboundConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	ins := make([]*store.Inbound, n)
	created := make([]bool, n)
	noErrors(t, parallel(n, func(i int) error {
		ins[i] = &store.Inbound{Channel: message.ChannelWebhook, Source: "form", SourceKey: "webhook:form:abc",
			Blob: blobOf("abc"), Size: 3}
		var err error
		created[i], err = s.AcceptInbound(ctx, ins[i])
		return err
	}))
	if c := countTrue(created); c != 1 {
		t.Fatalf("%d goroutines created the row; want 1", c)
	}
	for _, in := range ins {
		if in.ID != ins[0].ID {
			t.Fatalf("ids differ: %d vs %d", in.ID, ins[0].ID)
		}
	}
	// Distinct keys from many goroutines each get their own row.
	ids := make([]int64, 4*n)
	noErrors(t, parallel(len(ids), func(i int) error {
		in := &store.Inbound{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: keyN("imap:INBOX:1", i), Blob: blobOf("x"), Size: 1}
		_, err := s.AcceptInbound(ctx, in)
		ids[i] = in.ID
		return err
	}))
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 4*n {
		t.Fatalf("distinct keys did not get distinct rows: %v", ids)
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func testStatusTransitions(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := accept(t, s, "imap:INBOX:1:1")
	if _, err := s.Normalised(ctx, in.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Normalised before save: %v; want ErrNotFound", err)
	}
	if _, err := s.Classification(ctx, in.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Classification before save: %v; want ErrNotFound", err)
	}

	// Classification before normalisation does not skip a step.
	m := mail("first@example.net", "Ann@Example.net", "Printer")
	if err := s.SaveNormalised(ctx, in.ID, m); err != nil {
		t.Fatal(err)
	}
	if st := reload(t, s, in.ID).Status; st != store.StatusNormalised {
		t.Fatalf("after SaveNormalised: %q", st)
	}
	// Saving again replaces the message and keeps the status.
	m.Text = "replaced"
	if err := s.SaveNormalised(ctx, in.ID, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.Normalised(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "replaced" || got.MessageID != m.MessageID || got.From != m.From || got.Subject != m.Subject ||
		!got.Date.Equal(m.Date) || len(got.Attachments) != 1 || got.Attachments[0] != m.Attachments[0] ||
		len(got.Automation) != 1 || got.Automation[0] != m.Automation[0] {
		t.Fatalf("Normalised = %+v; want %+v", got, m)
	}

	c := store.Classification{Intent: message.IntentCase, Category: "hardware", Priority: store.PriorityUrgent, Queue: "l2", Rule: "kw:fire"}
	if err := s.SaveClassification(ctx, in.ID, c); err != nil {
		t.Fatal(err)
	}
	if gc, err := s.Classification(ctx, in.ID); err != nil || gc != c {
		t.Fatalf("Classification = %+v, %v; want %+v", gc, err, c)
	}
	if st := reload(t, s, in.ID).Status; st != store.StatusClassified {
		t.Fatalf("after SaveClassification: %q", st)
	}
	// A re-run of normalisation does not move the row back.
	if err := s.SaveNormalised(ctx, in.ID, m); err != nil {
		t.Fatal(err)
	}
	if st := reload(t, s, in.ID).Status; st != store.StatusClassified {
		t.Fatalf("SaveNormalised moved a classified row to %q", st)
	}

	cs, _, err := s.RegisterCase(ctx, store.NewCase{InboundID: in.ID, Kind: "incident", Priority: store.PriorityUrgent, Queue: "l2", Customer: "ann@example.net"})
	if err != nil {
		t.Fatal(err)
	}
	row := reload(t, s, in.ID)
	if row.Status != store.StatusRegistered || row.CaseID != cs.ID {
		t.Fatalf("after RegisterCase: status %q case %d", row.Status, row.CaseID)
	}
	if err := s.SetAutomated(ctx, in.ID, "auto-submitted"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAckDone(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	row = reload(t, s, in.ID)
	if row.Status != store.StatusRegistered || !row.AckDone || row.RouteDone || row.Automated != "auto-submitted" {
		t.Fatalf("after SetAckDone: %+v", row)
	}
	// Twice is harmless.
	if err := s.SetAckDone(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRouteDone(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if row = reload(t, s, in.ID); row.Status != store.StatusDone || !row.RouteDone {
		t.Fatalf("after SetRouteDone: %+v; want done", row)
	}
	if err := s.SetRouteDone(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	// Late re-runs of earlier steps leave a done row done.
	if err := s.SaveNormalised(ctx, in.ID, m); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveClassification(ctx, in.ID, c); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RegisterCase(ctx, store.NewCase{InboundID: in.ID, Kind: "incident", Queue: "l2"}); err != nil {
		t.Fatal(err)
	}
	if st := reload(t, s, in.ID).Status; st != store.StatusDone {
		t.Fatalf("re-run moved a done row to %q", st)
	}

	// The other order of the last two steps ends the same.
	in2, _ := openCase(t, s, "imap:INBOX:1:2", "second@example.net", "bob@example.net")
	if err := s.SetRouteDone(ctx, in2.ID); err != nil {
		t.Fatal(err)
	}
	if st := reload(t, s, in2.ID).Status; st != store.StatusRegistered {
		t.Fatalf("route done alone: %q", st)
	}
	if err := s.SetAckDone(ctx, in2.ID); err != nil {
		t.Fatal(err)
	}
	if st := reload(t, s, in2.ID).Status; st != store.StatusDone {
		t.Fatalf("route then ack: %q; want done", st)
	}

	for name, err := range map[string]error{
		"SaveNormalised":     s.SaveNormalised(ctx, 99999, m),
		"SaveClassification": s.SaveClassification(ctx, 99999, c),
		"SetAckDone":         s.SetAckDone(ctx, 99999),
		"SetRouteDone":       s.SetRouteDone(ctx, 99999),
		"SetAutomated":       s.SetAutomated(ctx, 99999, "x"),
	} {
		wantErr(t, name+" of a missing row", err, store.ErrNotFound)
	}
}

func testFailInbound(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := accept(t, s, "drop:scans:broken.pdf")
	if err := s.FailInbound(ctx, in.ID, "max_parts exceeded"); err != nil {
		t.Fatal(err)
	}
	row := reload(t, s, in.ID)
	if row.Status != store.StatusFailed || row.FailReason != "max_parts exceeded" || !row.Status.Final() {
		t.Fatalf("after FailInbound: %+v", row)
	}
	// A retry of the failing task keeps the first reason; later steps do
	// not revive the row.
	if err := s.FailInbound(ctx, in.ID, "something else"); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveNormalised(ctx, in.ID, mail("f@x", "f@example.net", "f")); err != nil {
		t.Fatal(err)
	}
	if row = reload(t, s, in.ID); row.Status != store.StatusFailed || row.FailReason != "max_parts exceeded" {
		t.Fatalf("after a second FailInbound: %+v", row)
	}
	wantErr(t, "FailInbound of a missing row", s.FailInbound(ctx, 99999, "x"), store.ErrNotFound)

	done, _ := openCase(t, s, "imap:INBOX:1:5", "done@example.net", "d@example.net")
	if err := s.SetAckDone(ctx, done.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRouteDone(ctx, done.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "FailInbound of a done row", s.FailInbound(ctx, done.ID, "late"), store.ErrConflict)
}

func testUnfinished(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := accept(t, s, "u:a")
	b := accept(t, s, "u:b")
	failed := accept(t, s, "u:failed")
	done, _ := openCase(t, s, "u:done", "u-done@example.net", "u@example.net")
	c := accept(t, s, "u:c")
	if err := s.FailInbound(ctx, failed.ID, "unreadable"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAckDone(ctx, done.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRouteDone(ctx, done.ID); err != nil {
		t.Fatal(err)
	}
	// Touch a last, so it becomes the most recently updated.
	if err := s.SaveNormalised(ctx, a.ID, mail("ua@x", "ua@example.net", "ua")); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	got, err := s.Unfinished(ctx, future, store.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, in := range got {
		ids = append(ids, in.ID)
	}
	if !slices.Equal(ids, []int64{b.ID, c.ID, a.ID}) {
		t.Fatalf("Unfinished = %v; want [%d %d %d] (oldest update first, no final rows)", ids, b.ID, c.ID, a.ID)
	}
	page, err := s.Unfinished(ctx, future, store.Cursor{}, 2)
	if err != nil || len(page) != 2 {
		t.Fatalf("Unfinished limit 2 = %d rows, %v", len(page), err)
	}
	// The next page starts after the last row of the first.
	rest, err := s.Unfinished(ctx, future, store.CursorOf(page[1]), 2)
	if err != nil || len(rest) != 1 || rest[0].ID != a.ID {
		t.Fatalf("Unfinished after %d = %+v, %v; want [%d]", page[1].ID, rest, err, a.ID)
	}
	if got, err := s.Unfinished(ctx, time.Now().Add(-24*time.Hour), store.Cursor{}, 100); err != nil || len(got) != 0 {
		t.Fatalf("Unfinished before yesterday = %d rows, %v; want none", len(got), err)
	}
}
