package imap

import (
	"strings"
	"testing"
)

func TestSourceKey(t *testing.T) {
	if got := SourceKey("sales", 1795642529, 42); got != "imap:sales:1795642529:42" {
		t.Errorf("SourceKey = %q", got)
	}
}

func TestRescanKey(t *testing.T) {
	a := []byte("Message-ID: <abc@example.com>\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\nSubject: x\r\n\r\nbody\r\n")
	// The same message as a migration may rewrite it: other UID and
	// validity, header folded, extra trace fields, different body bytes.
	b := []byte("Received: from x\r\nMessage-Id:\r\n <abc@example.com> \r\nDate: Mon, 2 Jun 2025\r\n  10:00:00 +0000\r\n\r\nbody changed\r\n")
	otherDate := []byte("Message-ID: <abc@example.com>\r\nDate: Tue, 3 Jun 2025 10:00:00 +0000\r\n\r\nbody\r\n")
	otherID := []byte("Message-ID: <abd@example.com>\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n\r\nbody\r\n")
	noID := []byte("Date: Mon, 2 Jun 2025 10:00:00 +0000\r\n\r\nbody\r\n")

	ka := RescanKey("sales", a, 7, 1)
	if !strings.HasPrefix(ka, "imap:sales:mid:") || len(ka) != len("imap:sales:mid:")+32 {
		t.Fatalf("RescanKey = %q", ka)
	}
	if kb := RescanKey("sales", b, 9, 300); kb != ka {
		t.Errorf("same message, different keys: %q, %q", ka, kb)
	}
	if k := RescanKey("sales", otherDate, 7, 1); k == ka {
		t.Error("a reused Message-ID with another Date got the same key")
	}
	if k := RescanKey("sales", otherID, 7, 1); k == ka {
		t.Error("another Message-ID got the same key")
	}
	if k := RescanKey("support", a, 7, 1); k == ka {
		t.Error("another mailbox got the same key")
	}
	if k := RescanKey("sales", noID, 7, 5); k != SourceKey("sales", 7, 5) {
		t.Errorf("without Message-ID: %q, want the UID key", k)
	}
	if k := RescanKey("sales", []byte("\x00garbage without header end"), 7, 5); k != SourceKey("sales", 7, 5) {
		t.Errorf("unreadable header: %q, want the UID key", k)
	}
}

func FuzzRescanKey(f *testing.F) {
	f.Add([]byte("Message-ID: <a@b>\r\nDate: x\r\n\r\n"))
	f.Add([]byte("Message-ID:\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		k := RescanKey("n", raw, 1, 2)
		if !strings.HasPrefix(k, "imap:n:") || strings.ContainsAny(k, "\r\n ") {
			t.Fatalf("key %q", k)
		}
	})
}
