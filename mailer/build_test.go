package mailer

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

func ack() Outgoing {
	return Outgoing{
		MessageID:  "fd.ack.42.abcdefghijkl.abcdefghijklmnop@desk.example.com",
		From:       "Example Support <support@example.com>",
		ReplyTo:    "support@example.com",
		To:         message.Address{Name: "Ada Lovelace", Addr: "ada@example.org"},
		Subject:    "[Case C-000123] Re: Printer on fire",
		Text:       "Hello Ada,\n\nWe have your message.\n",
		HTML:       "<p>Hello Ada,</p>\n<p>We have your message.</p>\n",
		InReplyTo:  "CAF=abc123@mail.example.org",
		References: []string{"<root@example.org>", "CAF=abc123@mail.example.org"},
		LoopID:     "fd-abcdefghijkl@desk.example.com",
		Date:       time.Date(2025, 3, 4, 15, 30, 0, 0, time.UTC),
		Headers:    map[string]string{"X-Frontdesk-Case": "C-000123"},
	}
}

func render(t testing.TB, o Outgoing) []byte {
	t.Helper()
	m, err := Build(o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBuildHeaders(t *testing.T) {
	o := ack()
	raw := render(t, o)
	checkWire(t, raw, o)
	for _, want := range []string{
		"Message-ID: <fd.ack.42.abcdefghijkl.abcdefghijklmnop@desk.example.com>\r\n",
		"In-Reply-To: <CAF=abc123@mail.example.org>\r\n",
		"References: <root@example.org> <CAF=abc123@mail.example.org>\r\n",
		"Auto-Submitted: auto-replied\r\n",
		"X-Auto-Response-Suppress: All\r\n",
		"Precedence: auto_reply\r\n",
		"X-Loop: fd-abcdefghijkl@desk.example.com\r\n",
		"Date: Tue, 04 Mar 2025 15:30:00 +0000\r\n",
		"Content-Type: multipart/alternative;",
	} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("message lacks %q", want)
		}
	}
	if bytes.Contains(raw, []byte("User-Agent")) || bytes.Contains(raw, []byte("go-mail")) {
		t.Error("message advertises the library")
	}
}

func TestBuildVariants(t *testing.T) {
	for name, mod := range map[string]func(*Outgoing){
		"text only":       func(o *Outgoing) { o.HTML = "  \n" },
		"human reply":     func(o *Outgoing) { o.Human = true },
		"no threading":    func(o *Outgoing) { o.InReplyTo, o.References, o.LoopID, o.ReplyTo = "", nil, "", "" },
		"bad in-reply-to": func(o *Outgoing) { o.InReplyTo = "not an id" },
		"garbage refs":    func(o *Outgoing) { o.References = []string{"a b@c", "<x@y>\r\nBcc: z@w", "", "<>", "ok@id", "ok@id"} },
		"many refs":       func(o *Outgoing) { o.References = manyRefs(50) },
		"literal id":      func(o *Outgoing) { o.InReplyTo = "<abc@[127.0.0.1]>" },
		"non-ascii":       func(o *Outgoing) { o.To.Name, o.Subject = "Björn Ångström", "Grüße aus Köln – 東京" },
		"encoded lookalike": func(o *Outgoing) {
			o.Subject, o.To.Name = "=?utf-8?q?evil?= subject", "=?utf-8?q?Ev=69l?="
		},
		"injection": func(o *Outgoing) {
			o.To.Name = "Eve\r\nBcc: victim@example.net"
			o.Subject = "Hi\r\nBcc: victim@example.net\r\n\r\nbody"
			o.Headers = map[string]string{"X-Note": "a\nX-Evil: 1"}
		},
		"idn domain": func(o *Outgoing) { o.To.Addr = "anna@bücher.example" },
		"long word":  func(o *Outgoing) { o.Subject = strings.Repeat("x", 400) },
		"long subject": func(o *Outgoing) {
			o.Subject = strings.Repeat("word ", 100)
		},
		"bodies with CR and NUL": func(o *Outgoing) { o.Text, o.HTML = "a\r\nb\rc\x00d\n", "<p>\x00</p>\r" },
		"quoted name":            func(o *Outgoing) { o.To.Name = `"Ada" \ (Countess) <of Lovelace>, Esq.` },
		"empty header dropped":   func(o *Outgoing) { o.Headers = map[string]string{"X-Empty": " \r\n "} },
		"envelope from":          func(o *Outgoing) { o.EnvelopeFrom = "bounces@example.com" },
	} {
		t.Run(name, func(t *testing.T) {
			o := ack()
			mod(&o)
			checkWire(t, render(t, o), o)
		})
	}
}

func manyRefs(n int) []string {
	var l []string
	for i := range n {
		l = append(l, "r"+strings.Repeat("x", i%7)+"."+string(rune('a'+i%26))+"@example.org")
	}
	return l
}

func TestBuildReferencesKeepRootAndLatest(t *testing.T) {
	var in []string
	for i := range 30 {
		in = append(in, "id"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@x")
	}
	got := strings.Fields(msgIDList(in))
	if len(got) != maxReferences || got[0] != "<"+in[0]+">" || got[len(got)-1] != "<"+in[29]+">" || got[1] != "<"+in[11]+">" {
		t.Errorf("msgIDList = %v", got)
	}
}

func TestBuildRejects(t *testing.T) {
	for name, mod := range map[string]func(*Outgoing){
		"no message id":    func(o *Outgoing) { o.MessageID = "" },
		"bracketed id":     func(o *Outgoing) { o.MessageID = "<a@b>" },
		"id with space":    func(o *Outgoing) { o.MessageID = "a b@c" },
		"bad from":         func(o *Outgoing) { o.From = "Support" },
		"from with CRLF":   func(o *Outgoing) { o.From = "Support <s@example.com>\r\nBcc: x@y.z" },
		"bad reply-to":     func(o *Outgoing) { o.ReplyTo = "<>" },
		"no recipient":     func(o *Outgoing) { o.To.Addr = "" },
		"recipient CRLF":   func(o *Outgoing) { o.To.Addr = "a@example.org\r\nRCPT TO:<b@example.org>" },
		"recipient spaces": func(o *Outgoing) { o.To.Addr = " a@example.org" },
		"no domain":        func(o *Outgoing) { o.To.Addr = "ada@" },
		"single label":     func(o *Outgoing) { o.To.Addr = "ada@localhost" },
		"quoted local":     func(o *Outgoing) { o.To.Addr = `"a b"@example.org` },
		"utf8 local":       func(o *Outgoing) { o.To.Addr = "jürgen@example.org" },
		"domain literal":   func(o *Outgoing) { o.To.Addr = "a@[127.0.0.1]" },
		"two ats":          func(o *Outgoing) { o.To.Addr = "a@b@example.org" },
		"dot dot":          func(o *Outgoing) { o.To.Addr = "a..b@example.org" },
		"long address": func(o *Outgoing) {
			o.To.Addr = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com"
		},
		"empty text":        func(o *Outgoing) { o.Text = " \n" },
		"reserved header":   func(o *Outgoing) { o.Headers = map[string]string{"bcc": "x@y.z"} },
		"bad header name":   func(o *Outgoing) { o.Headers = map[string]string{"X-A: b\r\nX-C": "d"} },
		"non-ascii loop id": func(o *Outgoing) { o.LoopID = "fd-ö@example.com" },
		"bad envelope":      func(o *Outgoing) { o.EnvelopeFrom = "bounces" },
	} {
		o := ack()
		mod(&o)
		_, err := Build(o)
		if err == nil {
			t.Errorf("%s: Build succeeded", name)
			continue
		}
		if !IsPermanent(err) {
			t.Errorf("%s: %v is not permanent", name, err)
		}
	}
}

func TestValidMsgID(t *testing.T) {
	for _, id := range []string{"a@b", "fd.ack.1.x.y@desk.example.com", "CAF=x+y/z@mail.gmail.com", "a@[1.2.3.4]", "a!#$%&'*+-/=?^_`{|}~@b"} {
		if !ValidMsgID(id) {
			t.Errorf("ValidMsgID(%q) = false", id)
		}
	}
	for _, id := range []string{"", "a", "@b", "a@", "<a@b>", "a b@c", "a@b c", "a@b@c", "a\"@b", "a@[x", "a@[x]y", "ä@b", "a@b\r\n", strings.Repeat("a", 250) + "@b"} {
		if ValidMsgID(id) {
			t.Errorf("ValidMsgID(%q) = true", id)
		}
	}
}
