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

// Postmark's own sample payloads (corpora/webhooks/django-anymail), with
// and without RawEmail, become messages the normaliser reads as the mail
// that was sent: sender, subject, body and attachment.
func TestPostmarkSamples(t *testing.T) {
	dir := filepath.Join(testenv.Corpora(t), "webhooks", "django-anymail", "tests", "test_files")
	p := newParser(t)
	for _, c := range []struct {
		file        string
		attachments int
	}{
		{"postmark-inbound-test-payload.json", 1},
		{"postmark-inbound-test-payload-with-raw.json", -1}, // whatever the raw copy holds
	} {
		t.Run(c.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			raw, key, err := PostmarkMessage(body)
			if err != nil || key == "" {
				t.Fatalf("PostmarkMessage: %q %v", key, err)
			}
			m, err := p.Parse(t.Context(), message.ChannelWebhook, raw)
			if err != nil {
				t.Fatalf("normalise: %v\n%s", err, raw)
			}
			if m.From.Addr != "support@postmarkapp.com" || m.Subject != "Test subject" {
				t.Fatalf("from %+v subject %q\n%s", m.From, m.Subject, raw)
			}
			if !strings.Contains(m.Text, "This is a test text body.") {
				t.Errorf("text %q", m.Text)
			}
			if c.attachments >= 0 && len(m.Attachments) != c.attachments {
				t.Errorf("%d attachments, want %d", len(m.Attachments), c.attachments)
			}
		})
	}
}

func TestPostmarkRefuses(t *testing.T) {
	for name, body := range map[string]string{
		"not json":       `{"MessageID":`,
		"no id":          `{"FromFull":{"Email":"a@b.example"}}`,
		"no sender":      `{"MessageID":"x"}`,
		"bad attachment": `{"MessageID":"x","FromFull":{"Email":"a@b.example"},"Attachments":[{"Name":"a","Content":"%%%"}]}`,
	} {
		var fe *FieldError
		if _, _, err := PostmarkMessage([]byte(body)); !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a field error", name, err)
		}
	}
}

// Original headers survive (threading and loop protection read them);
// values never become header lines of their own.
func TestPostmarkKeepsHeaders(t *testing.T) {
	body := `{"MessageID":"pm-1","FromFull":{"Email":"ann@example.net","Name":"Ann"},"Subject":"Re: [Case C-000001] x\r\nBcc: v@example.org",
		"Headers":[{"Name":"Message-ID","Value":"<orig@example.net>"},{"Name":"In-Reply-To","Value":"<ack@desk.example>"},
		{"Name":"Auto-Submitted","Value":"auto-replied"},{"Name":"X-Evil","Value":"a\r\nBcc: v@example.org"},{"Name":"Content-Type","Value":"text/evil"}],
		"TextBody":"hello"}`
	raw, _, err := PostmarkMessage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, want := range []string{"Message-Id: <orig@example.net>", "In-Reply-To: <ack@desk.example>", "Auto-Submitted: auto-replied"} {
		if !strings.Contains(head, want) {
			t.Errorf("header lacks %q:\n%s", want, head)
		}
	}
	if strings.Contains(strings.ToLower(head), "\r\nbcc:") || strings.Contains(head, "text/evil") {
		t.Fatalf("payload values became headers:\n%s", head)
	}
}

// FuzzPostmark: any body gives a message or a field error, never a panic.
func FuzzPostmark(f *testing.F) {
	f.Add([]byte(`{"MessageID":"x","FromFull":{"Email":"a@b.example"},"TextBody":"hi","Attachments":[{"Name":"a.txt","Content":"aGk="}]}`))
	f.Add([]byte(`{"MessageID":"x","RawEmail":"From: a@b.example\r\n\r\nhi"}`))
	f.Add([]byte(`{"MessageID":"x","FromFull":{"Email":"a@b.example"},"Headers":[{"Name":"","Value":""},{"Name":"A:B","Value":"\r\n"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		raw, key, err := PostmarkMessage(body)
		var fe *FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("%T %v", err, err)
		}
		if err == nil && (key == "" || len(raw) == 0) {
			t.Fatalf("accepted without key or message: %q", body)
		}
	})
}
