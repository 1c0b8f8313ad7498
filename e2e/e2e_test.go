package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// ack is one acknowledgement as the SMTP peer received it.
type ack struct {
	messageID, inReplyTo, references, subject, to string
	header                                        mail.Header
}

var tagRe = regexp.MustCompile(`\[(Case|Order) ([CO]-\d{6})\]`)

func parseAck(t testing.TB, raw []byte) ack {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ack does not parse: %v", err)
	}
	defer r.Close()
	h := r.Header
	a := ack{header: h}
	a.messageID, _ = h.MessageID()
	if ids, err := h.MsgIDList("In-Reply-To"); err == nil && len(ids) == 1 {
		a.inReplyTo = ids[0]
	}
	a.references = h.Get("References")
	a.subject, _ = h.Subject()
	if to, err := h.AddressList("To"); err == nil && len(to) == 1 {
		a.to = to[0].Address
	}
	return a
}

// imapServer abstracts the two IMAP servers the suite runs against.
type imapServer struct {
	name       string
	addr       string
	user, pass string
	// delayNote explains slower IDLE notices (Dovecot batches them).
}

func startMem(t *testing.T) imapServer {
	s := testenv.StartIMAPMem(t, testenv.IMAPUser{Username: "desk", Password: "desk-pass"})
	return imapServer{name: "imapmem", addr: s.Addr(), user: "desk", pass: "desk-pass"}
}

func startDovecot(t *testing.T) imapServer {
	d := testenv.StartDovecot(t)
	return imapServer{name: "dovecot", addr: d.Addr(), user: d.Username, pass: d.Password}
}

// TestEndToEnd delivers customer mail to a support and an orders mailbox on
// both IMAP servers and checks that every message became one case or order,
// one acknowledgement with the right headers, and one work item; that a
// reply joins its case without a second acknowledgement; and that a CSR can
// claim the work.
func TestEndToEnd(t *testing.T) {
	for name, start := range map[string]func(*testing.T) imapServer{"imapmem": startMem, "dovecot": startDovecot} {
		t.Run(name, func(t *testing.T) {
			srv := start(t)
			t.Logf("IMAP server: %s", srv.name)
			runEndToEnd(t, srv, 12, 4)
		})
	}
}

func runEndToEnd(t *testing.T, srv imapServer, nCases, nOrders int) {
	rd := testenv.StartRedis(t, true)
	smtp := testenv.StartSMTP(t)
	// Two folders on one account: INBOX for support, Orders for orders.
	createFolder(t, srv.addr, srv.user, srv.pass, "Orders")
	e := newEnv(t, rd.Addr(), smtp.Addr, []mailbox{
		{name: "support", addr: srv.addr, user: srv.user, pass: srv.pass, intent: "case"},
		{name: "orders", addr: srv.addr, user: srv.user, pass: srv.pass, intent: "order", folder: "Orders", moveTo: "Processed"},
	}, "")
	e.start()

	sent := map[string]string{} // customer Message-ID -> customer address
	var raws [][]byte
	for i := range nCases {
		from := fmt.Sprintf("alice%d@customer.example", i)
		raw := customerMail(i, from, fmt.Sprintf("Printer problem %d", i), "My printer is broken.")
		raws = append(raws, raw)
		sent[messageIDOf(t, raw)] = from
	}
	appendMessages(t, srv.addr, srv.user, srv.pass, "INBOX", raws...)
	raws = nil
	for i := range nOrders {
		from := fmt.Sprintf("bob%d@customer.example", i)
		raw := customerMail(1000+i, from, fmt.Sprintf("Order for 3 widgets %d", i), "Please send 3 widgets, SKU W-1.")
		raws = append(raws, raw)
		sent[messageIDOf(t, raw)] = from
	}
	appendMessages(t, srv.addr, srv.user, srv.pass, "Orders", raws...)

	n := nCases + nOrders
	got := smtp.WaitFor(n, 60*time.Second)
	if len(got) != n {
		t.Fatalf("got %d acknowledgements, want %d", len(got), n)
	}
	db := e.ledger()
	e.waitSettled(db, n, 60*time.Second)

	numbers := map[string]bool{}
	var firstCase ack
	for _, r := range got {
		a := parseAck(t, r.Raw)
		from, ok := sent[a.inReplyTo]
		if !ok {
			t.Fatalf("ack In-Reply-To %q is not one of our customer messages", a.inReplyTo)
		}
		if a.to != from {
			t.Errorf("ack for %s went to %s", from, a.to)
		}
		if !strings.Contains(a.references, a.inReplyTo) {
			t.Errorf("References %q lacks %q", a.references, a.inReplyTo)
		}
		for k, v := range map[string]string{"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All", "Precedence": "auto_reply"} {
			if got := a.header.Get(k); got != v {
				t.Errorf("ack %s: %s = %q, want %q", a.messageID, k, got, v)
			}
		}
		if a.header.Get("X-Loop") == "" {
			t.Errorf("ack %s has no X-Loop", a.messageID)
		}
		if !strings.HasSuffix(a.messageID, "@desk.example.test") {
			t.Errorf("ack Message-ID %q is not ours", a.messageID)
		}
		m := tagRe.FindStringSubmatch(a.subject)
		if m == nil {
			t.Fatalf("ack subject %q has no case/order tag", a.subject)
		}
		if numbers[m[2]] {
			t.Errorf("number %s acknowledged twice", m[2])
		}
		numbers[m[2]] = true
		if m[1] == "Case" && firstCase.messageID == "" {
			firstCase = a
		}
	}
	var cases, orders int
	for num := range numbers {
		if strings.HasPrefix(num, "C-") {
			cases++
		} else {
			orders++
		}
	}
	if cases != nCases || orders != nOrders {
		t.Fatalf("got %d cases and %d orders, want %d and %d", cases, orders, nCases, nOrders)
	}
	// No extra case or order beyond the ones acknowledged.
	if code := e.api("GET", fmt.Sprintf("/api/v1/cases/C-%06d", n+1), supervisorToken, nil); code != http.StatusNotFound {
		t.Errorf("an extra case exists (%d)", code)
	}

	// The customer replies to the acknowledgement: the reply joins the case.
	num := tagRe.FindStringSubmatch(firstCase.subject)[2]
	reply := []byte(fmt.Sprintf("From: %s\r\nTo: support@desk.example.test\r\nSubject: Re: %s\r\n"+
		"Message-ID: <reply-1@customer.example>\r\nIn-Reply-To: <%s>\r\nReferences: <%s> <%s>\r\n"+
		"Content-Type: text/plain\r\n\r\nStill broken, thanks.\r\n",
		firstCase.to, firstCase.subject, firstCase.messageID, firstCase.inReplyTo, firstCase.messageID))
	appendMessages(t, srv.addr, srv.user, srv.pass, "INBOX", reply)
	e.waitSettled(db, n+1, 60*time.Second)
	var cv caseView
	if code := e.api("GET", "/api/v1/cases/"+num, supervisorToken, &cv); code != 200 {
		t.Fatalf("GET case %s: %d", num, code)
	}
	if len(cv.inbound()) != 2 {
		t.Fatalf("case %s has %d customer messages, want 2 (the reply joined): %+v", num, len(cv.inbound()), cv.Messages)
	}
	if c := smtp.Count(); c != n {
		t.Fatalf("SMTP peer has %d messages after the reply, want %d (no second acknowledgement)", c, n)
	}

	// A CSR claims the next support item.
	var claim struct {
		Item struct {
			ID    int64  `json:"id"`
			Queue string `json:"queue"`
		} `json:"item"`
		Case *struct {
			Number string `json:"number"`
		} `json:"case"`
	}
	if code := e.api("POST", "/api/v1/queues/support/claim", token, &claim); code != 200 || claim.Item.ID == 0 || claim.Case == nil {
		t.Fatalf("claim: %d %+v", code, claim)
	}
	if code := e.api("POST", fmt.Sprintf("/api/v1/work/%d/complete", claim.Item.ID), token, nil); code != 200 && code != 204 {
		t.Fatalf("complete: %d", code)
	}
}

type caseView struct {
	Messages []struct {
		Direction string `json:"direction"`
		Subject   string `json:"subject"`
		Flag      string `json:"flag"`
	} `json:"thread"`
}

func (c caseView) inbound() []string {
	var s []string
	for _, m := range c.Messages {
		if m.Direction == "in" {
			s = append(s, m.Subject)
		}
	}
	return s
}

func messageIDOf(t testing.TB, raw []byte) string {
	a := parseHeader(t, raw)
	id, _ := a.MessageID()
	return id
}

func parseHeader(t testing.TB, raw []byte) mail.Header {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Header
}

// corpusFiles lists the files under dir (recursively), sorted.
func corpusFiles(t testing.TB, dir string) []string {
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".txt") || (err == nil && !d.IsDir() && strings.HasSuffix(p, ".eml")) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files
}
