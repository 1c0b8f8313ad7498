package testenv

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"go.uber.org/goleak"
)

// noLeak checks, when the test ends (after the server's own cleanup), that
// no goroutine is left behind. The package has no TestMain of its own, as
// other files of testenv belong to other people.
func noLeak(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

const testMsg = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\nMessage-ID: <m1@example.com>\r\n\r\nbody\r\n"

func send(c *smtp.Client, from, to, msg string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

func dial(t *testing.T, s *SMTPServer) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestSMTPServerRecords(t *testing.T) {
	noLeak(t)
	s := StartSMTP(t)
	c := dial(t, s)
	before := time.Now()
	if err := send(c, "a@example.com", "b@example.com", testMsg); err != nil {
		t.Fatal(err)
	}
	got := s.WaitFor(1, 10*time.Second)
	if len(got) != 1 || s.Count() != 1 {
		t.Fatalf("got %d messages", len(got))
	}
	r := got[0]
	if r.From != "a@example.com" || len(r.To) != 1 || r.To[0] != "b@example.com" {
		t.Errorf("envelope = %q %q", r.From, r.To)
	}
	if string(r.Raw) != testMsg {
		t.Errorf("raw = %q", r.Raw)
	}
	if r.MessageID != "m1@example.com" {
		t.Errorf("MessageID = %q", r.MessageID)
	}
	if subj, _ := r.Header.Subject(); subj != "hi" {
		t.Errorf("Subject = %q", subj)
	}
	if r.At.Before(before) || r.TLS || r.User != "" {
		t.Errorf("At=%v TLS=%v User=%q", r.At, r.TLS, r.User)
	}
	if s.Connections() != 1 {
		t.Errorf("Connections = %d", s.Connections())
	}
}

func TestSMTPServerAuth(t *testing.T) {
	noLeak(t)
	s := StartSMTP(t, WithSMTPAuth("desk", "secret"))
	c := dial(t, s)
	if err := send(c, "a@example.com", "b@example.com", testMsg); err == nil {
		t.Fatal("MAIL without AUTH accepted")
	}
	if err := c.Auth(sasl.NewPlainClient("", "desk", "wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	c2 := dial(t, s)
	if err := c2.Auth(sasl.NewLoginClient("desk", "secret")); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	if err := send(c2, "a@example.com", "b@example.com", testMsg); err != nil {
		t.Fatal(err)
	}
	if got := s.WaitFor(1, 10*time.Second); len(got) != 1 || got[0].User != "desk" {
		t.Fatalf("messages = %+v", got)
	}
}

func TestSMTPServerStartTLS(t *testing.T) {
	noLeak(t)
	cert, pool := SMTPCert(t)
	s := StartSMTP(t, WithSMTPStartTLS(cert))
	c, err := smtp.DialStartTLS(s.Addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := send(c, "a@example.com", "b@example.com", testMsg); err != nil {
		t.Fatal(err)
	}
	if got := s.WaitFor(1, 10*time.Second); len(got) != 1 || !got[0].TLS {
		t.Fatalf("messages = %+v", got)
	}
}

func TestSMTPServerFaults(t *testing.T) {
	noLeak(t)
	s := StartSMTP(t)
	code := func(err error) int {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se.Code
		}
		return 0
	}

	s.SetFault(Fault{Stage: AtRcpt, Code: 550, Times: 1})
	c := dial(t, s)
	if err := send(c, "a@example.com", "b@example.com", testMsg); code(err) != 550 {
		t.Errorf("RCPT fault: %v", err)
	}
	_ = c.Reset()
	if err := send(c, "a@example.com", "b@example.com", testMsg); err != nil {
		t.Errorf("after Times ran out: %v", err)
	}

	s.SetFault(Fault{Stage: AtData, Code: 451})
	if err := send(c, "a@example.com", "b@example.com", testMsg); code(err) != 451 {
		t.Errorf("DATA fault: %v", err)
	}
	s.SetFault(Fault{Stage: AtMail, Code: 421})
	if err := send(c, "a@example.com", "b@example.com", testMsg); code(err) != 421 {
		t.Errorf("MAIL fault: %v", err)
	}
	s.SetFault(Fault{})

	greet := func() error { // go-smtp's client reads the greeting lazily
		c, err := smtp.Dial(s.Addr)
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Hello("localhost")
	}
	s.SetFault(Fault{Refuse: true})
	if err := greet(); err == nil {
		t.Error("refused connection greeted")
	}
	s.SetFault(Fault{Stage: AtConnect, Code: 421})
	if err := greet(); code(err) != 421 {
		t.Errorf("AtConnect: %v", err)
	}
	s.SetFault(Fault{})

	s.SetFault(Fault{Hang: time.Hour}) // ended by the cleanup, not waited for
	c2 := dial(t, s)
	if err := c2.Mail("a@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := c2.Rcpt("b@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c2.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("DATA answered during a hang: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	s.DropConnections()
	if err := <-closed; err == nil {
		t.Error("dropped connection still accepted the message")
	}
	if s.Count() != 1 {
		t.Errorf("Count = %d, want 1 (faulted messages are not recorded)", s.Count())
	}
	if s.FaultsFired() != 6 {
		t.Errorf("FaultsFired = %d, want 6", s.FaultsFired())
	}
	if !strings.Contains(s.Addr, "127.0.0.1:") {
		t.Errorf("Addr = %q", s.Addr)
	}
}

// TestSMTPServerStopsUnused stops servers that were never used, which once
// raced with go-smtp's Serve registering its listener and hung.
func TestSMTPServerStopsUnused(t *testing.T) {
	noLeak(t)
	for range 50 {
		t.Run("", func(t *testing.T) { StartSMTP(t) })
	}
}

func TestSMTPServerReceiving(t *testing.T) {
	noLeak(t)
	s := StartSMTP(t)
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c := textproto.NewConn(nc)
	t.Cleanup(func() { _ = c.Close() })
	step := func(want int, format string, args ...any) {
		t.Helper()
		if format != "" {
			if err := c.PrintfLine(format, args...); err != nil {
				t.Fatal(err)
			}
		}
		if _, msg, err := c.ReadResponse(want); err != nil {
			t.Fatalf("%q: %v %s", format, err, msg)
		}
	}
	step(220, "")
	step(250, "EHLO client.test")
	step(250, "MAIL FROM:<a@example.com>")
	step(250, "RCPT TO:<b@example.com>")
	step(354, "DATA")
	if len(s.Receiving()) != 0 {
		t.Fatal("content before any line")
	}
	is := func(want string) func([][]byte) bool {
		return func(open [][]byte) bool { return len(open) == 1 && string(open[0]) == want }
	}
	if _, err := io.WriteString(nc, "Subject: x\r\n\r\n..stuffed\r\npartial"); err != nil {
		t.Fatal(err)
	}
	if !s.WaitReceiving(is("Subject: x\r\n\r\n.stuffed\r\n"), 10*time.Second) {
		t.Fatalf("Receiving = %q", s.Receiving())
	}
	if _, err := io.WriteString(nc, " line\r\n"); err != nil {
		t.Fatal(err)
	}
	if !s.WaitReceiving(is("Subject: x\r\n\r\n.stuffed\r\npartial line\r\n"), 10*time.Second) {
		t.Fatalf("Receiving = %q", s.Receiving())
	}
	if s.Count() != 0 {
		t.Fatal("recorded before the final dot")
	}
	step(250, ".")
	if got := s.Messages(); len(got) != 1 || string(got[0].Raw) != "Subject: x\r\n\r\n.stuffed\r\npartial line\r\n" {
		t.Fatalf("messages %+v", got)
	}
	if open := s.Receiving(); len(open) != 0 {
		t.Fatalf("still receiving %q after the reply", open)
	}
}

func TestSMTPServerDrop(t *testing.T) {
	noLeak(t)
	s := StartSMTP(t)
	s.SetFault(Fault{Drop: true, Times: 1})
	c := dial(t, s)
	err := send(c, "a@example.com", "b@example.com", testMsg)
	var se *smtp.SMTPError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("send = %v; want the connection to drop without a reply", err)
	}
	if s.Count() != 0 || s.FaultsFired() != 1 || len(s.Receiving()) != 0 {
		t.Fatalf("Count %d, FaultsFired %d, Receiving %q", s.Count(), s.FaultsFired(), s.Receiving())
	}
	if err := send(dial(t, s), "a@example.com", "b@example.com", testMsg); err != nil {
		t.Fatalf("after the drop: %v", err)
	}
}
