package intake

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/intake/mailparse"
	"github.com/frontdesk/frontdesk/message"
)

func TestMaskRawKeepsIdentifiers(t *testing.T) {
	raw := "Message-ID: <cust-1000-4111111111111111@customer.example>\r\n" +
		"References: <a-4111111111111111@x>\r\n <b@x>\r\n" +
		"Subject: my card 4111 1111 1111 1111\r\n" +
		"X-Request-ID: 4111111111111111\r\n" +
		"\r\nPlease charge 4111-1111-1111-1111 today.\r\nMessage-ID: 4111111111111111\r\n"
	got, n := maskRaw([]byte(raw), message.Limits{})
	s := string(got)
	if n != 3 {
		t.Errorf("masked %d, want 3 (subject, body x2)", n)
	}
	for _, keep := range []string{"<cust-1000-4111111111111111@customer.example>", "<a-4111111111111111@x>", "X-Request-ID: 4111111111111111"} {
		if !strings.Contains(s, keep) {
			t.Errorf("identifier changed: %q missing in\n%s", keep, s)
		}
	}
	if strings.Contains(s, "4111 1111 1111 1111") || strings.Contains(s, "4111-1111-1111-1111") || strings.Contains(s, "\r\nMessage-ID: 4111111111111111") {
		t.Errorf("card left in subject or body:\n%s", s)
	}
	if len(got) != len(raw) {
		t.Errorf("length changed: %d -> %d", len(raw), len(got))
	}
}

func TestMaskRawUntouched(t *testing.T) {
	raw := []byte("Subject: hi\r\n\r\nno numbers here\r\n")
	got, n := maskRaw(raw, message.Limits{})
	if n != 0 || &got[0] != &raw[0] {
		t.Fatal("a message without card numbers was copied or changed")
	}
}

// TestMaskRawBothPasses checks that literal and encoded card numbers are
// masked together and counted once each.
func TestMaskRawBothPasses(t *testing.T) {
	raw := "Subject: =?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte("Karte 4111111111111111")) + "?=\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: text/plain\r\n\r\nliteral 378282246310005\r\n--b\r\n" +
		"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nqp 6011 0009 9013 9=\r\n424 and 5555 5555 5555 4444\r\n--b--\r\n"
	got, n := maskRaw([]byte(raw), message.Limits{})
	if n != 4 {
		t.Errorf("masked %d, want 4:\n%s", n, got)
	}
	for _, leak := range []string{"378282246310005", "9013 9=\r\n424", "5555 5555 5555 4444", base64.StdEncoding.EncodeToString([]byte("Karte 4111111111111111"))} {
		if strings.Contains(string(got), leak) {
			t.Errorf("%q left in\n%s", leak, got)
		}
	}
}

// TestMaskRawOverLimitKeepsLiteralPass checks that a message too big to
// decode still has its literal card numbers masked.
func TestMaskRawOverLimitKeepsLiteralPass(t *testing.T) {
	raw := "Subject: card 4111111111111111\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString([]byte("card 378282246310005")) + "\r\n"
	lim := message.Limits{MaxBytes: 40}
	if _, _, err := mailparse.MaskRaw([]byte(raw), lim); !errors.As(err, new(*message.LimitError)) {
		t.Fatalf("MaskRaw: %v, want a limit error", err)
	}
	got, n := maskRaw([]byte(raw), lim)
	if n != 1 || strings.Contains(string(got), "4111111111111111") {
		t.Errorf("masked %d:\n%s", n, got)
	}
}
