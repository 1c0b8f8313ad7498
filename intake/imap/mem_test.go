package imap

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// Implicit TLS and STARTTLS, with the server's certificate trusted through
// Config.TLSConfig; an untrusted certificate is a visible TLS error.
func TestTLS(t *testing.T) {
	m := testenv.StartIMAPMemWith(t, testenv.IMAPMemOptions{TLS: true})
	for _, tc := range []struct {
		mode string
		port int
	}{{TLSImplicit, m.TLSPort}, {TLSStartTLS, m.Port}} {
		t.Run(tc.mode, func(t *testing.T) {
			id := "tls-" + tc.mode
			m.Append(t, "INBOX", msg(id, 0))
			cfg := testConfig(m.IMAPAccount)
			cfg.TLS, cfg.Port, cfg.Host = tc.mode, tc.port, "localhost"
			cfg.TLSConfig = &tls.Config{RootCAs: m.CertPool()}
			rec := newRecorder()
			r := start(t, cfg, rec, newCheckpoints())
			eventually(t, "accepted over "+tc.mode, func() bool { return rec.has(id) })
			r.stop(t)

			cfg.TLSConfig = nil // system roots do not know the test CA
			r = start(t, cfg, newRecorder(), newCheckpoints())
			eventually(t, "TLS failure reported", func() bool {
				st := r.Status()
				return st.Failing && st.LastErrorKind == KindTLS
			})
		})
	}
}

// Without MOVE the poller copies, marks \Deleted and expunges by UID; it
// never removes mail it did not take.
func TestMoveWithoutMoveCapability(t *testing.T) {
	m := testenv.StartIMAPMemWith(t, testenv.IMAPMemOptions{
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}},
	})
	// Someone else's message marked \Deleted must survive our expunges.
	m.Append(t, "INBOX", msg("theirs", 0), imap.FlagDeleted, DefaultFlag)
	want := ids("mv", 4)
	for _, id := range want {
		m.Append(t, "INBOX", msg(id, 0))
	}
	cfg := testConfig(m.IMAPAccount)
	cfg.MoveTo = "Archive/Frontdesk"
	rec := newRecorder()
	r := start(t, cfg, rec, newCheckpoints())
	eventually(t, "accepted", func() bool { return rec.has(want...) })
	eventually(t, "idle", func() bool { return r.Status().State == StateIdle })
	if n := m.Count(t, "Archive/Frontdesk"); n != len(want) {
		t.Errorf("Archive/Frontdesk holds %d, want %d", n, len(want))
	}
	rec.checkOnce(t, want...)
	inbox := m.Messages(t, "INBOX")
	if len(inbox) != 1 || testID(inbox[0].Raw) != "theirs" {
		t.Errorf("INBOX after the moves: %d messages", len(inbox))
	}
}

// Without MOVE and UIDPLUS the originals stay marked \Deleted (a bare
// EXPUNGE is not ours to send), and later sessions copy nothing twice.
func TestMoveWithoutUIDPlus(t *testing.T) {
	m := testenv.StartIMAPMemWith(t, testenv.IMAPMemOptions{Caps: imap.CapSet{imap.CapIMAP4rev1: {}}})
	want := ids("np", 3)
	for _, id := range want {
		m.Append(t, "INBOX", msg(id, 0))
	}
	cfg := testConfig(m.IMAPAccount)
	cfg.MoveTo = "Done"
	cfg.DisableIdle = true
	cfg.PollInterval = 10 * time.Millisecond
	rec, cps := newRecorder(), newCheckpoints()
	r := start(t, cfg, rec, cps)
	eventually(t, "accepted", func() bool { return rec.has(want...) })
	r.waitPolls(t, 1)
	r.stop(t)

	// A new session, even without the checkpoint, copies nothing again.
	r = start(t, cfg, rec, newCheckpoints())
	r.waitPolls(t, 3)
	if n := m.Count(t, "Done"); n != len(want) {
		t.Errorf("Done holds %d after a second session, want %d", n, len(want))
	}
	for _, msg := range m.Messages(t, "INBOX") {
		if !msg.HasFlag(imap.FlagDeleted) || !msg.HasFlag(DefaultFlag) {
			t.Errorf("original %s has flags %v", testID(msg.Raw), msg.Flags)
		}
	}
	rec.checkOnce(t, want...)
}

// A move cut short (flag set, message still in the folder) is finished by
// the next session without taking the message again.
func TestFinishesInterruptedMove(t *testing.T) {
	m := testenv.StartIMAPMem(t)
	m.Append(t, "INBOX", msg("half", 0), DefaultFlag)
	cfg := testConfig(m.IMAPAccount)
	cfg.MoveTo = "Done"
	rec := newRecorder()
	r := start(t, cfg, rec, newCheckpoints())
	eventually(t, "idle", func() bool { return r.Status().State == StateIdle })
	if in, done := m.Count(t, "INBOX"), m.Count(t, "Done"); in != 0 || done != 1 {
		t.Errorf("INBOX holds %d, Done %d; want 0 and 1", in, done)
	}
	if n := rec.callCount(""); n != 0 {
		t.Errorf("%d Accept calls for a message already taken", n)
	}
}
