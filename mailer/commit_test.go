package mailer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
	mail "github.com/wneessen/go-mail"
)

// textAck is an acknowledgement without HTML, so its wire form is the same
// every time it is built (no random MIME boundary).
func textAck(i int) Outgoing {
	o := ackN(i)
	o.HTML = ""
	return o
}

// content is what the peer records for o: the built message, ending in a
// line break.
func content(t testing.TB, o Outgoing) []byte {
	t.Helper()
	b := render(t, o)
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		b = append(b, "\r\n"...)
	}
	return b
}

// receivingExactly is a WaitReceiving condition: one open transaction,
// holding want.
func receivingExactly(want []byte) func([][]byte) bool {
	return func(open [][]byte) bool { return len(open) == 1 && bytes.Equal(open[0], want) }
}

type ctxKey struct{}

func TestSMTPBeforeCommitRunsBetweenContentAndDot(t *testing.T) {
	cert, pool := testenv.SMTPCert(t)
	for _, tc := range []struct {
		name string
		opts []testenv.SMTPOption
		tls  string
	}{
		{"plain", nil, TLSNone},
		{"implicit TLS", []testenv.SMTPOption{testenv.WithSMTPImplicitTLS(cert)}, TLSImplicit},
		{"STARTTLS", []testenv.SMTPOption{testenv.WithSMTPStartTLS(cert)}, TLSStartTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.StartSMTP(t, tc.opts...)
			cfg := plainConfig(srv)
			cfg.TLS, cfg.RootCAs, cfg.PoolSize = tc.tls, pool, 1
			s := newSender(t, cfg)
			for i := range 3 { // the first on a new connection, the others reused
				o := textAck(i)
				want := content(t, o)
				calls := 0
				o.BeforeCommit = func(ctx context.Context) error {
					calls++
					if ctx.Value(ctxKey{}) != "send" {
						t.Error("BeforeCommit did not get Send's context")
					}
					// Everything but the dot is at the peer: it has the whole
					// content in an open transaction, and has recorded nothing.
					if !srv.WaitReceiving(receivingExactly(want), waitLong) {
						t.Errorf("message %d: the peer has %q when BeforeCommit runs; want the whole content", i, srv.Receiving())
					}
					if n := srv.Count(); n != i {
						t.Errorf("message %d: the peer recorded %d messages before the dot", i, n)
					}
					return nil
				}
				if err := s.Send(context.WithValue(t.Context(), ctxKey{}, "send"), o); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
				if calls != 1 {
					t.Fatalf("message %d: BeforeCommit called %d times", i, calls)
				}
				got := srv.Messages() // Send returned nil: the peer has it already
				if len(got) != i+1 || !bytes.Equal(got[i].Raw, want) || got[i].MessageID != o.MessageID {
					t.Fatalf("message %d: the peer has %d messages", i, len(got))
				}
			}
			if srv.Connections() != 1 {
				t.Errorf("%d connections for 3 messages", srv.Connections())
			}
		})
	}
}

func TestSMTPBeforeCommitErrorAbandons(t *testing.T) {
	srv := testenv.StartSMTP(t)
	cfg := plainConfig(srv)
	cfg.PoolSize = 1
	s := newSender(t, cfg)
	sendOne(t, s, textAck(1)) // leaves one connection in the pool

	hookErr := errors.New("ledger unavailable")
	o := textAck(2)
	calls := 0
	o.BeforeCommit = func(context.Context) error {
		calls++
		if !srv.WaitReceiving(receivingExactly(content(t, o)), waitLong) {
			t.Errorf("the peer has %q when BeforeCommit runs", srv.Receiving())
		}
		return hookErr
	}
	err := s.Send(t.Context(), o)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, hookErr) || !e.Temporary() || IsPermanent(err) || e.Stage != StageCommit || AfterCommit(err) {
		t.Fatalf("Send = %v; want a temporary commit error wrapping the hook's, AfterCommit false", err)
	}
	if calls != 1 {
		t.Fatalf("BeforeCommit called %d times", calls)
	}
	// The peer saw the connection end without the dot: the transaction is
	// gone and nothing was recorded.
	if !srv.WaitReceiving(func(open [][]byte) bool { return len(open) == 0 }, waitLong) {
		t.Fatalf("the abandoned transaction is still open at the peer: %q", srv.Receiving())
	}
	if got := srv.Messages(); len(got) != 1 || got[0].MessageID != textAck(1).MessageID {
		t.Fatalf("the peer has %d messages; want only the first", len(got))
	}
	// The connection was not reused: the next message opens another.
	sendOne(t, s, textAck(3))
	got := srv.Messages()
	if len(got) != 2 || got[1].MessageID != textAck(3).MessageID || srv.Connections() != 2 {
		t.Fatalf("%d messages over %d connections; want 2 over 2", len(got), srv.Connections())
	}
}

func TestSMTPBeforeCommitContextEndsInHook(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	o := textAck(1)
	o.BeforeCommit = func(context.Context) error {
		cancel()
		return nil // a hook that did not notice
	}
	err := s.Send(ctx, o)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, context.Canceled) || !e.Temporary() || e.Stage != StageCommit || AfterCommit(err) {
		t.Fatalf("Send = %v; want a temporary commit error, AfterCommit false", err)
	}
	if !srv.WaitReceiving(func(open [][]byte) bool { return len(open) == 0 }, waitLong) || srv.Count() != 0 {
		t.Fatalf("the peer has %d messages, open %q; want none", srv.Count(), srv.Receiving())
	}
}

func TestSMTPDefiniteReplyToDot(t *testing.T) {
	for _, tc := range []struct {
		name      string
		code      int
		permanent bool
		enhanced  string
	}{
		{"451", 451, false, "4.0.0"},
		{"550", 550, true, "5.0.0"},
		{"554", 554, true, "5.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.StartSMTP(t)
			s := newSender(t, plainConfig(srv))
			srv.SetFault(testenv.Fault{Stage: testenv.AtData, Code: tc.code, Times: 1})
			o := textAck(1)
			calls := 0
			o.BeforeCommit = func(context.Context) error { calls++; return nil }
			err := s.Send(t.Context(), o)
			var e *Error
			if !errors.As(err, &e) || e.Stage != StageData || e.Code != tc.code || e.Enhanced != tc.enhanced ||
				IsPermanent(err) != tc.permanent || AfterCommit(err) {
				t.Fatalf("Send = %v (stage %v code %v enhanced %q); want stage data, code %d, enhanced %q, permanent %v, AfterCommit false",
					err, e.Stage, e.Code, e.Enhanced, tc.code, tc.enhanced, tc.permanent)
			}
			if calls != 1 || srv.Count() != 0 || srv.FaultsFired() != 1 {
				t.Fatalf("BeforeCommit called %d times; %d messages; %d faults", calls, srv.Count(), srv.FaultsFired())
			}
		})
	}
}

func TestSMTPUnknownOutcomeAfterDot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  testenv.Fault
		cancel bool // end the context once the peer has the dot
		hook   bool
		is     error
	}{
		{"hang until timeout", testenv.Fault{Hang: time.Minute, Times: 1}, false, true, os.ErrDeadlineExceeded},
		{"hang until timeout, no hook", testenv.Fault{Hang: time.Minute, Times: 1}, false, false, os.ErrDeadlineExceeded},
		{"dropped after the dot", testenv.Fault{Drop: true, Times: 1}, false, true, nil},
		{"context ends while waiting", testenv.Fault{Hang: time.Minute, Times: 1}, true, true, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testenv.StartSMTP(t)
			cfg := plainConfig(srv)
			if !tc.cancel {
				cfg.Timeout = time.Second // the hang outlasts it
			}
			s := newSender(t, cfg)
			srv.SetFault(tc.fault)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancel {
				var wg sync.WaitGroup
				defer wg.Wait()
				wg.Go(func() {
					// The fault fires once the peer has read the dot.
					for srv.FaultsFired() == 0 && ctx.Err() == nil {
						time.Sleep(time.Millisecond)
					}
					cancel()
				})
			}
			o := textAck(1)
			calls := 0
			if tc.hook {
				o.BeforeCommit = func(context.Context) error { calls++; return nil }
			}
			err := s.Send(ctx, o)
			var e *Error
			if !errors.As(err, &e) || !AfterCommit(err) || !e.Temporary() || e.Stage != StageData || e.Code != 0 {
				t.Fatalf("Send = %v; want a temporary data error with AfterCommit true", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Send = %v; want it to wrap %v", err, tc.is)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.hook]; calls != want {
				t.Errorf("BeforeCommit called %d times; want %d", calls, want)
			}
			if srv.FaultsFired() != 1 || srv.Connections() != 1 {
				t.Errorf("%d faults over %d connections; want 1 over 1 (no retry after the dot)", srv.FaultsFired(), srv.Connections())
			}
			// The connection is not reused; service goes on.
			sendOne(t, s, textAck(2))
			if srv.Connections() != 2 || srv.Count() != 1 {
				t.Fatalf("%d messages over %d connections; want 1 over 2", srv.Count(), srv.Connections())
			}
		})
	}
}

// TestSMTPNoRetryOnReusedConnectionAfterDot: a reused connection that dies
// after the dot is not the stale connection Send replaces without a word.
func TestSMTPNoRetryOnReusedConnectionAfterDot(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	sendOne(t, s, textAck(1))
	srv.SetFault(testenv.Fault{Drop: true, Times: 1})
	o := textAck(2)
	calls := 0
	o.BeforeCommit = func(context.Context) error { calls++; return nil }
	err := s.Send(t.Context(), o)
	if !AfterCommit(err) || calls != 1 || srv.Connections() != 1 {
		t.Fatalf("Send = %v, BeforeCommit called %d times, %d connections; want AfterCommit, 1 call, 1 connection", err, calls, srv.Connections())
	}
}

// TestSMTPStaleConnectionRetryRunsHookOnce: a reused connection found dead
// at MAIL FROM is replaced before any content, and the hook runs once, on
// the new one.
func TestSMTPStaleConnectionRetryRunsHookOnce(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	sendOne(t, s, textAck(1))
	srv.DropConnections()
	o := textAck(2)
	calls := 0
	o.BeforeCommit = func(context.Context) error { calls++; return nil }
	if err := s.Send(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 2 || calls != 1 || srv.Connections() != 2 {
		t.Fatalf("%d messages, BeforeCommit called %d times, %d connections; want 2, 1, 2", len(got), calls, srv.Connections())
	}
}

func TestAfterCommit(t *testing.T) {
	unknown := &Error{Stage: StageData, Err: errors.New("EOF"), temp: true, afterCommit: true}
	if !AfterCommit(unknown) || !AfterCommit(errors.Join(errors.New("ack"), unknown)) {
		t.Error("AfterCommit misses an unknown outcome")
	}
	for _, err := range []error{nil, errors.New("x"), context.Canceled, temporary(StageData, errors.New("451")), permanent(StageData, errors.New("550"))} {
		if AfterCommit(err) {
			t.Errorf("AfterCommit(%v) = true", err)
		}
	}
}

func TestEnhancedCode(t *testing.T) {
	for _, tc := range []struct {
		code int
		text string
		want string
	}{
		{550, "5.1.1 No such user", "5.1.1"},
		{451, "4.3.0 Try later", "4.3.0"},
		{550, "4.1.1 class does not match", ""},
		{550, "No such user 5.1.1", ""},
		{550, "5.1 short", ""},
		{550, "5.1111.1 long", ""},
		{550, "", ""},
		{250, "2.0.0 OK", "2.0.0"},
	} {
		if got := enhancedCode(tc.code, tc.text); got != tc.want {
			t.Errorf("enhancedCode(%d, %q) = %q; want %q", tc.code, tc.text, got, tc.want)
		}
	}
}

func TestOutboxBeforeCommit(t *testing.T) {
	dir := t.TempDir()
	b, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	tmpFiles := func() []string {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			if e.Name()[0] == '.' {
				names = append(names, e.Name())
			}
		}
		return names
	}

	t.Run("runs before the link", func(t *testing.T) {
		o := ackN(1) // with HTML: the temporary file is compared with the final one
		var staged []byte
		calls := 0
		o.BeforeCommit = func(context.Context) error {
			calls++
			if _, err := os.Lstat(b.Path(o.MessageID)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the file is in place before the commit: %v", err)
			}
			tmp := tmpFiles()
			if len(tmp) != 1 {
				t.Fatalf("temporary files %v; want one, written", tmp)
			}
			staged, _ = os.ReadFile(dir + "/" + tmp[0])
			return nil
		}
		if err := b.Send(t.Context(), o); err != nil {
			t.Fatal(err)
		}
		final, err := os.ReadFile(b.Path(o.MessageID))
		if err != nil || calls != 1 || len(staged) == 0 || !bytes.Equal(staged, final) {
			t.Fatalf("BeforeCommit called %d times; staged %d bytes, final %d (%v); want the whole file staged", calls, len(staged), len(final), err)
		}
		checkWire(t, final, o)

		// Sent before: the hook still runs, once, and the file stays.
		o.Text = "another body\n"
		calls = 0
		o.BeforeCommit = func(context.Context) error { calls++; return nil }
		if err := b.Send(t.Context(), o); err != nil || calls != 1 {
			t.Fatalf("resend: %v, BeforeCommit called %d times", err, calls)
		}
		if again, _ := os.ReadFile(b.Path(o.MessageID)); !bytes.Equal(again, final) {
			t.Fatal("the resend replaced the file")
		}
	})

	t.Run("error leaves nothing", func(t *testing.T) {
		o := ackN(2)
		hookErr := errors.New("ledger unavailable")
		o.BeforeCommit = func(context.Context) error { return hookErr }
		err := b.Send(t.Context(), o)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, hookErr) || !e.Temporary() || e.Stage != StageCommit || AfterCommit(err) {
			t.Fatalf("Send = %v; want a temporary commit error, AfterCommit false", err)
		}
		if _, err := os.Lstat(b.Path(o.MessageID)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the file exists after a failed commit: %v", err)
		}
		if tmp := tmpFiles(); len(tmp) != 0 {
			t.Fatalf("temporary files left: %v", tmp)
		}
		o.BeforeCommit = nil
		if err := b.Send(t.Context(), o); err != nil {
			t.Fatalf("retry: %v", err)
		}
	})

	t.Run("context ends in the hook", func(t *testing.T) {
		o := ackN(3)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		o.BeforeCommit = func(context.Context) error { cancel(); return nil }
		if err := b.Send(ctx, o); !errors.Is(err, context.Canceled) || IsPermanent(err) || AfterCommit(err) {
			t.Fatalf("Send = %v; want a temporary cancellation, AfterCommit false", err)
		}
		if _, err := os.Lstat(b.Path(o.MessageID)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the file exists: %v", err)
		}
	})
}

// TestSMTPContentWithoutLineEnd: content that does not end in a line break
// (Build's always does) gets one before the hook, so only the dot follows.
func TestSMTPContentWithoutLineEnd(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s := newSender(t, plainConfig(srv))
	m := mail.NewMsg(mail.WithEncoding(mail.NoEncoding)) // 8bit: the peer offers 8BITMIME
	if err := m.From("support@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := m.To("ada@example.org"); err != nil {
		t.Fatal(err)
	}
	m.SetBodyString(mail.TypeTextPlain, "no line end")
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		t.Fatal("the test message ends in a line break")
	}
	want := append(b.Bytes(), "\r\n"...)
	c, err := s.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	err = s.sendOn(t.Context(), c, m, func(context.Context) error {
		if !srv.WaitReceiving(receivingExactly(want), waitLong) {
			t.Errorf("the peer has %q when BeforeCommit runs; want %q", srv.Receiving(), want)
		}
		return nil
	})
	s.release(c, err == nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(); len(got) != 1 || !bytes.Equal(got[0].Raw, want) {
		t.Fatalf("the peer has %+v", got)
	}
}
