package imap

import (
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// Checks woken by the server's announcement of new mail do not ask for
// STATUS; timer-driven checks (here: polling) do.
func TestStatusOnlyOnTimerChecks(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		proxy, acct := startProxy(t, srv.account)
		rec := newRecorder()
		r := start(t, testConfig(acct), rec, newCheckpoints()) // IdleCheck 1h
		for _, id := range ids("w", 3) {
			eventually(t, "idle", func() bool { return r.Status().State == StateIdle })
			srv.Append(t, "INBOX", msg(id, 0))
			eventually(t, "message "+id+" accepted", func() bool { return rec.has(id) })
		}
		if n := proxy.count("STATUS"); n != 0 {
			t.Errorf("%d STATUS commands for checks woken by IDLE, want 0", n)
		}
		r.stop(t)

		cfg := testConfig(acct)
		cfg.DisableIdle = true
		cfg.PollInterval = 10 * time.Millisecond
		r = start(t, cfg, rec, newCheckpoints())
		r.waitPolls(t, 4)
		if n := proxy.count("STATUS"); n < 2 {
			t.Errorf("%d STATUS commands for timer-driven checks, want one per check after the first", n)
		}
	})
}

// The case STATUS guards against: the folder is deleted and re-created
// under a session that idles. New mail in the new folder is not announced
// to the old session; the safety-net check asks STATUS, sees the new
// UIDVALIDITY and starts a session on the new folder, where the mail is
// taken once.
func TestFolderRecreatedUnderIdle(t *testing.T) {
	m := testenv.StartIMAPMem(t)
	m.CreateMailbox(t, "Support")
	m.Append(t, "Support", msg("v0", 0))
	cfg := testConfig(m.IMAPAccount)
	cfg.Folder = "Support"
	cfg.IdleCheck = 50 * time.Millisecond
	rec, cps := newRecorder(), newCheckpoints()
	r := start(t, cfg, rec, cps)
	eventually(t, "first accepted", func() bool { return rec.has("v0") })
	eventually(t, "idle", func() bool { return r.Status().State == StateIdle })
	sessions := r.Status().Sessions

	_, after := m.ResetUIDValidity(t, "Support")
	m.Append(t, "Support", msg("v1", 0))
	eventually(t, "accepted after the re-creation", func() bool { return rec.has("v1") })
	eventually(t, "checkpoint on the new folder", func() bool { return cps.get("imap:support").UIDValidity == after })
	st := r.Status()
	if st.Sessions <= sessions || st.LastErrorKind != KindMailbox {
		t.Errorf("status after the re-creation: %+v", st)
	}
	rec.checkOnce(t, "v0", "v1")
}
