package intake

import (
	"strings"
	"testing"
)

func TestMaskRawKeepsIdentifiers(t *testing.T) {
	raw := "Message-ID: <cust-1000-4111111111111111@customer.example>\r\n" +
		"References: <a-4111111111111111@x>\r\n <b@x>\r\n" +
		"Subject: my card 4111 1111 1111 1111\r\n" +
		"X-Request-ID: 4111111111111111\r\n" +
		"\r\nPlease charge 4111-1111-1111-1111 today.\r\nMessage-ID: 4111111111111111\r\n"
	got, n := maskRaw([]byte(raw))
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
	got, n := maskRaw(raw)
	if n != 0 || &got[0] != &raw[0] {
		t.Fatal("a message without card numbers was copied or changed")
	}
}
