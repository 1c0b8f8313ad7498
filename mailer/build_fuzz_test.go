package mailer

import (
	"bytes"
	"testing"

	"github.com/frontdesk/frontdesk/message"
)

// FuzzBuild feeds customer-controlled values (the recipient's name and
// address, the subject, their Message-IDs, the bodies, an extra header's
// value) into Build. Either Build refuses with a permanent error, or the
// message re-parses (go-message) to exactly the intended headers and bodies
// with no bare CR, LF or NUL anywhere (RELIABILITY H1, H4).
func FuzzBuild(f *testing.F) {
	f.Add("Ada Lovelace", "ada@example.org", "[Case C-000123] Re: Printer", "abc@mail.example.org", "root@example.org", "Hello\n", "<p>Hi</p>", "C-000123")
	f.Add("Eve\r\nBcc: v@example.net", "eve@example.org", "Hi\r\nBcc: v@example.net\r\n\r\nx", "a\r\n@b", "<x@y>\r\nX: y", "a\rb\x00c", "", "a\nb")
	f.Add("=?utf-8?q?x?=", "anna@bücher.example", "=?utf-8?b?eA==?= Grüße", "<a@[1.2.3.4]>", "a b@c", "", "\x00", "")
	f.Add("\"q\" \\ (c) <x>, y", "a.b+c@sub.example.com", "   ", "", "", "x", "<p>\r</p>", "\u202e")
	f.Add("東京 太郎", "a@example.org", "東京 "+string(bytes.Repeat([]byte("x"), 300)), "", "", "body", "", "")
	f.Fuzz(func(t *testing.T, name, addr, subject, inReplyTo, ref, text, html, hdr string) {
		o := ack()
		o.To = message.Address{Name: name, Addr: addr}
		o.Subject = subject
		o.InReplyTo = inReplyTo
		o.References = []string{"root@example.org", ref, inReplyTo}
		o.Text = "Dear customer,\n" + text
		o.HTML = html
		o.Headers = map[string]string{"X-Frontdesk-Note": hdr}
		m, err := Build(o)
		if err != nil {
			if !IsPermanent(err) {
				t.Fatalf("Build error %v is not permanent", err)
			}
			return
		}
		var b bytes.Buffer
		if _, err := m.WriteTo(&b); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		if p := wireProblems(b.Bytes(), o); len(p) > 0 {
			t.Fatalf("%q\nmessage:\n%s", p, b.Bytes())
		}
	})
}
