package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

func ackFor(in *store.Inbound, c *store.Case, mid string) *store.Outbound {
	return &store.Outbound{InboundID: in.ID, Kind: "ack", Ref: store.Ref{CaseID: c.ID}, MessageID: mid,
		Recipient: "ann@example.net", Subject: "[" + c.Number + "] We received your message", Template: "ack"}
}

func testOutbound(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "out:1", "o1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	o := ackFor(in, c, "<ack-1@desk.example>")
	created, err := s.CreateOutbound(ctx, o)
	if err != nil || !created || o.ID == 0 {
		t.Fatalf("CreateOutbound = %v, %v, id %d", created, err, o.ID)
	}
	if o.State != store.OutPending || o.MessageID != "ack-1@desk.example" || o.CreatedAt.IsZero() || o.Ref != ref {
		t.Fatalf("new outbound = %+v", o)
	}
	// A retry of the ack task generates a fresh Message-ID but gets the
	// record (and Message-ID) fixed by the first attempt.
	retry := ackFor(in, c, "<ack-1-retry@desk.example>")
	created, err = s.CreateOutbound(ctx, retry)
	if err != nil || created || retry.ID != o.ID || retry.MessageID != "ack-1@desk.example" {
		t.Fatalf("second CreateOutbound = %+v, %v, %v; want the first record", retry, created, err)
	}
	if _, err := s.OutboundByMessageID(ctx, "ack-1-retry@desk.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the retry's Message-ID was stored: %v", err)
	}
	// Another kind for the same message is another record; a Message-ID
	// in use is a conflict.
	other := ackFor(in, c, "<ack-1@desk.example>")
	other.Kind = "reply"
	_, err = s.CreateOutbound(ctx, other)
	wantErr(t, "CreateOutbound with a used Message-ID", err, store.ErrConflict)
	other.MessageID = "reply-1@desk.example"
	if created, err := s.CreateOutbound(ctx, other); err != nil || !created || other.ID == o.ID {
		t.Fatalf("CreateOutbound(kind reply) = %v, %v", created, err)
	}

	ghost := ackFor(in, c, "ghost@desk.example")
	ghost.InboundID = 99999
	_, err = s.CreateOutbound(ctx, ghost)
	wantErr(t, "CreateOutbound for a missing inbound", err, store.ErrNotFound)
	ghost = ackFor(in, c, "ghost@desk.example")
	ghost.Kind, ghost.Ref = "note", store.Ref{OrderID: 99999}
	_, err = s.CreateOutbound(ctx, ghost)
	wantErr(t, "CreateOutbound for a missing order", err, store.ErrNotFound)

	got, err := s.OutboundByMessageID(ctx, "<ack-1@desk.example>")
	if err != nil || got.ID != o.ID || got.Kind != "ack" || got.Recipient != "ann@example.net" || got.Template != "ack" {
		t.Fatalf("OutboundByMessageID = %+v, %v", got, err)
	}

	// A temporary failure, then success.
	o.Attempts, o.LastError = 1, "451 try again later"
	if err := s.UpdateOutbound(ctx, o); err != nil {
		t.Fatal(err)
	}
	if o.State != store.OutPending || o.Attempts != 1 || o.LastError != "451 try again later" {
		t.Fatalf("after a failed attempt: %+v", o)
	}
	if th, _ := s.Thread(ctx, ref); len(th) != 1 {
		t.Fatalf("pending mail joined the thread: %d messages", len(th))
	}
	sentAt := t0.Add(-time.Second)
	o.State, o.Attempts, o.LastError, o.SentAt = store.OutSent, 2, "", sentAt
	for range 2 {
		if err := s.UpdateOutbound(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if o.State != store.OutSent || !o.SentAt.Equal(sentAt) || o.Attempts != 2 {
		t.Fatalf("after sending: %+v", o)
	}
	th, outs := threadOut(ctx, t, s, ref)
	if len(th) != 2 || len(outs) != 1 || outs[0].MessageID != "ack-1@desk.example" || outs[0].InboundID != 0 ||
		outs[0].Ref != ref || !outs[0].CreatedAt.Equal(sentAt) {
		t.Fatalf("thread after sending = %+v; want the opener and one outbound message", th)
	}
	if n := countEvents(t, s, ref, "outbound.sent"); n != 1 {
		t.Fatalf("%d outbound.sent events; want 1", n)
	}
	// Sent mail is not un-sent; a later bounce may fail it.
	o.State = store.OutPending
	wantErr(t, "UpdateOutbound sent -> pending", s.UpdateOutbound(ctx, o), store.ErrConflict)
	o.State, o.Reason = store.OutFailed, "550 mailbox unavailable"
	if err := s.UpdateOutbound(ctx, o); err != nil {
		t.Fatalf("UpdateOutbound sent -> failed: %v", err)
	}
	missing := *o
	missing.ID = 99999
	wantErr(t, "UpdateOutbound of a missing record", s.UpdateOutbound(ctx, &missing), store.ErrNotFound)

	// Suppressed mail records why.
	in2, c2 := openCase(t, s, "out:2", "o2@example.net", "bot@example.net")
	sup := ackFor(in2, c2, "ack-2@desk.example")
	if _, err := s.CreateOutbound(ctx, sup); err != nil {
		t.Fatal(err)
	}
	sup.State, sup.Reason = store.OutSuppressed, "auto-submitted"
	if err := s.UpdateOutbound(ctx, sup); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.OutboundByMessageID(ctx, "ack-2@desk.example"); got.State != store.OutSuppressed || got.Reason != "auto-submitted" {
		t.Fatalf("suppressed record = %+v", got)
	}
}

func testOutboundConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "outc:1", "oc1@example.net", "ann@example.net")
	const n = 8
	ids := make([]int64, n)
	mids := make([]string, n)
	created := make([]bool, n)
	noErrors(t, parallel(n, func(i int) error {
		o := ackFor(in, c, fmt.Sprintf("ack-%d@desk.example", i))
		var err error
		created[i], err = s.CreateOutbound(ctx, o)
		ids[i], mids[i] = o.ID, o.MessageID
		return err
	}))
	if c := countTrue(created); c != 1 {
		t.Fatalf("%d records created; want 1", c)
	}
	for i := range ids {
		if ids[i] != ids[0] || mids[i] != mids[0] {
			t.Fatalf("records differ: %v %v", ids, mids)
		}
	}
}

func testCountSent(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "cnt:1", "cnt1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	_, other := openCase(t, s, "cnt:2", "cnt2@example.net", "bob@example.net")
	add := func(kind, rcpt string, ref store.Ref, state store.OutboundState, created, sent time.Time) {
		t.Helper()
		o := &store.Outbound{InboundID: in.ID, Kind: kind, Ref: ref, MessageID: kind + "@desk.example",
			Recipient: rcpt, Subject: "s", Template: "ack", CreatedAt: created}
		if _, err := s.CreateOutbound(ctx, o); err != nil {
			t.Fatal(err)
		}
		if state != store.OutPending {
			o.State, o.SentAt = state, sent
			if err := s.UpdateOutbound(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	add("p-20m", "ann@example.net", ref, store.OutPending, t0.Add(-20*time.Minute), time.Time{})
	add("p-5m", "ANN@example.net", ref, store.OutPending, t0.Add(-5*time.Minute), time.Time{})
	// Created long ago, sent recently: it counts from its sending.
	add("s-2m", "ann@example.net", ref, store.OutSent, t0.Add(-30*time.Minute), t0.Add(-2*time.Minute))
	add("s-15m", "ann@example.net", ref, store.OutSent, t0.Add(-16*time.Minute), t0.Add(-15*time.Minute))
	add("suppressed", "ann@example.net", ref, store.OutSuppressed, t0.Add(-time.Minute), time.Time{})
	add("failed", "ann@example.net", ref, store.OutFailed, t0.Add(-time.Minute), time.Time{})
	add("other-case", "ann@example.net", store.Ref{CaseID: other.ID}, store.OutSent, t0.Add(-time.Minute), t0.Add(-time.Minute))
	add("other-rcpt", "bob@example.net", ref, store.OutPending, t0.Add(-time.Minute), time.Time{})

	for _, tc := range []struct {
		rcpt          string
		ref           store.Ref
		since         time.Time
		toRcpt, toRef int
	}{
		{"ann@example.net", ref, t0.Add(-10 * time.Minute), 3, 3}, // p-5m, s-2m, other-case | p-5m, s-2m, other-rcpt
		{"Ann@Example.NET", ref, t0.Add(-60 * time.Minute), 5, 5}, // + p-20m, s-15m
		{"ann@example.net", ref, t0.Add(-3 * time.Minute), 2, 2},  // s-2m, other-case | s-2m, other-rcpt
		{"ann@example.net", ref, t0.Add(time.Minute), 0, 0},       // nothing in the future
		{"nobody@example.net", store.Ref{}, t0.Add(-time.Hour), 0, 0},
		{"", store.Ref{CaseID: other.ID}, t0.Add(-time.Hour), 0, 1},
	} {
		toRcpt, toRef, err := s.CountSent(ctx, tc.rcpt, tc.ref, tc.since)
		if err != nil || toRcpt != tc.toRcpt || toRef != tc.toRef {
			t.Errorf("CountSent(%s, %+v, since %v) = %d, %d, %v; want %d, %d",
				tc.rcpt, tc.ref, t0.Sub(tc.since), toRcpt, toRef, err, tc.toRcpt, tc.toRef)
		}
	}
}

func testAddressFailing(t *testing.T, s store.Store) {
	ctx := t.Context()
	if bad, err := s.AddressFailing(ctx, "ann@example.net"); err != nil || bad {
		t.Fatalf("AddressFailing before marking = %v, %v", bad, err)
	}
	for range 2 {
		if err := s.MarkAddressFailing(ctx, "Ann@Example.NET", "550 5.1.1 user unknown"); err != nil {
			t.Fatal(err)
		}
	}
	if bad, err := s.AddressFailing(ctx, "ann@example.net"); err != nil || !bad {
		t.Fatalf("AddressFailing after marking = %v, %v", bad, err)
	}
	if bad, err := s.AddressFailing(ctx, "bob@example.net"); err != nil || bad {
		t.Fatalf("AddressFailing of another address = %v, %v", bad, err)
	}
}

// threadOut returns the thread of ref and its outgoing messages.
func threadOut(ctx context.Context, t *testing.T, s store.Store, ref store.Ref) (all, out []store.ThreadMessage) {
	t.Helper()
	all, err := s.Thread(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.Direction == store.DirOut {
			out = append(out, m)
		}
	}
	return all, out
}
