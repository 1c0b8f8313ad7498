package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/message"
)

// Mailgun's sample route post (corpora/webhooks/django-inbound-email, its
// form fields saved as JSON) becomes the reply it was: sender, subject,
// threading headers and text. Its message-headers field is not valid JSON
// (quotes inside a value are not escaped), so the post's own header fields
// stand in for it.
func TestMailgunSample(t *testing.T) {
	path := filepath.Join(testenv.Corpora(t), "webhooks", "django-inbound-email", "inbound_email", "tests",
		"test_files", "mailgun_post.test_inbound_payload.json")
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseForm("application/json", body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	raw, key, err := MailgunMessage(f)
	if err != nil || key != "token:4166ec05b27b5d3c024252ad43df47865128c8fcde47dfea6b" {
		t.Fatalf("MailgunMessage: %q %v", key, err)
	}
	m, err := newParser(t).Parse(t.Context(), message.ChannelWebhook, raw)
	if err != nil {
		t.Fatalf("normalise: %v\n%s", err, raw)
	}
	if m.From.Addr != "bob@sandbox085a3b878a964897b9b9efb2395a1f5a.mailgun.org" || m.Subject != "Re: Sample POST request" {
		t.Fatalf("from %+v subject %q", m.From, m.Subject)
	}
	if len(m.InReplyTo) == 0 || len(m.References) == 0 || !strings.Contains(m.Text, "This is Bob.") {
		t.Fatalf("threading %q %v, text %q", m.InReplyTo, m.References, m.Text)
	}
}

func TestMailgunRawAndRefusals(t *testing.T) {
	mime := "From: a@b.example\r\nMessage-ID: <m1@b.example>\r\nSubject: hi\r\n\r\nhello\r\n"
	raw, key, err := MailgunMessage(&Form{Fields: map[string][]string{"body-mime": {mime}}})
	if err != nil || string(raw) != mime || key != "message-id:<m1@b.example>" {
		t.Fatalf("raw mime: %q %q %v", raw, key, err)
	}
	// Without token or Message-ID, two different messages never share a key.
	_, k1, _ := MailgunMessage(&Form{Fields: map[string][]string{"body-mime": {"From: a@b.example\r\n\r\none\r\n"}}})
	_, k2, _ := MailgunMessage(&Form{Fields: map[string][]string{"body-mime": {"From: a@b.example\r\n\r\ntwo\r\n"}}})
	if k1 == k2 || !strings.HasPrefix(k1, "sha256:") {
		t.Fatalf("keys without token or Message-ID: %q %q", k1, k2)
	}
	for name, fields := range map[string]map[string][]string{
		"no sender":   {"token": {"t"}, "body-plain": {"x"}},
		"bad headers": {"token": {"t"}, "message-headers": {"{"}},
	} {
		var fe *FieldError
		if _, _, err := MailgunMessage(&Form{Fields: fields}); !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a field error", name, err)
		}
	}
}

// With message-headers as Mailgun documents it, every original header but
// the MIME structure is kept, in order.
func TestMailgunMessageHeaders(t *testing.T) {
	fields := map[string][]string{
		"token":           {"tok-1"},
		"message-headers": {`[["From","Ann <ann@example.net>"],["Subject","Re: [Case C-000007] kettle"],["In-Reply-To","<ack.7@desk.example>"],["Content-Type","multipart/mixed; boundary=x"],["X-Bad\r\nBcc","v@example.org"]]`},
		"body-plain":      {"Still broken."},
	}
	raw, key, err := MailgunMessage(&Form{Fields: fields})
	if err != nil || key != "token:tok-1" {
		t.Fatalf("%q %v", key, err)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, want := range []string{"From: Ann <ann@example.net>", "In-Reply-To: <ack.7@desk.example>", "Subject: Re: [Case C-000007] kettle"} {
		if !strings.Contains(head, want) {
			t.Errorf("header lacks %q:\n%s", want, head)
		}
	}
	if strings.Contains(head, "boundary=x") || strings.Contains(strings.ToLower(head), "bcc") {
		t.Fatalf("structure or a bad field name came through:\n%s", head)
	}
}

// FuzzMailgun: any URL-encoded post gives a message or a field error.
func FuzzMailgun(f *testing.F) {
	const form = "application/x-www-form-urlencoded"
	f.Add(form, []byte("token=t&from=a%40b.example&subject=x&body-plain=hello"))
	f.Add(form, []byte("token=t&message-headers=%5B%5B%22From%22%2C%22a%40b.example%22%5D%5D&body-html=%3Cp%3Ehi"))
	f.Add(form, []byte("body-mime=From%3A+a%40b.example%0D%0A%0D%0Ahi"))
	f.Add("multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\na@b.example\r\n"+
		"--b\r\nContent-Disposition: form-data; name=\"body-plain\"\r\n\r\nhi\r\n"+
		"--b\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		// As the handler reads a Mailgun post.
		ep := ProviderConfig{MaxBodyBytes: 1 << 20}
		form, err := readProviderForm(contentType, body, ep.limits(), "body-mime", "message-mime")
		if err != nil {
			return
		}
		raw, key, err := MailgunMessage(form)
		var fe *FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("%T %v", err, err)
		}
		if err == nil && (key == "" || len(raw) == 0) {
			t.Fatalf("accepted without key or message: %q", body)
		}
	})
}
