package bench

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/intake/webhook"
	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/message"
)

// TestFormSubmission checks the load's submissions against the daemon's
// own parser and renderer: 0.5–3 KB of JSON, every fifth to the order
// form with order lines, each rendering to a message from its own
// submitter, and signed so that the daemon's verification accepts them.
func TestFormSubmission(t *testing.T) {
	key, err := webhook.Key(formSecret)
	if err != nil {
		t.Fatal(err)
	}
	contact := webhook.Mapping{Email: "email", Name: "name", Subject: "subject", Message: "message", Phone: "phone"}
	order := contact
	order.OrderLines = "order_lines"
	orders := 0
	for i := range 100 {
		form, body, err := formSubmission("r1", i, isOrder(i, 5))
		if err != nil {
			t.Fatal(err)
		}
		if len(body) < 512 || len(body) > 3072 {
			t.Errorf("submission %d: %d bytes, want 0.5–3 KB", i, len(body))
		}
		m := contact
		if form == orderForm {
			orders++
			m = order
			if i%5 != 4 {
				t.Errorf("submission %d to the order form", i)
			}
		}
		f, err := webhook.ParseForm("application/json", body, webhook.Limits{})
		if err != nil {
			t.Fatalf("submission %d: %v\n%s", i, err, body)
		}
		if form == orderForm && !strings.Contains(f.Value("order_lines"), `"sku"`) {
			t.Errorf("order %d without order lines: %q", i, f.Value("order_lines"))
		}
		id := "msg_r1_" + strconv.Itoa(i)
		raw, err := webhook.ToMessage(f, m, webhook.Envelope{Form: form, Key: id, Received: time.Now(),
			Domain: "desk.example.test", ContentType: "application/json", Payload: body})
		if err != nil {
			t.Fatalf("submission %d: render: %v", i, err)
		}
		r, err := mail.CreateReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		from, err := r.Header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Address != submitterAddr("r1", i) {
			t.Errorf("submission %d: From %v %v, want %s", i, from, err, submitterAddr("r1", i))
		}
		_ = r.Close()

		now := time.Now()
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(webhook.HeaderSignature, webhook.Sign(key, id, now, body))
		if got, err := webhook.Verify(h, body, now, webhook.DefaultTolerance, key); err != nil || got != id {
			t.Fatalf("submission %d: verify: %q %v", i, got, err)
		}
	}
	if orders != 20 {
		t.Errorf("%d orders in 100, want 20", orders)
	}
}

// TestRecipientMatch matches acknowledgements to submissions by the
// envelope recipient, and nothing of another run.
func TestRecipientMatch(t *testing.T) {
	match := recipientMatch("r7")
	for _, c := range []struct {
		to   []string
		i    int
		want bool
	}{
		{[]string{submitterAddr("r7", 12)}, 12, true},
		{[]string{"someone@example.net", strings.ToUpper(submitterAddr("r7", 0))}, 0, true},
		{[]string{submitterAddr("r77", 12)}, 0, false},
		{[]string{submitterAddr("w7", 12)}, 0, false},
		{[]string{"load-r7-x@" + submitterDomain}, 0, false},
		{[]string{"load-r7-3@elsewhere.example"}, 0, false},
		{nil, 0, false},
	} {
		i, ok := match(testenv.Received{To: c.to})
		if ok != c.want || (ok && i != c.i) {
			t.Errorf("%v: %d %v, want %d %v", c.to, i, ok, c.i, c.want)
		}
	}
}

// TestSummariseForms checks the HTTP side of a made-up form run: answers
// counted by status, refusals a miss, only accepted submissions expected
// to be acknowledged, the accept rate and its target.
func TestSummariseForms(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	var sent []delivery
	for i := range 10 {
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		sent = append(sent, delivery{index: i, At: at, Answered: at.Add(time.Duration(i+1) * time.Millisecond),
			Status: http.StatusAccepted, Accepted: true})
	}
	sent[7].Status, sent[7].Accepted = http.StatusServiceUnavailable, false
	sent[8].Status, sent[8].Accepted, sent[8].Err = 0, false, "connection reset"
	sent[9].Accepted, sent[9].Duplicate = false, true
	var acks []testenv.Received
	for i := range 7 {
		acks = append(acks, testenv.Received{To: []string{submitterAddr("run", i)}, At: sent[i].At.Add(50 * time.Millisecond)})
	}
	s := Scenario{Name: "f", Server: ServerForms, Target: Target{MinAcceptRate: 100}}
	res := summarise(s, sent, acks, recipientMatch("run"), Ledger{Cases: 7 + 1}, 1, 1<<20)
	if res.Accepted != 7 || res.Refused != 3 || res.Acked != 7 || res.Lost != 0 || res.Duplicates != 0 {
		t.Fatalf("counts: accepted %d refused %d acked %d lost %d dup %d", res.Accepted, res.Refused, res.Acked, res.Lost, res.Duplicates)
	}
	want := map[string]int{"202": 7, "503": 1, "error": 1, "202 duplicate": 1}
	if len(res.Answers) != len(want) {
		t.Fatalf("answers %v, want %v", res.Answers, want)
	}
	for k, n := range want {
		if res.Answers[k] != n {
			t.Fatalf("answers %v, want %v", res.Answers, want)
		}
	}
	if res.AnswerError != "connection reset" {
		t.Fatalf("answer error %q", res.AnswerError)
	}
	// Answers took 1..7 ms; the last 202 came at 607 ms: 7 in 0.607 s.
	if res.Answer == nil || res.Answer.P50 != 4*time.Millisecond || res.Answer.Max != 7*time.Millisecond {
		t.Fatalf("answer latency %+v", res.Answer)
	}
	if res.AcceptRate < 11.5 || res.AcceptRate > 11.6 {
		t.Fatalf("accept rate %.2f, want 7/0.607", res.AcceptRate)
	}
	if res.Latency.P99 != 50*time.Millisecond {
		t.Fatalf("latency %+v", res.Latency)
	}
	if res.Pass || len(res.Misses) != 2 || !strings.Contains(res.Misses[0], "3 not accepted") ||
		!strings.Contains(res.Misses[0], "connection reset") || !strings.Contains(res.Misses[1], "accepted 12 < 100/s") {
		t.Fatalf("verdict %v %q, want a fail for the refusals and the accept rate", res.Pass, res.Misses)
	}
	var table strings.Builder
	rep := &Report{Results: []*Result{res}}
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "202 duplicate: 1, 503: 1, error: 1") {
		t.Fatalf("table lacks the other answers:\n%s", table.String())
	}
}

// TestDaemonConfigForms checks the daemon configuration of a form
// scenario with the daemon's own loader: both forms, no per-client rate
// limit, no mailbox.
func TestDaemonConfigForms(t *testing.T) {
	c := daemonConfig{dataDir: t.TempDir(), redisAddr: "127.0.0.1:6379", smtpAddr: "127.0.0.1:2525",
		httpAddr: "127.0.0.1:8080", concurrency: 10, forms: true}
	cfg, err := config.Parse([]byte(c.yaml()), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, c.yaml())
	}
	if cfg.HTTP.ClientRate != 0 || len(cfg.Mailbox) != 0 || len(cfg.Forms) != 2 {
		t.Fatalf("client rate %g, %d mailboxes, %d forms", cfg.HTTP.ClientRate, len(cfg.Mailbox), len(cfg.Forms))
	}
	for _, f := range cfg.Forms {
		wantIntent, lines := string(message.IntentCase), ""
		if f.Name == orderForm {
			wantIntent, lines = string(message.IntentOrder), "order_lines"
		}
		if f.Intent != wantIntent || f.Fields.OrderLines != lines || f.Fields.Phone != "phone" || f.Secret != formSecret {
			t.Errorf("form %+v", f)
		}
	}
}

// BenchmarkFormSubmission is the harness's own cost per submission
// outside the HTTP exchange: building the body (before the clock) and
// signing it (at send time).
func BenchmarkFormSubmission(b *testing.B) {
	key, err := webhook.Key(formSecret)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, body, err := formSubmission("r1", i, isOrder(i, 5))
		if err != nil {
			b.Fatal(err)
		}
		_ = webhook.Sign(key, "msg_r1_"+strconv.Itoa(i), now, body)
	}
}

// TestFormMatchChecksThreading: an acknowledgement counts for a submission
// only when it goes to its submitter and its In-Reply-To names the
// submission's message.
func TestFormMatchChecksThreading(t *testing.T) {
	f := &formLoad{threads: map[string][]string{"r9": {
		webhook.FormMessageID(contactForm, "msg_r9_0", daemonDomain),
		webhook.FormMessageID(orderForm, "msg_r9_1", daemonDomain),
	}}}
	match := f.match("r9")
	ack := func(to, inReplyTo string) testenv.Received {
		var h mail.Header
		h.Set("In-Reply-To", inReplyTo)
		return testenv.Received{To: []string{to}, Header: h}
	}
	for _, c := range []struct {
		name string
		r    testenv.Received
		i    int
		ok   bool
	}{
		{"threaded", ack(submitterAddr("r9", 1), "<"+webhook.FormMessageID(orderForm, "msg_r9_1", daemonDomain)+">"), 1, true},
		{"another submission's thread", ack(submitterAddr("r9", 1), "<"+webhook.FormMessageID(contactForm, "msg_r9_0", daemonDomain)+">"), 0, false},
		{"no In-Reply-To", ack(submitterAddr("r9", 0), ""), 0, false},
		{"beyond the run", ack(submitterAddr("r9", 7), "<x@y>"), 0, false},
	} {
		if i, ok := match(c.r); ok != c.ok || (ok && i != c.i) {
			t.Errorf("%s: %d, %v; want %d, %v", c.name, i, ok, c.i, c.ok)
		}
	}
}
