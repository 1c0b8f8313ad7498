package storetest

import (
	"testing"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// testReserve: a number reserved at accept is the one registering opens;
// cases and orders registered meanwhile never take it; a duplicate accept
// answers the same reservation.
func testReserve(t *testing.T, s store.Store) {
	ctx := t.Context()
	reserve := func(key string, intent message.Intent) *store.Inbound {
		t.Helper()
		in := &store.Inbound{Channel: message.ChannelForm, Source: "form:contact", SourceKey: key, Blob: blobOf(key),
			Size: 1, Intent: intent, Queue: "web", Reserve: intent}
		if _, err := s.AcceptInbound(ctx, in); err != nil {
			t.Fatalf("AcceptInbound(%s, reserve %s): %v", key, intent, err)
		}
		return in
	}
	rc := reserve("form:contact:1", message.IntentCase)
	ro := reserve("form:contact:2", message.IntentOrder)
	if rc.Reserved.CaseID == 0 || rc.Reserved.OrderID != 0 || rc.ReservedNumber == "" {
		t.Fatalf("case reservation = %+v %q", rc.Reserved, rc.ReservedNumber)
	}
	if ro.Reserved.OrderID == 0 || ro.Reserved.CaseID != 0 || ro.ReservedNumber == "" || ro.ReservedNumber == rc.ReservedNumber {
		t.Fatalf("order reservation = %+v %q", ro.Reserved, ro.ReservedNumber)
	}
	// A re-post is the same row with the same reservation.
	again := reserve("form:contact:1", message.IntentCase)
	if again.ID != rc.ID || again.Reserved != rc.Reserved || again.ReservedNumber != rc.ReservedNumber {
		t.Fatalf("duplicate accept = %+v; want the first reservation %+v", again, rc)
	}
	if got := reload(t, s, rc.ID); got.Reserved != rc.Reserved || got.ReservedNumber != rc.ReservedNumber {
		t.Fatalf("reloaded reservation = %+v %q", got.Reserved, got.ReservedNumber)
	}
	// Others registered in the meantime take other numbers.
	_, other := openCase(t, s, "imap:INBOX:77:1", "other@example.net", "bo@example.net")
	if other.ID == rc.Reserved.CaseID {
		t.Fatalf("an unreserved case took reserved number %s", rc.ReservedNumber)
	}
	plain := accept(t, s, "imap:INBOX:77:2")
	if plain.Reserved != (store.Ref{}) || plain.ReservedNumber != "" {
		t.Fatalf("unreserved row has reservation %+v", plain.Reserved)
	}
	po, _, err := s.RegisterOrder(ctx, store.NewOrder{InboundID: plain.ID, Priority: store.PriorityNormal, Queue: "orders",
		Channel: message.ChannelIMAP, Customer: "cy@example.net", Subject: "Order"})
	if err != nil || po.ID == ro.Reserved.OrderID {
		t.Fatalf("unreserved order = %+v, %v; reserved %s", po, err, ro.ReservedNumber)
	}
	// Registering the reserved rows opens exactly the reserved numbers.
	c, created, err := s.RegisterCase(ctx, store.NewCase{InboundID: rc.ID, Kind: "inquiry", Priority: store.PriorityNormal,
		Queue: "web", Channel: message.ChannelForm, Customer: "wendy@example.net", Subject: "Hello"})
	if err != nil || !created || c.ID != rc.Reserved.CaseID || c.Number != rc.ReservedNumber {
		t.Fatalf("RegisterCase(reserved) = %+v, %v, %v; want %s", c, created, err, rc.ReservedNumber)
	}
	o, created, err := s.RegisterOrder(ctx, store.NewOrder{InboundID: ro.ID, Priority: store.PriorityNormal, Queue: "web",
		Channel: message.ChannelForm, Customer: "wendy@example.net", Subject: "Order"})
	if err != nil || !created || o.ID != ro.Reserved.OrderID || o.Number != ro.ReservedNumber {
		t.Fatalf("RegisterOrder(reserved) = %+v, %v, %v; want %s", o, created, err, ro.ReservedNumber)
	}
	// And the next unreserved ones go past them.
	_, next := openCase(t, s, "imap:INBOX:77:3", "next@example.net", "di@example.net")
	if next.ID <= rc.Reserved.CaseID || next.ID == other.ID {
		t.Fatalf("next case %s after reserved %s and %s", next.Number, rc.ReservedNumber, other.Number)
	}
	bad := &store.Inbound{Channel: message.ChannelForm, Source: "f", SourceKey: "form:x:9", Blob: blobOf("x"), Reserve: "ticket"}
	if _, err := s.AcceptInbound(ctx, bad); err == nil {
		t.Fatal("reserving a ticket: no error")
	}
}
