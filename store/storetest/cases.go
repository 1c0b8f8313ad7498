package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

func testRegisterCase(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := accept(t, s, "imap:INBOX:9:1")
	if err := s.SaveNormalised(ctx, in.ID, mail("opener@example.net", "ann@example.net", "Printer on fire")); err != nil {
		t.Fatal(err)
	}
	nc := store.NewCase{InboundID: in.ID, Kind: "incident", Category: "hardware", Priority: store.PriorityHigh,
		Queue: "support", Channel: message.ChannelIMAP, Customer: "Ann@Example.NET", Subject: "Printer on fire"}
	c, created, err := s.RegisterCase(ctx, nc)
	if err != nil || !created {
		t.Fatalf("RegisterCase = %v, %v", created, err)
	}
	if c.ID == 0 || c.Number != fmt.Sprintf("C-%06d", c.ID) || c.Status != store.CaseOpen || c.Kind != "incident" ||
		c.Category != "hardware" || c.Priority != store.PriorityHigh || c.Queue != "support" ||
		c.Channel != message.ChannelIMAP || c.Customer != "ann@example.net" || c.Subject != "Printer on fire" ||
		c.InboundID != in.ID || c.CreatedAt.IsZero() {
		t.Fatalf("case = %+v", c)
	}
	again, created, err := s.RegisterCase(ctx, nc)
	if err != nil || created || again.ID != c.ID {
		t.Fatalf("second RegisterCase = %+v, %v, %v; want the first case", again, created, err)
	}
	for _, num := range []string{c.Number, strings.ToLower(c.Number)} {
		if got, err := s.CaseByNumber(ctx, num); err != nil || got.ID != c.ID {
			t.Fatalf("CaseByNumber(%q) = %+v, %v", num, got, err)
		}
	}
	if got, err := s.Case(ctx, c.ID); err != nil || got.Number != c.Number {
		t.Fatalf("Case = %+v, %v", got, err)
	}
	for _, num := range []string{"C-999999", "O-" + c.Number[2:], "garbage", "", "C-", "C-12x"} {
		if _, err := s.CaseByNumber(ctx, num); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("CaseByNumber(%q): %v; want ErrNotFound", num, err)
		}
	}
	th, err := s.Thread(ctx, store.Ref{CaseID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(th) != 1 || th[0].InboundID != in.ID || th[0].Direction != store.DirIn || th[0].MessageID != "opener@example.net" ||
		th[0].From != "ann@example.net" || th[0].Message == nil || th[0].Message.Subject != "Printer on fire" ||
		th[0].Ref != (store.Ref{CaseID: c.ID}) {
		t.Fatalf("thread = %+v", th)
	}
	if n := countEvents(t, s, store.Ref{CaseID: c.ID}, "case.created"); n != 1 {
		t.Fatalf("%d case.created events; want 1", n)
	}
	_, _, err = s.RegisterCase(ctx, store.NewCase{InboundID: 99999, Kind: "incident", Queue: "support"})
	wantErr(t, "RegisterCase of a missing inbound", err, store.ErrNotFound)
	if _, err := s.Case(ctx, 99999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Case(missing): %v", err)
	}
}

func testRegisterCaseConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := accept(t, s, "imap:INBOX:9:2")
	const n = 8
	ids := make([]int64, n)
	created := make([]bool, n)
	noErrors(t, parallel(n, func(i int) error {
		c, cr, err := s.RegisterCase(ctx, store.NewCase{InboundID: in.ID, Kind: "inquiry", Queue: "support", Customer: "x@example.net"})
		if err == nil {
			ids[i], created[i] = c.ID, cr
		}
		return err
	}))
	if c := countTrue(created); c != 1 {
		t.Fatalf("%d goroutines created the case; want 1", c)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("case ids differ: %v", ids)
		}
	}
	th, err := s.Thread(ctx, store.Ref{CaseID: ids[0]})
	if err != nil || len(th) != 1 {
		t.Fatalf("thread has %d messages, %v; want 1", len(th), err)
	}
	if n := countEvents(t, s, store.Ref{CaseID: ids[0]}, "case.created"); n != 1 {
		t.Fatalf("%d case.created events; want 1", n)
	}
}

func testRegisterOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := accept(t, s, "webhook:shop:1")
	no := store.NewOrder{InboundID: in.ID, Priority: store.PriorityNormal, Queue: "orders",
		Channel: message.ChannelWebhook, Customer: "Bob@Example.net", Subject: "Order 12 boxes"}
	o, created, err := s.RegisterOrder(ctx, no)
	if err != nil || !created {
		t.Fatalf("RegisterOrder = %v, %v", created, err)
	}
	if o.Number != fmt.Sprintf("O-%06d", o.ID) || o.Status != store.OrderReceived || o.Customer != "bob@example.net" ||
		o.Queue != "orders" || o.InboundID != in.ID {
		t.Fatalf("order = %+v", o)
	}
	const n = 8
	ids := make([]int64, n)
	noErrors(t, parallel(n, func(i int) error {
		got, cr, err := s.RegisterOrder(ctx, no)
		if err == nil {
			ids[i] = got.ID
			if cr {
				err = errors.New("created a second order")
			}
		}
		return err
	}))
	for _, id := range ids {
		if id != o.ID {
			t.Fatalf("order ids differ: %v, want %d", ids, o.ID)
		}
	}
	if got, err := s.OrderByNumber(ctx, o.Number); err != nil || got.ID != o.ID {
		t.Fatalf("OrderByNumber = %+v, %v", got, err)
	}
	if got, err := s.Order(ctx, o.ID); err != nil || got.Number != o.Number {
		t.Fatalf("Order = %+v, %v", got, err)
	}
	if _, err := s.OrderByNumber(ctx, "O-999999"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("OrderByNumber(missing): %v", err)
	}
	if row := reload(t, s, in.ID); row.Status != store.StatusRegistered || row.OrderID != o.ID || row.CaseID != 0 {
		t.Fatalf("inbound after RegisterOrder: %+v", row)
	}
	if n := countEvents(t, s, store.Ref{OrderID: o.ID}, "order.created"); n != 1 {
		t.Fatalf("%d order.created events; want 1", n)
	}
	// An order's message cannot also open a case.
	_, _, err = s.RegisterCase(ctx, store.NewCase{InboundID: in.ID, Kind: "inquiry", Queue: "support"})
	wantErr(t, "RegisterCase of an order's inbound", err, store.ErrConflict)
}

func testCaseStatus(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, c := openCase(t, s, "cs:1", "cs1@example.net", "cs@example.net")
	for _, st := range []store.CaseStatus{store.CaseWaitingCustomer, store.CaseResolved, store.CaseClosed, store.CaseOpen} {
		if err := s.SetCaseStatus(ctx, c.ID, st); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Case(ctx, c.ID); err != nil || got.Status != st {
			t.Fatalf("after SetCaseStatus(%s): %+v, %v", st, got, err)
		}
	}
	// Setting the same status again is a no-op.
	if err := s.SetCaseStatus(ctx, c.ID, store.CaseOpen); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, s, store.Ref{CaseID: c.ID}, "case.status"); n != 4 {
		t.Fatalf("%d case.status events; want 4", n)
	}
	if err := s.SetCaseStatus(ctx, c.ID, "exploded"); err == nil {
		t.Fatal("SetCaseStatus accepted an unknown status")
	}
	wantErr(t, "SetCaseStatus of a missing case", s.SetCaseStatus(ctx, 99999, store.CaseClosed), store.ErrNotFound)
}
