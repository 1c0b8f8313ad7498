package testenv

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"
	"go.uber.org/goleak"
)

// imapServer is what both test IMAP servers offer.
type imapServer interface {
	Append(t testing.TB, folder string, raw []byte, flags ...imap.Flag) imap.UID
	Count(t testing.TB, folder string) int
	Messages(t testing.TB, folder string) []StoredMessage
	CreateMailbox(t testing.TB, folder string)
	ResetUIDValidity(t testing.TB, folder string) (before, after uint32)
	UIDValidity(t testing.TB, folder string) uint32
	SetFlags(t testing.TB, folder string, uid imap.UID, add bool, flags ...imap.Flag)
	Restart(t testing.TB)
}

func testMessage(n int) []byte {
	return fmt.Appendf(nil, "From: a@example.com\r\nTo: desk@example.com\r\n"+
		"Subject: test %d\r\nMessage-ID: <%d@example.com>\r\n\r\nbody %d\r\n", n, n, n)
}

// exerciseServer checks the helpers every server must support.
func exerciseServer(t *testing.T, s imapServer) {
	if n := s.Count(t, "INBOX"); n != 0 {
		t.Fatalf("new INBOX has %d messages", n)
	}
	s.Append(t, "INBOX", testMessage(1))
	uid := s.Append(t, "INBOX", testMessage(2), "$Custom", imap.FlagSeen)
	if n := s.Count(t, "INBOX"); n != 2 {
		t.Fatalf("Count = %d, want 2", n)
	}
	msgs := s.Messages(t, "INBOX")
	if len(msgs) != 2 || !bytes.Equal(msgs[1].Raw, testMessage(2)) || msgs[1].UID != uid {
		t.Fatalf("Messages = %+v", msgs)
	}
	if msgs[0].HasFlag(imap.FlagSeen) {
		t.Error("reading the messages set \\Seen")
	}
	if !msgs[1].HasFlag("$custom") || !msgs[1].HasFlag(imap.FlagSeen) {
		t.Errorf("flags of message 2 = %v", msgs[1].Flags)
	}
	s.SetFlags(t, "INBOX", uid, false, "$Custom")
	if m := s.Messages(t, "INBOX")[1]; m.HasFlag("$Custom") {
		t.Errorf("flag not removed: %v", m.Flags)
	}

	s.CreateMailbox(t, "Support")
	s.Append(t, "Support", testMessage(3), "$Frontdesk")
	before, after := s.ResetUIDValidity(t, "Support")
	if before == after || s.UIDValidity(t, "Support") != after {
		t.Fatalf("UIDVALIDITY %d -> %d", before, after)
	}
	got := s.Messages(t, "Support")
	if len(got) != 1 || !got[0].HasFlag("$Frontdesk") || !bytes.Equal(got[0].Raw, testMessage(3)) {
		t.Fatalf("after reset: %+v", got)
	}

	s.Restart(t)
	if n := s.Count(t, "INBOX"); n != 2 {
		t.Fatalf("after restart Count = %d, want 2", n)
	}
}

func TestIMAPMem(t *testing.T) {
	noLeaks(t)
	exerciseServer(t, StartIMAPMem(t))
}

func TestIMAPMemUsers(t *testing.T) {
	noLeaks(t)
	m := StartIMAPMem(t, IMAPUser{"a", "pa"}, IMAPUser{"b", "pb"})
	m.Append(t, "INBOX", testMessage(1))
	b := IMAPAccount{Host: m.Host, Port: m.Port, Username: "b", Password: "pb"}
	if n := b.Count(t, "INBOX"); n != 0 {
		t.Fatalf("user b sees %d messages of user a", n)
	}
	wrong := IMAPAccount{Host: m.Host, Port: m.Port, Username: "a", Password: "nope"}
	if _, err := wrong.DialIMAP(); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
}

func TestIMAPMemTLS(t *testing.T) {
	noLeaks(t)
	m := StartIMAPMemWith(t, IMAPMemOptions{TLS: true})
	c, err := dialIMAP(m.TLSAddr(), m.Username, m.Password, &tls.Config{RootCAs: m.CertPool()})
	if err != nil {
		t.Fatalf("implicit TLS: %v", err)
	}
	_ = c.Close()
	if _, err := dialIMAP(m.TLSAddr(), m.Username, m.Password, &tls.Config{}); err == nil {
		t.Fatal("TLS without trusting the test certificate succeeded")
	}
}

func TestIMAPMemCaps(t *testing.T) {
	noLeaks(t)
	m := StartIMAPMemWith(t, IMAPMemOptions{Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}})
	c := m.Dial(t)
	caps := c.Caps()
	if caps.Has(imap.CapMove) || !caps.Has(imap.CapUIDPlus) || !caps.Has(imap.CapIdle) {
		t.Fatalf("caps = %v", caps)
	}
}

// noLeaks checks, after every cleanup of t has run, that t left no
// goroutine behind. (No TestMain here: this package is shared.)
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}
