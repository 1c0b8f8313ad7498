package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/pipeline"
	"github.com/frontdesk/frontdesk/store"
)

func TestNewMessageBecomesCaseAckAndWork(t *testing.T) {
	f := newFixture(t, nil)
	id := f.deliver("support", mail("Ann <ann@customer.example>", "Printer jam", "m1@customer.example", "", "The printer jams. Card 4111 1111 1111 1111 if needed."))
	f.mustRun()

	in := f.inbound(id)
	if in.Status != store.StatusDone || in.CaseID == 0 || !in.AckDone || !in.RouteDone {
		t.Fatalf("inbound after pipeline: %+v", in)
	}
	c, err := f.db.Case(context.Background(), in.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Customer != "ann@customer.example" || c.Queue != "support" || c.Number == "" {
		t.Fatalf("case: %+v", c)
	}
	msgs := f.smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d acks, want 1", len(msgs))
	}
	h := msgs[0].Header
	if got := h.Get("In-Reply-To"); got != "<m1@customer.example>" {
		t.Errorf("In-Reply-To %q", got)
	}
	if subj, _ := h.Subject(); !strings.Contains(subj, "[Case "+c.Number+"]") {
		t.Errorf("subject %q lacks the tag", subj)
	}
	if h.Get("Auto-Submitted") != "auto-replied" || h.Get("X-Loop") == "" {
		t.Errorf("loop headers missing: %v", h.Header)
	}
	if _, _, ok := f.ids.Verify(msgs[0].MessageID); !ok {
		t.Errorf("ack Message-ID %q does not verify as ours", msgs[0].MessageID)
	}
	if !strings.Contains(strings.ToLower(string(msgs[0].Raw)), "card") {
		t.Errorf("the ack does not warn about the masked card number")
	}
	if strings.Contains(string(msgs[0].Raw), "4111 1111 1111 1111") {
		t.Error("the card number reached the ack")
	}
	w, err := f.db.Claim(context.Background(), "support", "alice", f.now, time.Minute)
	if err != nil {
		t.Fatalf("no work item in support: %v", err)
	}
	if w.Ref.CaseID != c.ID || !w.DueAt.Equal(f.now.Add(24*time.Hour)) {
		t.Fatalf("work item %+v", w)
	}
}

func TestStepsAreIdempotent(t *testing.T) {
	f := newFixture(t, nil)
	id := f.deliver("support", mail("ann@customer.example", "Hello", "m1@customer.example", "", "Hi"))
	f.mustRun()
	// Every task again, as asynq may after a crash.
	for _, typ := range []string{pipeline.TypeProcess, pipeline.TypeAck} {
		if err := f.q.Enqueue(context.Background(), typ, id); err != nil {
			t.Fatal(err)
		}
	}
	f.mustRun()
	// And the same message accepted again under the same source key.
	f.n--
	if id2 := f.deliver("support", mail("ann@customer.example", "Hello", "m1@customer.example", "", "Hi")); id2 != id {
		t.Fatalf("same source key became inbound %d, want %d", id2, id)
	}
	f.mustRun()
	if n := f.smtp.Count(); n != 1 {
		t.Fatalf("%d acks, want 1", n)
	}
	if _, err := f.db.CaseByNumber(context.Background(), "C-000002"); err == nil {
		t.Fatal("a second case exists")
	}
}

func TestReplyJoinsCase(t *testing.T) {
	f := newFixture(t, nil)
	id := f.deliver("support", mail("ann@customer.example", "Printer jam", "m1@customer.example", "", "Jam"))
	f.mustRun()
	ack := f.smtp.Messages()[0]
	c, _ := f.db.Case(context.Background(), f.inbound(id).CaseID)
	if err := f.db.SetCaseStatus(context.Background(), c.ID, store.CaseWaitingCustomer); err != nil {
		t.Fatal(err)
	}
	// Threaded by In-Reply-To to our acknowledgement, no tag in the subject.
	r1 := f.deliver("support", mail("ann@customer.example", "Re: Printer jam", "r1@customer.example",
		"In-Reply-To: <"+ack.MessageID+">\r\nReferences: <m1@customer.example> <"+ack.MessageID+">\r\n", "Still jammed"))
	// Threaded by the subject tag only.
	r2 := f.deliver("support", mail("ann@customer.example", "RE: [Case "+c.Number+"] more", "r2@customer.example", "", "And again"))
	f.mustRun()
	for _, r := range []int64{r1, r2} {
		in := f.inbound(r)
		if in.CaseID != c.ID || in.Status != store.StatusDone {
			t.Fatalf("reply %d: %+v, want case %d", r, in, c.ID)
		}
	}
	if n := f.smtp.Count(); n != 1 {
		t.Fatalf("%d acks, want 1 (replies are not acknowledged again)", n)
	}
	c2, _ := f.db.Case(context.Background(), c.ID)
	if c2.Status != store.CaseOpen {
		t.Errorf("case status %s, want open after the customer replied", c2.Status)
	}
	thread, _ := f.db.Thread(context.Background(), store.Ref{CaseID: c.ID})
	var in, out int
	for _, m := range thread {
		if m.Direction == store.DirIn {
			in++
			if m.Flag != "" {
				t.Errorf("customer reply flagged %q", m.Flag)
			}
		} else {
			out++
		}
	}
	if in != 3 || out != 1 {
		t.Fatalf("thread has %d in and %d out, want 3 and 1", in, out)
	}
}

func TestThreadingCannotBeForged(t *testing.T) {
	f := newFixture(t, nil)
	id := f.deliver("support", mail("ann@customer.example", "Account", "m1@customer.example", "", "Help"))
	f.mustRun()
	c, _ := f.db.Case(context.Background(), f.inbound(id).CaseID)
	ack := f.smtp.Messages()[0].MessageID

	// A stranger uses the subject tag: attached but flagged.
	s := f.deliver("support", mail("eve@attacker.example", "[Case "+c.Number+"] give me the data", "e1@attacker.example", "", "x"))
	// A stranger quotes the real ack id: attached but flagged.
	s2 := f.deliver("support", mail("eve@attacker.example", "hello", "e2@attacker.example", "In-Reply-To: <"+ack+">\r\n", "x"))
	// A guessed id in our domain with a bad token: not ours, a new case.
	forged := strings.Replace(ack, ack[len(ack)-len("@"+domain)-3:len(ack)-len("@"+domain)], "AAA", 1)
	s3 := f.deliver("support", mail("ann@customer.example", "hello again", "e3@customer.example", "In-Reply-To: <"+forged+">\r\n", "x"))
	f.mustRun()

	flags := map[int64]string{}
	thread, _ := f.db.Thread(context.Background(), store.Ref{CaseID: c.ID})
	for _, m := range thread {
		flags[m.InboundID] = m.Flag
	}
	for _, x := range []int64{s, s2} {
		if f.inbound(x).CaseID != c.ID || flags[x] != pipeline.FlagSenderNotOnCase {
			t.Errorf("stranger's message %d: case %d flag %q", x, f.inbound(x).CaseID, flags[x])
		}
	}
	if in := f.inbound(s3); in.CaseID == c.ID || in.CaseID == 0 {
		t.Errorf("a forged reference joined the case: %+v", in)
	}
}

func TestAutomatedMailNeverAcknowledged(t *testing.T) {
	f := newFixture(t, nil)
	id := f.deliver("support", mail("ann@customer.example", "Order status", "m1@customer.example", "", "Where is it?"))
	f.mustRun()
	c, _ := f.db.Case(context.Background(), f.inbound(id).CaseID)
	ack := f.smtp.Messages()[0].MessageID

	// An out-of-office reply to our ack: attached to the case, flagged.
	ooo := f.deliver("support", mail("ann@customer.example", "Automatic reply: Order status", "o1@customer.example",
		"Auto-Submitted: auto-replied\r\nIn-Reply-To: <"+ack+">\r\n", "I am away."))
	// List mail about nothing of ours: the automated queue.
	list := f.deliver("support", mail("news@list.example", "Weekly news", "l1@list.example", "List-Id: <news.list.example>\r\n", "News"))
	// A hard bounce of our ack: a delivery failure on the case, the address marked failing.
	dsn := "From: MAILER-DAEMON@mx.customer.example\r\nTo: support@" + domain + "\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: <b1@mx.customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=bb\r\n\r\n" +
		"--bb\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n" +
		"--bb\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n" +
		"Final-Recipient: rfc822; ann@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" +
		"--bb\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + ack + ">\r\nTo: ann@customer.example\r\n\r\n--bb--\r\n"
	bounce := f.deliver("support", []byte(dsn))
	f.mustRun()

	if n := f.smtp.Count(); n != 1 {
		t.Fatalf("%d acks, want 1", n)
	}
	for _, x := range []int64{ooo, list, bounce} {
		if in := f.inbound(x); in.Automated == "" || in.Status != store.StatusDone {
			t.Errorf("automated inbound %d: %+v", x, in)
		}
	}
	if f.inbound(ooo).CaseID != c.ID || f.inbound(bounce).CaseID != c.ID {
		t.Errorf("automated replies not attached to the case")
	}
	if f.inbound(list).CaseID != 0 {
		t.Errorf("list mail opened or joined a case")
	}
	if _, err := f.db.Claim(context.Background(), pipeline.QueueAutomated, "sam", f.now, time.Minute); err != nil {
		t.Errorf("list mail not shown in the automated queue: %v", err)
	}
	failing, _ := f.db.AddressFailing(context.Background(), "ann@customer.example")
	if !failing {
		t.Fatal("the bounced address is not marked failing")
	}
	// The next message from the failing address is registered but not acknowledged.
	next := f.deliver("support", mail("ann@customer.example", "New question", "m2@customer.example", "", "?"))
	f.mustRun()
	if f.inbound(next).CaseID == 0 || f.smtp.Count() != 1 {
		t.Fatalf("failing address: case %d, acks %d", f.inbound(next).CaseID, f.smtp.Count())
	}
}

func TestPerRecipientCap(t *testing.T) {
	f := newFixture(t, func(a *pipeline.Acknowledger) { a.PerRecipient = 3 })
	for i := range 6 {
		f.deliver("support", mail("bot@loop.example", "Question", "q"+string(rune('a'+i))+"@loop.example", "", "?"))
	}
	f.mustRun()
	if n := f.smtp.Count(); n != 3 {
		t.Fatalf("%d acks to one address, want the cap of 3", n)
	}
	// The window slides: an hour later another is sent.
	f.now = f.now.Add(time.Hour)
	f.deliver("support", mail("bot@loop.example", "Question", "qz@loop.example", "", "?"))
	f.mustRun()
	if n := f.smtp.Count(); n != 4 {
		t.Fatalf("%d acks after the window, want 4", n)
	}
}

func TestOrdersAndClassification(t *testing.T) {
	f := newFixture(t, nil)
	o := f.deliver("orders", mail("buyer@shop.example", "PO 1234", "p1@shop.example", "", "10 widgets"))
	u := f.deliver("support", mail("ops@customer.example", "Total outage", "u1@customer.example", "", "Everything is down"))
	f.mustRun()
	in := f.inbound(o)
	if in.OrderID == 0 || in.CaseID != 0 {
		t.Fatalf("orders mailbox message: %+v", in)
	}
	ord, _ := f.db.Order(context.Background(), in.OrderID)
	if !strings.HasPrefix(ord.Number, "O-") {
		t.Fatalf("order number %q", ord.Number)
	}
	subj, _ := f.smtp.Messages()[0].Header.Subject()
	if !strings.Contains(subj, "[Order "+ord.Number+"]") {
		t.Errorf("order ack subject %q", subj)
	}
	c, _ := f.db.Case(context.Background(), f.inbound(u).CaseID)
	if c.Priority != store.PriorityHigh {
		t.Errorf("outage case priority %s, want high", c.Priority)
	}
}

func TestBadInputKeptAndRouted(t *testing.T) {
	f := newFixture(t, nil)
	id := f.deliver("support", partsBomb(80))
	f.mustRun()
	in := f.inbound(id)
	if in.Status != store.StatusFailed || !strings.Contains(in.FailReason, "max_parts") {
		t.Fatalf("bomb: %+v", in)
	}
	w, err := f.db.Claim(context.Background(), pipeline.QueueIntakeFailures, "sam", f.now, time.Minute)
	if err != nil || w.InboundID != id || !strings.Contains(w.Reason, "max_parts") {
		t.Fatalf("not routed to a person: %+v %v", w, err)
	}
	if f.smtp.Count() != 0 {
		t.Fatal("a broken message was acknowledged")
	}
}

func TestDamagedBlobQuarantined(t *testing.T) {
	f := newFixture(t, nil)
	// Accept, then damage the raw copy before normalising.
	id := f.deliver("support", mail("ann@customer.example", "Hi", "m1@customer.example", "", "Hello there"))
	in := f.inbound(id)
	truncateBlob(t, f.blobs.Dir(), in.Blob)
	f.mustRun()
	in = f.inbound(id)
	if in.Status != store.StatusFailed || !strings.Contains(in.FailReason, "damaged") {
		t.Fatalf("damaged blob: %+v", in)
	}
	if _, err := f.blobs.QuarantineReason(in.Blob); err != nil {
		t.Fatalf("blob not quarantined: %v", err)
	}
}

func TestSMTPFailures(t *testing.T) {
	f := newFixture(t, nil)
	f.smtp.SetFault(testenv.Fault{Stage: testenv.AtRcpt, Code: 451, Times: 1})
	id := f.deliver("support", mail("ann@customer.example", "Hi", "m1@customer.example", "", "Hello"))
	// The inline attempt meets the 451: the message is routed at once and
	// the acknowledgement moves to its own task, without failing anything.
	key, _ := f.q.pop()
	if err := f.mux.ProcessTask(context.Background(), pipeline.NewTask(pipeline.TypeProcess, id)); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	if in := f.inbound(id); in.AckDone || !in.RouteDone || in.CaseID == 0 {
		t.Fatalf("after a 451 inline: %+v", in)
	}
	if got := f.q.keys(); len(got) != 1 || got[0] != pipeline.TaskID(pipeline.TypeAck, id) {
		t.Fatalf("queued after a 451 inline: %v, want the ack task", got)
	}
	// While the peer is in trouble, a new message's acknowledgement skips
	// the inline attempt and goes to its own task too.
	id2 := f.deliver("support", mail("cat@customer.example", "Hi", "m3@customer.example", "", "Hello"))
	f.q.take(pipeline.TaskID(pipeline.TypeProcess, id2))
	if err := f.mux.ProcessTask(context.Background(), pipeline.NewTask(pipeline.TypeProcess, id2)); err != nil {
		t.Fatal(err)
	}
	if f.smtp.Count() != 0 || f.smtp.Connections() != 1 {
		t.Fatalf("inline attempt made while the peer was in trouble: %d messages, %d connections", f.smtp.Count(), f.smtp.Connections())
	}
	// The ack tasks send each once, with the Message-ID fixed at the first
	// attempt.
	o := f.ackRecord(id)
	if o.Attempts != 1 || o.State != store.OutPending {
		t.Fatalf("send record after the 451: %+v", o)
	}
	f.mustRun()
	if n := f.smtp.Count(); n != 2 || !f.inbound(id).AckDone || !f.inbound(id2).AckDone {
		t.Fatalf("after the ack tasks: %d acks, done %v %v", n, f.inbound(id).AckDone, f.inbound(id2).AckDone)
	}
	if got := f.smtp.Messages()[0].MessageID; got != o.MessageID {
		t.Fatalf("retry sent Message-ID %s, want the recorded %s", got, o.MessageID)
	}

	// A 550 is permanent: recorded, not retried, the message done.
	f.smtp.SetFault(testenv.Fault{Stage: testenv.AtRcpt, Code: 550, Times: 1})
	id3 := f.deliver("support", mail("bob@customer.example", "Hi", "m2@customer.example", "", "Hello"))
	f.mustRun()
	in := f.inbound(id3)
	if !in.AckDone || in.Status != store.StatusDone {
		t.Fatalf("after a 550: %+v", in)
	}
	ev, _ := f.db.Events(context.Background(), store.Ref{CaseID: in.CaseID})
	found := false
	for _, e := range ev {
		found = found || e.Kind == "outbound.failed"
	}
	if !found {
		t.Fatalf("the refused ack is not visible on the case: %+v", ev)
	}
}

func TestSweeperReenqueuesUnfinished(t *testing.T) {
	f := newFixture(t, nil)
	id := f.deliver("support", mail("ann@customer.example", "Hi", "m1@customer.example", "", "Hello"))
	// Redis lost the task: drop it from the queue.
	if _, ok := f.q.pop(); !ok {
		t.Fatal("nothing enqueued")
	}
	s := &pipeline.Sweeper{Store: f.db, Tasks: f.q, Log: f.h.Log, Now: time.Now}
	if n := s.SweepOnce(context.Background(), time.Now().Add(time.Minute)); n != 1 {
		t.Fatalf("sweep re-enqueued %d, want 1", n)
	}
	f.mustRun()
	if in := f.inbound(id); in.Status != store.StatusDone || f.smtp.Count() != 1 {
		t.Fatalf("after the sweep: %+v, %d acks", in, f.smtp.Count())
	}
	if n := s.SweepOnce(context.Background(), time.Now().Add(time.Minute)); n != 0 {
		t.Fatalf("sweep re-enqueued %d finished rows", n)
	}
}

// TestAckAfterCrashAtCommit: a crash after everything but SMTP's final dot
// was written leaves the send record "committing"; the retry sends the
// acknowledgement again with the same, recorded Message-ID, so the
// recipient's mail system sees one message (RELIABILITY F2).
func TestAckAfterCrashAtCommit(t *testing.T) {
	f := newFixture(t, nil)
	// The peer reads the final dot and hangs up without a reply: it may
	// hold the message, and the send record stays "committing".
	f.smtp.SetFault(testenv.Fault{Drop: true, Times: 1})
	id := f.deliver("support", mail("ann@customer.example", "Hi", "m1@customer.example", "", "Hello"))
	f.q.pop()
	if err := f.mux.ProcessTask(context.Background(), pipeline.NewTask(pipeline.TypeProcess, id)); err != nil {
		t.Fatal(err)
	}
	o := f.ackRecord(id)
	if o.State != store.OutCommitting {
		t.Fatalf("send record after a lost reply to the final dot: %+v", o)
	}
	in := f.inbound(id)
	// asynq may run the process task again (a lost lease): it leaves the
	// record to the acknowledgement's own task and sends nothing.
	if err := f.mux.ProcessTask(context.Background(), pipeline.NewTask(pipeline.TypeProcess, id)); err != nil {
		t.Fatal(err)
	}
	if f.smtp.FaultsFired() != 1 || f.smtp.Count() != 0 {
		t.Fatalf("the process task's re-run sent again: %d fired, %d recorded", f.smtp.FaultsFired(), f.smtp.Count())
	}
	_ = f.q.Enqueue(context.Background(), pipeline.TypeAck, id)
	f.mustRun()
	msgs := f.smtp.Messages()
	if len(msgs) != 1 || msgs[0].MessageID != o.MessageID {
		t.Fatalf("after a crash at commit: %d sends, want 1 with the recorded Message-ID %s", len(msgs), o.MessageID)
	}
	got, err := f.db.OutboundByMessageID(context.Background(), o.MessageID)
	if err != nil || got.State != store.OutSent {
		t.Fatalf("send record after recovery: %+v %v", got, err)
	}
	if in := f.inbound(id); !in.AckDone || in.Status != store.StatusDone {
		t.Fatalf("inbound after recovery: %+v", in)
	}
	ev, _ := f.db.Events(context.Background(), store.Ref{CaseID: in.CaseID})
	resent := false
	for _, e := range ev {
		resent = resent || e.Kind == "ack.resent"
	}
	if !resent {
		t.Error("the resend after a possible delivery is not in the case's events")
	}
}

func TestAcksDisabled(t *testing.T) {
	f := newFixture(t, func(a *pipeline.Acknowledger) { a.Enabled = false })
	id := f.deliver("support", mail("ann@customer.example", "Hi", "m1@customer.example", "", "Hello"))
	f.mustRun()
	if n := f.smtp.Count(); n != 0 {
		t.Fatalf("%d acks with acknowledgements disabled", n)
	}
	if in := f.inbound(id); in.Status != store.StatusDone || in.CaseID == 0 {
		t.Fatalf("inbound: %+v", in)
	}
}

func TestNoReplyAddress(t *testing.T) {
	f := newFixture(t, nil)
	id := f.deliver("support", []byte("From: John Smith\r\nSubject: hi\r\nMessage-ID: <n1@x>\r\n\r\nhello\r\n"))
	f.mustRun()
	if in := f.inbound(id); in.Status != store.StatusDone || in.CaseID == 0 || !in.AckDone {
		t.Fatalf("a message without an address: %+v", in)
	}
}

func TestForgedBounceMarksOnlyOurRecipient(t *testing.T) {
	f := newFixture(t, nil)
	f.deliver("support", mail("eve@attacker.example", "Hi", "m1@attacker.example", "", "Hello"))
	f.mustRun()
	ack := f.smtp.Messages()[0].MessageID
	dsn := "From: MAILER-DAEMON@attacker.example\r\nSubject: Undelivered Mail\r\nMessage-ID: <b1@attacker.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=bb\r\n\r\n" +
		"--bb\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--bb\r\nContent-Type: message/delivery-status\r\n\r\n" +
		"Reporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; victim@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" +
		"--bb\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + ack + ">\r\n\r\n--bb--\r\n"
	f.deliver("support", []byte(dsn))
	f.mustRun()
	if failing, _ := f.db.AddressFailing(context.Background(), "victim@customer.example"); failing {
		t.Fatal("a forged bounce marked an address that was never our recipient as failing")
	}
}

func TestSameMessageInTwoMailboxes(t *testing.T) {
	f := newFixture(t, nil)
	raw := mail("ann@customer.example", "Order question", "m1@customer.example", "", "Hello")
	a := f.deliver("support", raw)
	f.mustRun()
	b := f.deliver("orders", raw)
	f.mustRun()
	if f.inbound(a).CaseID == 0 || f.inbound(b).CaseID != f.inbound(a).CaseID || f.inbound(b).OrderID != 0 {
		t.Fatalf("copies: %+v / %+v", f.inbound(a), f.inbound(b))
	}
	if n := f.smtp.Count(); n != 1 {
		t.Fatalf("%d acks for one message delivered twice", n)
	}
}

func TestAutomatedStepsRerun(t *testing.T) {
	f := newFixture(t, nil)
	id := f.deliver("support", mail("news@list.example", "News", "l1@list.example", "List-Id: <news.list.example>\r\n", "News"))
	f.mustRun()
	for _, typ := range []string{pipeline.TypeProcess, pipeline.TypeAck} {
		_ = f.q.Enqueue(context.Background(), typ, id)
	}
	f.mustRun()
	if in := f.inbound(id); in.Status != store.StatusDone || in.Automated == "" {
		t.Fatalf("automated row after re-runs: %+v", in)
	}
}

// TestSweeperPagesThroughAll: more unfinished rows than one batch are all
// re-enqueued in one pass (a backlog of old rows must not hide newer ones).
func TestSweeperPagesThroughAll(t *testing.T) {
	f := newFixture(t, nil)
	for i := range 5 {
		f.deliver("support", mail("ann@customer.example", "Hi", fmt.Sprintf("p%d@customer.example", i), "", "Hello"))
	}
	for { // Redis lost every task
		if _, ok := f.q.pop(); !ok {
			break
		}
	}
	s := &pipeline.Sweeper{Store: f.db, Tasks: f.q, Log: f.h.Log, Now: time.Now, Batch: 2}
	if n := s.SweepOnce(context.Background(), time.Now().Add(time.Minute)); n != 5 {
		t.Fatalf("sweep re-enqueued %d of 5 with batches of 2", n)
	}
	f.mustRun()
	if f.smtp.Count() != 5 {
		t.Fatalf("%d acks after the sweep, want 5", f.smtp.Count())
	}
}
