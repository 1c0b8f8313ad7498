package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/pipeline"
	"github.com/frontdesk/frontdesk/store"
)

// TestReservedNumberOpensThatCase: a web form submission told its number
// at accept opens exactly that case (or order), even when its subject
// carries another case's tag or a rule would make it an order, and its
// acknowledgement quotes that number.
func TestReservedNumberOpensThatCase(t *testing.T) {
	f := newFixture(t, nil)
	first := f.deliver("support", mail("ann@customer.example", "Printer jam", "m1@customer.example", "", "Jam"))
	f.mustRun()
	c1, _ := f.db.Case(context.Background(), f.inbound(first).CaseID)

	submit := func(key string, intent message.Intent, raw []byte) intake.Result {
		t.Helper()
		res, err := f.acc.Accept(context.Background(), intake.Submission{
			Channel: message.ChannelForm, Source: "form:contact", SourceKey: key,
			Intent: intent, Queue: "web", Raw: raw, Reserve: true,
		})
		if err != nil || res.Reference == "" {
			t.Fatalf("accept %s: %+v, %v", key, res, err)
		}
		return res
	}
	// Names another case in its subject: still its own case.
	rc := submit("form:contact:1", message.IntentCase,
		mail("ann@customer.example", "About [Case "+c1.Number+"]", "form-1@desk.example", "", "A new question"))
	// An order form, from the orders box's rules' point of view a case.
	ro := submit("form:order:1", message.IntentOrder,
		mail("bo@customer.example", "Order", "form-2@desk.example", "", "2 x widget"))
	// A mail that arrives in between takes the next free number.
	other := f.deliver("support", mail("cy@customer.example", "Hello", "m2@customer.example", "", "Hi"))
	f.mustRun()

	in := f.inbound(rc.InboundID)
	c, err := f.db.Case(context.Background(), in.CaseID)
	if err != nil || c.Number != rc.Reference || c.ID == c1.ID {
		t.Fatalf("form submission opened %+v (%v); told %s", c, err, rc.Reference)
	}
	oin := f.inbound(ro.InboundID)
	o, err := f.db.Order(context.Background(), oin.OrderID)
	if err != nil || o.Number != ro.Reference {
		t.Fatalf("order form opened %+v (%v); told %s", o, err, ro.Reference)
	}
	if oc := f.inbound(other).CaseID; oc == c.ID || oc == c1.ID {
		t.Fatalf("mail in between joined case %d", oc)
	}
	var quoted int
	for _, m := range f.smtp.Messages() {
		if strings.Contains(string(m.Raw), rc.Reference) || strings.Contains(string(m.Raw), ro.Reference) {
			quoted++
		}
	}
	if quoted != 2 {
		t.Fatalf("%d acknowledgements quote the reserved numbers, want 2", quoted)
	}
}

// TestReservedNumberOfFailedMessage: a submission told its number that
// then cannot be read still has that case, and its failure is filed under
// it for a person.
func TestReservedNumberOfFailedMessage(t *testing.T) {
	f := newFixture(t, nil)
	res, err := f.acc.Accept(context.Background(), intake.Submission{
		Channel: message.ChannelForm, Source: "form:contact", SourceKey: "form:contact:bomb",
		Intent: message.IntentCase, Queue: "web", Raw: partsBomb(80), Reserve: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.mustRun()
	in := f.inbound(res.InboundID)
	if in.Status != store.StatusFailed || in.CaseID == 0 {
		t.Fatalf("failed reserved row: %+v", in)
	}
	c, err := f.db.CaseByNumber(context.Background(), res.Reference)
	if err != nil || c.ID != in.CaseID || !strings.Contains(c.Subject, "max_parts") {
		t.Fatalf("case %s: %+v, %v", res.Reference, c, err)
	}
	w, err := f.db.Claim(context.Background(), pipeline.QueueIntakeFailures, "sam", f.now, time.Minute)
	if err != nil || w.InboundID != in.ID || w.Ref.CaseID != c.ID {
		t.Fatalf("failure not filed under %s: %+v %v", res.Reference, w, err)
	}
	if f.smtp.Count() != 0 {
		t.Fatal("an unreadable message was acknowledged")
	}
}
