package storetest

import (
	"errors"
	"testing"

	"github.com/frontdesk/frontdesk/store"
)

func testAttachInbound(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, c := openCase(t, s, "att:1", "a1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	if err := s.SetCaseStatus(ctx, c.ID, store.CaseWaitingCustomer); err != nil {
		t.Fatal(err)
	}

	// A flagged message (an auto-reply) joins but leaves the case waiting.
	auto := accept(t, s, "att:auto")
	if err := s.SaveNormalised(ctx, auto.ID, mail("auto@example.net", "ann@example.net", "Out of office", "a1@example.net")); err != nil {
		t.Fatal(err)
	}
	if err := s.AttachInbound(ctx, auto.ID, ref, "auto-submitted"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Case(ctx, c.ID); got.Status != store.CaseWaitingCustomer {
		t.Fatalf("flagged message moved the case to %q", got.Status)
	}

	// The customer's reply joins and reopens it.
	reply := accept(t, s, "att:reply")
	if err := s.SaveNormalised(ctx, reply.ID, mail("reply@example.net", "ann@example.net", "Re: Printer", "a1@example.net")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.AttachInbound(ctx, reply.ID, ref, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Case(ctx, c.ID); got.Status != store.CaseOpen {
		t.Fatalf("customer reply left the case %q; want open", got.Status)
	}
	row := reload(t, s, reply.ID)
	if row.Status != store.StatusRegistered || row.CaseID != c.ID {
		t.Fatalf("attached row: %+v", row)
	}
	th, err := s.Thread(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(th) != 3 {
		t.Fatalf("thread has %d messages; want 3 (opener, auto-reply, reply)", len(th))
	}
	var flags []string
	for _, m := range th {
		flags = append(flags, m.Flag)
	}
	if th[1].InboundID != auto.ID || th[1].Flag != "auto-submitted" || th[2].InboundID != reply.ID || th[2].Flag != "" {
		t.Fatalf("thread order/flags: %v", flags)
	}
	if n := countEvents(t, s, ref, "message.attached"); n != 2 {
		t.Fatalf("%d message.attached events; want 2", n)
	}

	// RegisterCase for a message that joined a case returns that case.
	got, created, err := s.RegisterCase(ctx, store.NewCase{InboundID: reply.ID, Kind: "incident", Queue: "support"})
	if err != nil || created || got.ID != c.ID {
		t.Fatalf("RegisterCase of an attached message = %+v, %v, %v; want case %d", got, created, err, c.ID)
	}

	// A message is in one thread only.
	_, other := openCase(t, s, "att:2", "a2@example.net", "zed@example.net")
	wantErr(t, "attach to a second case", s.AttachInbound(ctx, reply.ID, store.Ref{CaseID: other.ID}, ""), store.ErrConflict)
	wantErr(t, "attach to a missing case", s.AttachInbound(ctx, accept(t, s, "att:3").ID, store.Ref{CaseID: 99999}, ""), store.ErrNotFound)
	wantErr(t, "attach a missing message", s.AttachInbound(ctx, 99999, ref, ""), store.ErrNotFound)
	if err := s.AttachInbound(ctx, reply.ID, store.Ref{}, ""); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("attach with an empty ref: %v; want an invalid-argument error", err)
	}
}

func testAttachInboundConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, c := openCase(t, s, "attc:1", "ac1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	follow := accept(t, s, "attc:2")
	noErrors(t, parallel(8, func(int) error { return s.AttachInbound(ctx, follow.ID, ref, "") }))
	th, err := s.Thread(ctx, ref)
	if err != nil || len(th) != 2 {
		t.Fatalf("thread has %d messages, %v; want 2", len(th), err)
	}
	if n := countEvents(t, s, ref, "message.attached"); n != 1 {
		t.Fatalf("%d message.attached events; want 1", n)
	}
}

func testFindThread(t *testing.T, s store.Store) {
	ctx := t.Context()
	in1, c1 := openCase(t, s, "ft:1", "opener-1@example.net", "ann@example.net")
	_, c2 := openCase(t, s, "ft:2", "opener-2@example.net", "bob@example.net")
	_, o := openOrder(t, s, "ft:3", "order-3@example.net")

	for _, tc := range []struct {
		ids  []string
		want store.Ref
	}{
		{[]string{"opener-1@example.net"}, store.Ref{CaseID: c1.ID}},
		{[]string{"<opener-2@example.net>"}, store.Ref{CaseID: c2.ID}},
		{[]string{"", "unknown@x", " <order-3@example.net> "}, store.Ref{OrderID: o.ID}},
		// The first listed ID that is known wins.
		{[]string{"opener-2@example.net", "opener-1@example.net"}, store.Ref{CaseID: c2.ID}},
		{[]string{"opener-1@example.net", "opener-2@example.net"}, store.Ref{CaseID: c1.ID}},
	} {
		got, err := s.FindThread(ctx, tc.ids)
		if err != nil || got != tc.want {
			t.Fatalf("FindThread(%q) = %+v, %v; want %+v", tc.ids, got, err, tc.want)
		}
	}
	for _, ids := range [][]string{nil, {""}, {"never-seen@example.net"}} {
		if _, err := s.FindThread(ctx, ids); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("FindThread(%q): %v; want ErrNotFound", ids, err)
		}
	}

	// Our acknowledgement's Message-ID finds its case as soon as it is
	// recorded, before it is sent: a fast reply still threads.
	ack := &store.Outbound{InboundID: in1.ID, Kind: "ack", Ref: store.Ref{CaseID: c1.ID},
		MessageID: "<ack.1.token@desk.example>", Recipient: "ann@example.net", Subject: "[C-1] Received", Template: "ack"}
	if _, err := s.CreateOutbound(ctx, ack); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindThread(ctx, []string{"ack.1.token@desk.example"}); err != nil || got != (store.Ref{CaseID: c1.ID}) {
		t.Fatalf("FindThread(pending ack) = %+v, %v", got, err)
	}
	ack.State = store.OutSent
	ack.Attempts = 1
	if err := s.UpdateOutbound(ctx, ack); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindThread(ctx, []string{"<ack.1.token@desk.example>"}); err != nil || got != (store.Ref{CaseID: c1.ID}) {
		t.Fatalf("FindThread(sent ack) = %+v, %v", got, err)
	}
	// A reply to the ack that joined the case is found through its own
	// Message-ID too.
	reply := accept(t, s, "ft:reply")
	if err := s.SaveNormalised(ctx, reply.ID, mail("reply-1@example.net", "ann@example.net", "Re", "ack.1.token@desk.example")); err != nil {
		t.Fatal(err)
	}
	if err := s.AttachInbound(ctx, reply.ID, store.Ref{CaseID: c1.ID}, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindThread(ctx, []string{"reply-1@example.net"}); err != nil || got != (store.Ref{CaseID: c1.ID}) {
		t.Fatalf("FindThread(reply) = %+v, %v", got, err)
	}
}

// openOrder accepts key, saves a message with Message-ID mid and registers
// an order for it.
func openOrder(t *testing.T, s store.Store, key, mid string) (*store.Inbound, *store.Order) {
	t.Helper()
	ctx := t.Context()
	in := accept(t, s, key)
	if err := s.SaveNormalised(ctx, in.ID, mail(mid, "shop@example.net", "Order")); err != nil {
		t.Fatal(err)
	}
	o, _, err := s.RegisterOrder(ctx, store.NewOrder{InboundID: in.ID, Queue: "orders", Customer: "shop@example.net"})
	if err != nil {
		t.Fatal(err)
	}
	return in, o
}
