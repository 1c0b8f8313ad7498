package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// The combined writes: each is the same as the calls it stands for, in one
// step, and as idempotent.

var classHW = store.Classification{Intent: message.IntentCase, Category: "hardware", Priority: store.PriorityUrgent,
	Queue: "l2", Rule: "kw:fire"}

func testSaveAnalysis(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := accept(t, s, "an:1")
	m := mail("an1@example.net", "ann@example.net", "Printer")
	for range 2 { // a re-run changes nothing more
		if err := s.SaveAnalysis(ctx, in.ID, m, classHW, ""); err != nil {
			t.Fatal(err)
		}
		row := reload(t, s, in.ID)
		if row.Status != store.StatusClassified || row.Automated != "" {
			t.Fatalf("after SaveAnalysis: %+v; want classified, not automated", row)
		}
	}
	got, err := s.Normalised(ctx, in.ID)
	if err != nil || got.MessageID != m.MessageID || got.Text != m.Text || got.From != m.From || len(got.Attachments) != 1 {
		t.Fatalf("Normalised = %+v, %v; want %+v", got, err, m)
	}
	if c, err := s.Classification(ctx, in.ID); err != nil || c != classHW {
		t.Fatalf("Classification = %+v, %v; want %+v", c, err, classHW)
	}
	// The automation rule is recorded when given, and kept when not.
	if err := s.SaveAnalysis(ctx, in.ID, m, classHW, "auto-submitted"); err != nil {
		t.Fatal(err)
	}
	if row := reload(t, s, in.ID); row.Automated != "auto-submitted" || row.Status != store.StatusClassified {
		t.Fatalf("with a rule: %+v", row)
	}
	other := classHW
	other.Queue = "l1"
	if err := s.SaveAnalysis(ctx, in.ID, m, other, ""); err != nil {
		t.Fatal(err)
	}
	if row := reload(t, s, in.ID); row.Automated != "auto-submitted" {
		t.Fatalf("an empty rule cleared the flag: %+v", row)
	}
	if c, _ := s.Classification(ctx, in.ID); c != other {
		t.Fatalf("Classification after a re-run = %+v; want %+v", c, other)
	}

	// From normalised (normalisation ran as a step of its own).
	n := accept(t, s, "an:2")
	if err := s.SaveNormalised(ctx, n.ID, mail("an2@example.net", "bob@example.net", "Hi")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAnalysis(ctx, n.ID, mail("an2@example.net", "bob@example.net", "Hi"), classHW, ""); err != nil {
		t.Fatal(err)
	}
	if st := reload(t, s, n.ID).Status; st != store.StatusClassified {
		t.Fatalf("normalised row after SaveAnalysis: %q", st)
	}

	// A late re-run on a registered row keeps it registered, replaces the
	// message and keeps its thread row searchable.
	reg, c := openCase(t, s, "an:3", "an3-old@example.net", "cat@example.net")
	if err := s.SaveAnalysis(ctx, reg.ID, mail("an3-new@example.net", "cat@example.net", "Printer"), classHW, ""); err != nil {
		t.Fatal(err)
	}
	if row := reload(t, s, reg.ID); row.Status != store.StatusRegistered || row.CaseID != c.ID {
		t.Fatalf("registered row after SaveAnalysis: %+v", row)
	}
	if ref, err := s.FindThread(ctx, []string{"<an3-new@example.net>"}); err != nil || ref.CaseID != c.ID {
		t.Fatalf("FindThread(new Message-ID) = %+v, %v; want case %d", ref, err, c.ID)
	}
	if got, _ := s.Normalised(ctx, reg.ID); got == nil || got.MessageID != "an3-new@example.net" {
		t.Fatalf("Normalised after a late re-run = %+v", got)
	}

	// Final rows stay final.
	failed := accept(t, s, "an:4")
	if err := s.FailInbound(ctx, failed.ID, "unreadable"); err != nil {
		t.Fatal(err)
	}
	done, _ := openCase(t, s, "an:5", "an5@example.net", "dan@example.net")
	if err := s.SetAckDone(ctx, done.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRouteDone(ctx, done.ID); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]store.InboundStatus{failed.ID: store.StatusFailed, done.ID: store.StatusDone} {
		if err := s.SaveAnalysis(ctx, id, m, classHW, "x"); err != nil {
			t.Fatal(err)
		}
		if st := reload(t, s, id).Status; st != want {
			t.Fatalf("SaveAnalysis moved a %s row to %s", want, st)
		}
	}

	wantErr(t, "SaveAnalysis of a missing row", s.SaveAnalysis(ctx, 99999, m, classHW, ""), store.ErrNotFound)
	if err := s.SaveAnalysis(ctx, in.ID, nil, classHW, ""); err == nil {
		t.Fatal("SaveAnalysis of a nil message succeeded")
	}
}

func testSaveAnalysisConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := accept(t, s, "anc:1")
	noErrors(t, parallel(8, func(i int) error {
		return s.SaveAnalysis(ctx, in.ID, mail("anc@example.net", "ann@example.net", "Printer"), classHW, "")
	}))
	if st := reload(t, s, in.ID).Status; st != store.StatusClassified {
		t.Fatalf("after concurrent SaveAnalysis: %q", st)
	}
}

func testFinishAck(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "fa:1", "fa1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	o := ackFor(in, c, "fa-1@desk.example")
	if _, err := s.CreateOutbound(ctx, o); err != nil {
		t.Fatal(err)
	}
	o.State, o.Attempts = store.OutCommitting, 1
	if err := s.UpdateOutbound(ctx, o); err != nil {
		t.Fatal(err)
	}
	// Not a state that ends the step.
	for _, st := range []store.OutboundState{store.OutPending, store.OutCommitting, "bogus"} {
		bad := *o
		bad.State = st
		if err := s.FinishAck(ctx, &bad); err == nil {
			t.Fatalf("FinishAck in state %q succeeded", st)
		}
	}
	if row := reload(t, s, in.ID); row.AckDone {
		t.Fatal("a refused FinishAck marked the step done")
	}
	sentAt := t0.Add(-time.Second)
	for range 2 { // a retry of the task changes nothing more
		o.State, o.SentAt = store.OutSent, sentAt
		if err := s.FinishAck(ctx, o); err != nil {
			t.Fatal(err)
		}
		if o.State != store.OutSent || !o.SentAt.Equal(sentAt) || o.Attempts != 1 || o.MessageID != "fa-1@desk.example" {
			t.Fatalf("after FinishAck: %+v", o)
		}
		row := reload(t, s, in.ID)
		if !row.AckDone || row.RouteDone || row.Status != store.StatusRegistered {
			t.Fatalf("inbound after FinishAck: %+v; want ack done, still registered", row)
		}
	}
	th, outs := threadOut(ctx, t, s, ref)
	if len(th) != 2 || len(outs) != 1 || outs[0].MessageID != "fa-1@desk.example" || !outs[0].CreatedAt.Equal(sentAt) {
		t.Fatalf("thread after FinishAck = %+v", th)
	}
	if n := countEvents(t, s, ref, "outbound.sent"); n != 1 {
		t.Fatalf("%d outbound.sent events; want 1", n)
	}
	if ref, err := s.FindThread(ctx, []string{"fa-1@desk.example"}); err != nil || ref.CaseID != c.ID {
		t.Fatalf("FindThread(ack) = %+v, %v", ref, err)
	}
	// With routing recorded too, the message is done.
	if _, err := s.RouteInbound(ctx, &store.WorkItem{Queue: "support", Ref: ref, InboundID: in.ID}); err != nil {
		t.Fatal(err)
	}
	if st := reload(t, s, in.ID).Status; st != store.StatusDone {
		t.Fatalf("after FinishAck and RouteInbound: %q; want done", st)
	}
	// A later bounce may still fail the sent acknowledgement.
	o.State, o.Reason = store.OutFailed, "550 5.1.1 user unknown"
	if err := s.FinishAck(ctx, o); err != nil {
		t.Fatalf("FinishAck sent -> failed: %v", err)
	}
	if n := countEvents(t, s, ref, "outbound.failed"); n != 1 {
		t.Fatalf("%d outbound.failed events; want 1", n)
	}

	// Suppressed: recorded with its reason, the step done.
	in2, c2 := openCase(t, s, "fa:2", "fa2@example.net", "bot@example.net")
	sup := ackFor(in2, c2, "fa-2@desk.example")
	if _, err := s.CreateOutbound(ctx, sup); err != nil {
		t.Fatal(err)
	}
	sup.State, sup.Reason = store.OutSuppressed, "auto-submitted"
	if err := s.FinishAck(ctx, sup); err != nil {
		t.Fatal(err)
	}
	if got, err := s.OutboundByMessageID(ctx, "fa-2@desk.example"); err != nil || got.State != store.OutSuppressed ||
		got.Reason != "auto-submitted" || !got.SentAt.IsZero() {
		t.Fatalf("suppressed record = %+v, %v", got, err)
	}
	if !reload(t, s, in2.ID).AckDone {
		t.Fatal("suppression did not end the step")
	}
	if n := countEvents(t, s, store.Ref{CaseID: c2.ID}, "outbound.suppressed"); n != 1 {
		t.Fatalf("%d outbound.suppressed events; want 1", n)
	}

	// A sent record cannot be suppressed: nothing of the call stands.
	in3, c3 := openCase(t, s, "fa:3", "fa3@example.net", "eve@example.net")
	sent := ackFor(in3, c3, "fa-3@desk.example")
	if _, err := s.CreateOutbound(ctx, sent); err != nil {
		t.Fatal(err)
	}
	sent.State = store.OutSent
	if err := s.UpdateOutbound(ctx, sent); err != nil {
		t.Fatal(err)
	}
	sent.State = store.OutSuppressed
	wantErr(t, "FinishAck sent -> suppressed", s.FinishAck(ctx, sent), store.ErrConflict)
	if reload(t, s, in3.ID).AckDone {
		t.Fatal("a conflicting FinishAck marked the step done")
	}

	// A record of no inbound message (a CSR's reply) has no step to end.
	reply := &store.Outbound{Kind: "reply", Ref: ref, MessageID: "fa-reply@desk.example", Recipient: "ann@example.net",
		Subject: "Re: Printer", Template: "reply"}
	if _, err := s.CreateOutbound(ctx, reply); err != nil {
		t.Fatal(err)
	}
	reply.State = store.OutSent
	if err := s.FinishAck(ctx, reply); err == nil {
		t.Fatal("FinishAck of a record without an inbound message succeeded")
	}
	if got, _ := s.OutboundByMessageID(ctx, "fa-reply@desk.example"); got == nil || got.State != store.OutPending {
		t.Fatalf("a refused FinishAck changed the record: %+v", got)
	}
	missing := *o
	missing.ID, missing.State = 99999, store.OutSent
	wantErr(t, "FinishAck of a missing record", s.FinishAck(ctx, &missing), store.ErrNotFound)
}

func testFinishAckConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "fac:1", "fac1@example.net", "ann@example.net")
	o := ackFor(in, c, "fac-1@desk.example")
	if _, err := s.CreateOutbound(ctx, o); err != nil {
		t.Fatal(err)
	}
	noErrors(t, parallel(8, func(i int) error {
		mine := *o
		mine.State, mine.Attempts = store.OutSent, 1
		return s.FinishAck(ctx, &mine)
	}))
	ref := store.Ref{CaseID: c.ID}
	if n := countEvents(t, s, ref, "outbound.sent"); n != 1 {
		t.Fatalf("%d outbound.sent events; want 1", n)
	}
	th, err := s.Thread(ctx, ref)
	if err != nil || len(th) != 2 {
		t.Fatalf("thread = %d messages, %v; want the opener and one acknowledgement", len(th), err)
	}
	if !reload(t, s, in.ID).AckDone {
		t.Fatal("step not done")
	}
}

func testRouteInbound(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "ri:1", "ri1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	due := t0.Add(2 * time.Hour)
	w := &store.WorkItem{Queue: "support", Ref: ref, InboundID: in.ID, Priority: store.PriorityHigh, DueAt: due}
	created, err := s.RouteInbound(ctx, w)
	if err != nil || !created || w.ID == 0 || w.State != store.WorkOpen || !w.DueAt.Equal(due) || w.Ref != ref {
		t.Fatalf("RouteInbound = %+v, %v, %v", w, created, err)
	}
	if row := reload(t, s, in.ID); !row.RouteDone || row.AckDone || row.Status != store.StatusRegistered {
		t.Fatalf("inbound after RouteInbound: %+v", row)
	}
	again := &store.WorkItem{Queue: "support", Ref: ref, InboundID: in.ID}
	if created, err := s.RouteInbound(ctx, again); err != nil || created || again.ID != w.ID {
		t.Fatalf("second RouteInbound = %+v, %v, %v", again, created, err)
	}
	// A follow-up while the case's item is open is routed to that item.
	follow := accept(t, s, "ri:follow")
	if err := s.AttachInbound(ctx, follow.ID, ref, ""); err != nil {
		t.Fatal(err)
	}
	fw := &store.WorkItem{Queue: "support", Ref: ref, InboundID: follow.ID}
	if created, err := s.RouteInbound(ctx, fw); err != nil || created || fw.ID != w.ID {
		t.Fatalf("RouteInbound of a follow-up = %+v, %v, %v; want item %d", fw, created, err, w.ID)
	}
	if !reload(t, s, follow.ID).RouteDone {
		t.Fatal("follow-up's routing not recorded")
	}
	if err := s.SetAckDone(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if st := reload(t, s, in.ID).Status; st != store.StatusDone {
		t.Fatalf("after RouteInbound and SetAckDone: %q; want done", st)
	}
	if n := countEvents(t, s, ref, "work.created"); n != 1 {
		t.Fatalf("%d work.created events; want 1", n)
	}

	// Intake failures are routed on their own.
	bad := accept(t, s, "ri:bad")
	if err := s.FailInbound(ctx, bad.ID, "max_parts exceeded"); err != nil {
		t.Fatal(err)
	}
	bw := &store.WorkItem{Queue: "mailroom", InboundID: bad.ID, Reason: "max_parts exceeded"}
	if created, err := s.RouteInbound(ctx, bw); err != nil || !created || !bw.Ref.IsZero() || bw.Reason != "max_parts exceeded" {
		t.Fatalf("RouteInbound(failure) = %+v, %v, %v", bw, created, err)
	}
	if row := reload(t, s, bad.ID); !row.RouteDone || row.Status != store.StatusFailed {
		t.Fatalf("failed row after RouteInbound: %+v", row)
	}

	if _, err := s.RouteInbound(ctx, &store.WorkItem{Queue: "support", Ref: ref}); err == nil {
		t.Fatal("RouteInbound without an inbound id succeeded")
	}
	_, err = s.RouteInbound(ctx, &store.WorkItem{Queue: "support", InboundID: 99999})
	wantErr(t, "RouteInbound of a missing inbound", err, store.ErrNotFound)
	lone := accept(t, s, "ri:lone")
	_, err = s.RouteInbound(ctx, &store.WorkItem{Queue: "support", InboundID: lone.ID, Ref: store.Ref{CaseID: 99999}})
	wantErr(t, "RouteInbound for a missing case", err, store.ErrNotFound)
	if row := reload(t, s, lone.ID); row.RouteDone {
		t.Fatal("a failed RouteInbound recorded the routing")
	}
}

func testRouteInboundConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "ric:1", "ric1@example.net", "ann@example.net")
	const n = 8
	ids := make([]int64, n)
	created := make([]bool, n)
	noErrors(t, parallel(n, func(i int) error {
		w := &store.WorkItem{Queue: "support", Ref: store.Ref{CaseID: c.ID}, InboundID: in.ID}
		var err error
		created[i], err = s.RouteInbound(ctx, w)
		ids[i] = w.ID
		return err
	}))
	if k := countTrue(created); k != 1 {
		t.Fatalf("%d items created; want 1", k)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("items differ: %v", ids)
		}
	}
}

// testRecordsAsStored checks that what a write returns is what a read of
// the record returns.
func testRecordsAsStored(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "ras:1", "ras1@example.net", "Ann@Example.net")
	if got, err := s.Case(ctx, c.ID); err != nil || fmt.Sprint(*got) != fmt.Sprint(*c) {
		t.Fatalf("RegisterCase returned %+v; stored %+v, %v", c, got, err)
	}
	oin := accept(t, s, "ras:2")
	o, created, err := s.RegisterOrder(ctx, store.NewOrder{InboundID: oin.ID, Priority: store.PriorityLow, Queue: "orders",
		Channel: message.ChannelWebhook, Customer: "Bob@Example.net", Subject: "2 boxes"})
	if err != nil || !created {
		t.Fatal(created, err)
	}
	if got, err := s.Order(ctx, o.ID); err != nil || fmt.Sprint(*got) != fmt.Sprint(*o) {
		t.Fatalf("RegisterOrder returned %+v; stored %+v, %v", o, got, err)
	}

	ack := ackFor(in, c, "<ras-1@desk.example>")
	ack.CreatedAt = t0.Add(-time.Minute)
	if _, err := s.CreateOutbound(ctx, ack); err != nil {
		t.Fatal(err)
	}
	sameOutbound := func(what string, o *store.Outbound) {
		t.Helper()
		got, err := s.OutboundByMessageID(ctx, o.MessageID)
		if err != nil || fmt.Sprint(*got) != fmt.Sprint(*o) {
			t.Fatalf("%s returned %+v; stored %+v, %v", what, o, got, err)
		}
	}
	sameOutbound("CreateOutbound", ack)
	ack.State, ack.Attempts, ack.LastError = store.OutCommitting, 1, "451 later"
	if err := s.UpdateOutbound(ctx, ack); err != nil {
		t.Fatal(err)
	}
	sameOutbound("UpdateOutbound", ack)
	ack.State = store.OutSent
	if err := s.FinishAck(ctx, ack); err != nil {
		t.Fatal(err)
	}
	sameOutbound("FinishAck", ack)

	w := &store.WorkItem{Queue: "support", Ref: store.Ref{CaseID: c.ID}, InboundID: in.ID, DueAt: t0.Add(time.Hour),
		CreatedAt: t0.Add(-time.Hour)}
	if _, err := s.RouteInbound(ctx, w); err != nil {
		t.Fatal(err)
	}
	if got, err := s.WorkItem(ctx, w.ID); err != nil || fmt.Sprint(*got) != fmt.Sprint(*w) {
		t.Fatalf("RouteInbound returned %+v; stored %+v, %v", w, got, err)
	}
	wi := accept(t, s, "ras:3")
	w2 := &store.WorkItem{Queue: "mailroom", InboundID: wi.ID}
	if _, err := s.EnsureWorkItem(ctx, w2); err != nil {
		t.Fatal(err)
	}
	if got, err := s.WorkItem(ctx, w2.ID); err != nil || fmt.Sprint(*got) != fmt.Sprint(*w2) {
		t.Fatalf("EnsureWorkItem returned %+v; stored %+v, %v", w2, got, err)
	}
}
