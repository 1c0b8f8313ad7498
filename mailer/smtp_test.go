package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// waitLong bounds waits for messages that should already be there; it is
// never the thing a test asserts on.
const waitLong = 10 * time.Second

func newSender(t testing.TB, cfg SMTPConfig) *SMTP {
	t.Helper()
	s, err := NewSMTP(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func plainConfig(srv *testenv.SMTPServer) SMTPConfig {
	return SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: TLSNone, HELO: "frontdesk.test", Timeout: 10 * time.Second}
}

func ackN(i int) Outgoing {
	o := ack()
	o.MessageID = fmt.Sprintf("fd.ack.%d.abcdefghijkl.abcdefghijklmnop@desk.example.com", i)
	return o
}

func sendOne(t *testing.T, s Sender, o Outgoing) {
	t.Helper()
	if err := s.Send(t.Context(), o); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func TestSMTPPlain(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	o := ack()
	o.EnvelopeFrom = "bounces@example.com"
	sendOne(t, s, o)
	got := srv.WaitFor(1, waitLong)
	if len(got) != 1 {
		t.Fatalf("%d messages at the peer", len(got))
	}
	r := got[0]
	if r.From != "bounces@example.com" || len(r.To) != 1 || r.To[0] != "ada@example.org" {
		t.Errorf("envelope %q -> %q", r.From, r.To)
	}
	if r.MessageID != o.MessageID || r.TLS || r.User != "" {
		t.Errorf("received %q tls=%v user=%q", r.MessageID, r.TLS, r.User)
	}
	checkWire(t, r.Raw, o) // the headers on the wire, exactly as intended
}

func TestSMTPEnvelopeDefaultsToFrom(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	sendOne(t, s, ack())
	if got := srv.WaitFor(1, waitLong); len(got) != 1 || got[0].From != "support@example.com" {
		t.Fatalf("messages: %+v", got)
	}
}

func TestSMTPAuth(t *testing.T) {
	for _, tc := range []struct {
		name       string
		offer      []string
		mechanism  string
		pass       string
		wantErr    bool
		wantInCode int
	}{
		{"plain picked", []string{"PLAIN", "LOGIN"}, AuthAuto, "secret", false, 0},
		{"login when only login", []string{"LOGIN"}, AuthAuto, "secret", false, 0},
		{"login forced", []string{"PLAIN", "LOGIN"}, AuthLogin, "secret", false, 0},
		{"plain forced", []string{"PLAIN"}, AuthPlain, "secret", false, 0},
		{"wrong password", []string{"PLAIN"}, AuthAuto, "wrong", true, 535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.StartSMTP(t, testenv.WithSMTPAuth("desk", "secret", tc.offer...))
			cfg := plainConfig(srv)
			cfg.Username, cfg.Password, cfg.AuthMechanism = "desk", tc.pass, tc.mechanism
			s := newSender(t, cfg)
			err := s.Send(t.Context(), ack())
			if tc.wantErr {
				var e *Error
				if !errors.As(err, &e) || !e.Temporary() || e.Stage != StageConnect || e.Code != tc.wantInCode {
					t.Fatalf("Send = %v; want a temporary connect error with code %d", err, tc.wantInCode)
				}
				if strings.Contains(err.Error(), "wrong") {
					t.Error("the password shows in the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.WaitFor(1, waitLong); len(got) != 1 || got[0].User != "desk" {
				t.Fatalf("messages: %+v", got)
			}
		})
	}
}

func TestSMTPAuthRequiredButNotConfigured(t *testing.T) {
	srv := testenv.StartSMTP(t, testenv.WithSMTPAuth("desk", "secret"))
	s := newSender(t, plainConfig(srv))
	err := s.Send(t.Context(), ack())
	if err == nil || IsPermanent(err) {
		t.Fatalf("Send = %v; want a temporary error", err)
	}
}

func TestSMTPStartTLS(t *testing.T) {
	cert, pool := testenv.SMTPCert(t)
	srv := testenv.StartSMTP(t, testenv.WithSMTPStartTLS(cert), testenv.WithSMTPAuth("desk", "secret"))

	t.Run("verified", func(t *testing.T) {
		cfg := plainConfig(srv)
		cfg.TLS, cfg.RootCAs, cfg.Username, cfg.Password = TLSStartTLS, pool, "desk", "secret"
		sendOne(t, newSender(t, cfg), ackN(1))
	})
	t.Run("insecure skip verify", func(t *testing.T) {
		cfg := plainConfig(srv)
		cfg.TLS, cfg.InsecureSkipVerify = TLSStartTLS, true
		cfg.Username, cfg.Password = "desk", "secret"
		sendOne(t, newSender(t, cfg), ackN(2))
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		cfg := plainConfig(srv)
		cfg.TLS, cfg.Username, cfg.Password = TLSStartTLS, "desk", "secret"
		err := newSender(t, cfg).Send(t.Context(), ackN(3))
		if err == nil || IsPermanent(err) {
			t.Fatalf("Send = %v; want a temporary error", err)
		}
	})
	got := srv.WaitFor(2, waitLong)
	if len(got) != 2 {
		t.Fatalf("%d messages", len(got))
	}
	for _, r := range got {
		if !r.TLS || r.User != "desk" {
			t.Errorf("message %s: tls=%v user=%q", r.MessageID, r.TLS, r.User)
		}
	}
}

func TestSMTPStartTLSMissing(t *testing.T) {
	srv := testenv.StartSMTP(t) // no STARTTLS offered
	cfg := plainConfig(srv)
	cfg.TLS = TLSStartTLS
	err := newSender(t, cfg).Send(t.Context(), ack())
	var e *Error
	if !errors.As(err, &e) || !e.Temporary() || e.Stage != StageConnect {
		t.Fatalf("Send = %v; want a temporary connect error", err)
	}
	if srv.Count() != 0 {
		t.Fatal("a message went out in the clear")
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	cert, pool := testenv.SMTPCert(t)
	srv := testenv.StartSMTP(t, testenv.WithSMTPImplicitTLS(cert), testenv.WithSMTPAuth("desk", "secret", "PLAIN"))
	cfg := plainConfig(srv)
	cfg.TLS, cfg.RootCAs, cfg.Username, cfg.Password = TLSImplicit, pool, "desk", "secret"
	s := newSender(t, cfg)
	for i := range 3 {
		sendOne(t, s, ackN(i))
	}
	got := srv.WaitFor(3, waitLong)
	if len(got) != 3 || !got[0].TLS || got[0].User != "desk" {
		t.Fatalf("messages: %+v", got)
	}
	if srv.Connections() != 1 {
		t.Errorf("%d connections for 3 messages", srv.Connections())
	}
}

func TestSMTPFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     testenv.Fault
		permanent bool
		stage     string
		code      int
	}{
		{"451 at RCPT", testenv.Fault{Stage: testenv.AtRcpt, Code: 451}, false, StageRcpt, 451},
		{"421 at RCPT", testenv.Fault{Stage: testenv.AtRcpt, Code: 421}, false, StageRcpt, 421},
		{"550 at RCPT", testenv.Fault{Stage: testenv.AtRcpt, Code: 550}, true, StageRcpt, 550},
		{"451 at DATA", testenv.Fault{Stage: testenv.AtData, Code: 451}, false, StageData, 451},
		{"554 at DATA", testenv.Fault{Stage: testenv.AtData, Code: 554}, true, StageData, 554},
		{"452 at MAIL", testenv.Fault{Stage: testenv.AtMail, Code: 452}, false, StageMail, 452},
		{"553 at MAIL", testenv.Fault{Stage: testenv.AtMail, Code: 553}, true, StageMail, 553},
		{"421 greeting", testenv.Fault{Stage: testenv.AtConnect, Code: 421}, false, StageConnect, 421},
		{"554 greeting", testenv.Fault{Stage: testenv.AtConnect, Code: 554}, false, StageConnect, 554},
		{"refused", testenv.Fault{Refuse: true}, false, StageConnect, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.StartSMTP(t)
			s := newSender(t, plainConfig(srv))
			srv.SetFault(tc.fault)
			err := s.Send(t.Context(), ack())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Send = %v; want an *Error", err)
			}
			if IsPermanent(err) != tc.permanent || e.Temporary() == tc.permanent || e.Stage != tc.stage || e.Code != tc.code {
				t.Fatalf("Send = %v (stage %s, code %d, temporary %v); want stage %s, code %d, permanent %v",
					err, e.Stage, e.Code, e.Temporary(), tc.stage, tc.code, tc.permanent)
			}
			if srv.Count() != 0 {
				t.Fatal("the faulted message was accepted")
			}
			// Service back: the retry is delivered, once.
			srv.SetFault(testenv.Fault{})
			sendOne(t, s, ack())
			if got := srv.WaitFor(1, waitLong); len(got) != 1 {
				t.Fatalf("%d messages after the retry", len(got))
			}
		})
	}
}

func TestSMTPHangTimesOut(t *testing.T) {
	srv := testenv.StartSMTP(t)
	cfg := plainConfig(srv)
	cfg.Timeout = time.Second
	s := newSender(t, cfg)
	srv.SetFault(testenv.Fault{Hang: time.Minute, Times: 1})
	err := s.Send(t.Context(), ack())
	var e *Error
	if !errors.As(err, &e) || !e.Temporary() || e.Stage != StageData {
		t.Fatalf("Send = %v; want a temporary data error", err)
	}
	sendOne(t, s, ack())
	if got := srv.WaitFor(1, waitLong); len(got) != 1 || srv.Connections() != 2 {
		t.Fatalf("%d messages over %d connections; want 1 over 2 (the hung one is dropped)", len(got), srv.Connections())
	}
}

func TestSMTPContextCancels(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv)) // 10 s timeout: the context must end it first
	srv.SetFault(testenv.Fault{Hang: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, ack())
	if !errors.Is(err, context.DeadlineExceeded) || IsPermanent(err) {
		t.Fatalf("Send = %v; want a temporary deadline error", err)
	}
	srv.SetFault(testenv.Fault{})
	sendOne(t, s, ack())
}

func TestSMTPReusesOneConnection(t *testing.T) {
	srv := testenv.StartSMTP(t)
	cfg := plainConfig(srv)
	cfg.PoolSize = 1
	s := newSender(t, cfg)
	for i := range 100 {
		sendOne(t, s, ackN(i))
	}
	got := srv.WaitFor(100, waitLong)
	if len(got) != 100 || srv.Connections() != 1 {
		t.Fatalf("%d messages over %d connections; want 100 over 1", len(got), srv.Connections())
	}
	for i, r := range got {
		if r.MessageID != ackN(i).MessageID {
			t.Fatalf("message %d is %s", i, r.MessageID)
		}
	}
}

func TestSMTPConcurrentPool(t *testing.T) {
	srv := testenv.StartSMTP(t)
	cfg := plainConfig(srv)
	cfg.PoolSize, cfg.MaxPerConn = 3, 1<<30
	s := newSender(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if err := s.Send(t.Context(), ackN(w*25+i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := srv.WaitFor(200, waitLong)
	ids := map[string]bool{}
	for _, r := range got {
		ids[r.MessageID] = true
	}
	if len(got) != 200 || len(ids) != 200 {
		t.Fatalf("%d messages, %d distinct; want 200 each", len(got), len(ids))
	}
	if srv.Connections() > 3 {
		t.Errorf("%d connections for a pool of 3", srv.Connections())
	}
}

func TestSMTPReconnectsAfterDrop(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	sendOne(t, s, ackN(1))
	srv.WaitFor(1, waitLong)
	srv.DropConnections()
	sendOne(t, s, ackN(2)) // the dead connection is noticed at MAIL FROM and replaced
	got := srv.WaitFor(2, waitLong)
	if len(got) != 2 || srv.Connections() != 2 {
		t.Fatalf("%d messages over %d connections; want 2 over 2", len(got), srv.Connections())
	}
}

func TestSMTPReplaces421OnReusedConnection(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	sendOne(t, s, ackN(1))
	srv.SetFault(testenv.Fault{Stage: testenv.AtMail, Code: 421, Times: 1})
	sendOne(t, s, ackN(2))
	if got := srv.WaitFor(2, waitLong); len(got) != 2 || srv.Connections() != 2 || srv.FaultsFired() != 1 {
		t.Fatalf("%d messages, %d connections, %d faults", len(got), srv.Connections(), srv.FaultsFired())
	}
}

func TestSMTPMaxPerConn(t *testing.T) {
	srv := testenv.StartSMTP(t)
	cfg := plainConfig(srv)
	cfg.PoolSize, cfg.MaxPerConn = 1, 5
	s := newSender(t, cfg)
	for i := range 12 {
		sendOne(t, s, ackN(i))
	}
	if got := srv.WaitFor(12, waitLong); len(got) != 12 || srv.Connections() != 3 {
		t.Fatalf("%d messages over %d connections; want 12 over 3", len(got), srv.Connections())
	}
}

func TestSMTPIdleTimeout(t *testing.T) {
	srv := testenv.StartSMTP(t)
	cfg := plainConfig(srv)
	cfg.IdleTimeout = time.Nanosecond // every connection is stale by the next send
	s := newSender(t, cfg)
	sendOne(t, s, ackN(1))
	sendOne(t, s, ackN(2))
	if srv.Connections() != 2 {
		t.Fatalf("%d connections; want a new one after the idle timeout", srv.Connections())
	}
}

func TestSMTPBuildErrorIsPermanentAndSendsNothing(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	o := ack()
	o.To.Addr = "not an address"
	err := s.Send(t.Context(), o)
	var e *Error
	if !errors.As(err, &e) || !IsPermanent(err) || e.Stage != StageBuild {
		t.Fatalf("Send = %v; want a permanent build error", err)
	}
	if srv.Connections() != 0 {
		t.Error("connected for an unusable message")
	}
}

func TestSMTPCloseAndPing(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	sendOne(t, s, ack())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := s.Send(t.Context(), ack())
	if !errors.Is(err, ErrClosed) || IsPermanent(err) {
		t.Fatalf("Send after Close = %v; want a temporary ErrClosed", err)
	}
	srv.SetFault(testenv.Fault{Refuse: true})
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping of a refusing server succeeded")
	}
}

func TestNewSMTPValidates(t *testing.T) {
	_, err := NewSMTP(SMTPConfig{Port: 70000, TLS: "ssl", AuthMechanism: "cram-md5", Password: "x", Timeout: -1}, nil)
	if err == nil {
		t.Fatal("NewSMTP accepted a broken config")
	}
	for _, want := range []string{"host", "port", "tls", "auth mechanism", "password without username", "negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	s, err := NewSMTP(SMTPConfig{Host: "mail.example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Port != 587 || s.cfg.TLS != TLSStartTLS || s.cfg.Timeout != DefaultTimeout || s.cfg.PoolSize != DefaultPoolSize {
		t.Errorf("defaults: %+v", s.cfg)
	}
	if s, _ := NewSMTP(SMTPConfig{Host: "h", TLS: TLSImplicit}, nil); s.cfg.Port != 465 {
		t.Errorf("implicit port %d", s.cfg.Port)
	}
}

func TestIsPermanent(t *testing.T) {
	if IsPermanent(nil) || IsPermanent(errors.New("x")) || IsPermanent(context.Canceled) {
		t.Error("unclassified errors must not be permanent")
	}
	wrapped := fmt.Errorf("ack: %w", permanent(StageRcpt, errors.New("550")))
	if !IsPermanent(wrapped) {
		t.Error("wrapped permanent error not recognised")
	}
}
