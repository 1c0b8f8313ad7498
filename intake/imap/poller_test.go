package imap

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// Messages waiting before the poller starts are all taken, each once,
// without \Seen, then flagged or moved.
func TestTakesWaitingMail(t *testing.T) {
	for _, mode := range []string{"flag", "move"} {
		t.Run(mode, func(t *testing.T) {
			forEachServer(t, func(t *testing.T, srv server) {
				want := ids("m", 7) // more than two batches of 3
				for _, id := range want {
					srv.Append(t, "INBOX", msg(id, 0))
				}
				cfg := testConfig(srv.account)
				if mode == "move" {
					cfg.MoveTo = "Done"
				}
				rec, cps := newRecorder(), newCheckpoints()
				r := start(t, cfg, rec, cps)
				eventually(t, "all messages accepted", func() bool { return rec.has(want...) })
				eventually(t, "idle", func() bool { return r.Status().State == StateIdle })
				rec.checkOnce(t, want...)
				if n := rec.keyCount(); n != len(want) {
					t.Errorf("%d source keys, want %d", n, len(want))
				}

				inbox := srv.Messages(t, "INBOX")
				if mode == "flag" {
					if len(inbox) != len(want) || !allFlagged(inbox, DefaultFlag) {
						t.Errorf("INBOX after taking: %d messages, flagged %v", len(inbox), allFlagged(inbox, DefaultFlag))
					}
				} else {
					done := srv.Messages(t, "Done")
					if len(inbox) != 0 || len(done) != len(want) {
						t.Errorf("INBOX has %d, Done has %d; want 0 and %d", len(inbox), len(done), len(want))
					}
					inbox = done
				}
				for _, m := range inbox {
					if m.HasFlag(imap.FlagSeen) {
						t.Errorf("message %s got \\Seen: fetching must peek", testID(m.Raw))
					}
				}
				st := r.Status()
				cp := cps.get("imap:support")
				if cp.UIDValidity == 0 || cp.LastUID != uint32(len(want)) || cp.LastUID != st.LastUID {
					t.Errorf("checkpoint %+v, status last uid %d", cp, st.LastUID)
				}
				for key := range rec.keys {
					if want := fmt.Sprintf("imap:support:%d:", cp.UIDValidity); !strings.HasPrefix(key, want) {
						t.Errorf("source key %q does not start with %q", key, want)
					}
				}
				if !st.Healthy() || st.Accepted != uint64(len(want)) || st.Sessions != 1 {
					t.Errorf("status %+v", st)
				}
			})
		})
	}
}

// A restarted poller takes nothing twice: the checkpoint skips what it
// has seen (even a message whose flag a person removed), and without the
// checkpoint the flags do.
func TestRestartDoesNotRetake(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		want := ids("r", 4)
		for _, id := range want {
			srv.Append(t, "INBOX", msg(id, 0))
		}
		cfg := testConfig(srv.account)
		cfg.DisableIdle = true
		cfg.PollInterval = 10 * time.Millisecond
		rec, cps := newRecorder(), newCheckpoints()
		r := start(t, cfg, rec, cps)
		eventually(t, "accepted", func() bool { return rec.has(want...) })
		// Stop only once the checkpoint covers them all: a stop between the
		// last Accept and its checkpoint would (rightly) fetch it again.
		newest := srv.Messages(t, "INBOX")[len(want)-1].UID
		eventually(t, "checkpointed", func() bool { return cps.get("imap:"+cfg.Name).LastUID >= uint32(newest) })
		r.stop(t)
		calls := rec.callCount("")

		// Someone clears the flag of the newest message: "UID n:*" still
		// matches it, and it must be filtered out.
		last := srv.Messages(t, "INBOX")[len(want)-1]
		srv.SetFlags(t, "INBOX", last.UID, false, DefaultFlag)

		r = start(t, cfg, rec, cps)
		r.waitPolls(t, 3)
		r.stop(t)
		if n := rec.callCount(""); n != calls {
			t.Fatalf("restart with checkpoint: %d Accept calls, want %d", n, calls)
		}

		// Checkpoint lost: the flags still protect the flagged ones; the
		// unflagged one comes again under its old key.
		r = start(t, cfg, rec, newCheckpoints())
		r.waitPolls(t, 3)
		rec.checkOnce(t, want...)
		if n := rec.keyCount(); n != len(want) {
			t.Errorf("%d source keys after losing the checkpoint, want %d", n, len(want))
		}
		if n := rec.callCount(""); n != calls+1 {
			t.Errorf("%d Accept calls after losing the checkpoint, want %d", n, calls+1)
		}
	})
}

// Mail arriving while the poller idles is taken; the poll and safety-net
// timers are an hour, so only IDLE can explain it.
func TestIdleWakesOnNewMail(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		rec := newRecorder()
		r := start(t, testConfig(srv.account), rec, newCheckpoints())
		for _, id := range ids("i", 3) {
			eventually(t, "idle", func() bool { return r.Status().State == StateIdle })
			if st := r.Status(); !st.Idle || !st.Healthy() {
				t.Fatalf("status while idle: %+v", st)
			}
			srv.Append(t, "INBOX", msg(id, 0))
			eventually(t, "message "+id+" accepted", func() bool { return rec.has(id) })
		}
		rec.checkOnce(t, ids("i", 3)...)
	})
}

// Without IDLE the poller polls.
func TestPollsWithoutIdle(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		cfg := testConfig(srv.account)
		cfg.DisableIdle = true
		cfg.PollInterval = 20 * time.Millisecond
		rec := newRecorder()
		r := start(t, cfg, rec, newCheckpoints())
		eventually(t, "polling", func() bool { return r.Status().State == StatePolling })
		srv.Append(t, "INBOX", msg("p0", 0))
		eventually(t, "accepted", func() bool { return rec.has("p0") })
		if r.Status().Idle {
			t.Error("status says idle with DisableIdle")
		}
	})
}

// When the accept step fails the message stays where it is, unflagged and
// unmoved; after recovery it is taken once.
func TestAcceptFailureKeepsMessage(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		cfg := testConfig(srv.account)
		cfg.MoveTo = "Done"
		rec := newRecorder()
		rec.setFail(errStoreDown)
		srv.Append(t, "INBOX", msg("f0", 0))
		r := start(t, cfg, rec, newCheckpoints())
		eventually(t, "retried accepts", func() bool { return rec.failureCount() >= 3 })
		st := r.Status()
		if !st.Failing || st.LastErrorKind != KindAccept || !strings.Contains(st.LastError, errStoreDown.Error()) {
			t.Errorf("status during the outage: %+v", st)
		}
		inbox := srv.Messages(t, "INBOX")
		if len(inbox) != 1 || inbox[0].HasFlag(DefaultFlag) || inbox[0].HasFlag(imap.FlagSeen) {
			t.Fatalf("during the outage INBOX holds %+v; want the message untouched", inbox)
		}
		if n := srv.Count(t, "Done"); n != 0 {
			t.Fatalf("during the outage Done holds %d messages", n)
		}

		rec.setFail(nil)
		eventually(t, "accepted after recovery", func() bool { return rec.has("f0") })
		eventually(t, "moved", func() bool { return srv.Count(t, "Done") == 1 })
		eventually(t, "healthy", func() bool { return r.Status().Healthy() })
		rec.checkOnce(t, "f0")
		if n := srv.Count(t, "INBOX"); n != 0 {
			t.Errorf("INBOX holds %d after recovery", n)
		}
	})
}

// A server restart cuts the connection; the poller reconnects and goes on.
func TestReconnectsAfterServerRestart(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		rec := newRecorder()
		r := start(t, testConfig(srv.account), rec, newCheckpoints())
		srv.Append(t, "INBOX", msg("c0", 0))
		eventually(t, "first accepted", func() bool { return rec.has("c0") })
		eventually(t, "idle", func() bool { return r.Status().State == StateIdle })

		srv.Restart(t)
		srv.Append(t, "INBOX", msg("c1", 0))
		eventually(t, "accepted after restart", func() bool { return rec.has("c1") })
		st := r.Status()
		if st.Sessions < 2 || st.LastErrorKind != KindNetwork {
			t.Errorf("status after restart: %+v", st)
		}
		rec.checkOnce(t, "c0", "c1")
	})
}

// A UIDVALIDITY change (folder migrated: same messages, same flags, new
// UIDs, one message duplicated) makes nothing twice, whether it happens
// while the poller is down or under a live session.
func TestUIDValidityChange(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		srv.CreateMailbox(t, "Support")
		cfg := testConfig(srv.account)
		cfg.Folder = "Support"
		cfg.DisableIdle = true
		cfg.PollInterval = 10 * time.Millisecond
		if srv.name == "dovecot" {
			// A Dovecot session that has the folder selected while it is
			// re-created sometimes keeps answering from the old folder,
			// without error; only a fresh session sees the new one. (The
			// in-memory server is caught by the STATUS check.)
			cfg.SessionMaxAge = 200 * time.Millisecond
		}
		rec, cps := newRecorder(), newCheckpoints()
		for _, id := range []string{"u0", "u1", "u2"} {
			srv.Append(t, "Support", msg(id, 0))
		}
		r := start(t, cfg, rec, cps)
		eventually(t, "taken", func() bool { return cps.get("imap:support").LastUID == 3 })
		r.stop(t)

		// While the poller is down: new mail, then a migration that also
		// duplicates the new message.
		srv.Append(t, "Support", msg("u3", 0))
		srv.Append(t, "Support", msg("u3", 0))
		_, after := srv.ResetUIDValidity(t, "Support")

		r = start(t, cfg, rec, cps)
		eventually(t, "new mail accepted after the change", func() bool { return rec.has("u3") })
		r.waitPolls(t, 2)
		rec.checkOnce(t, "u0", "u1", "u2", "u3")
		for key := range rec.accepted()["u3"] {
			if !strings.HasPrefix(key, "imap:support:mid:") {
				t.Errorf("rescanned message has key %q, want a content key", key)
			}
		}
		if cp := cps.get("imap:support"); cp.UIDValidity != after {
			t.Errorf("checkpoint %+v after the rescan, want UIDVALIDITY %d", cp, after)
		}
		if msgs := srv.Messages(t, "Support"); len(msgs) != 5 || !allFlagged(msgs, DefaultFlag) {
			t.Errorf("Support: %d messages, all flagged %v", len(msgs), allFlagged(msgs, DefaultFlag))
		}

		// Now under a live session.
		sessions := r.Status().Sessions
		srv.ResetUIDValidity(t, "Support")
		srv.Append(t, "Support", msg("u4", 0))
		eventually(t, "accepted after the live change", func() bool { return rec.has("u4") })
		r.waitPolls(t, 2)
		rec.checkOnce(t, "u0", "u1", "u2", "u3", "u4")
		if st := r.Status(); st.Sessions <= sessions {
			t.Errorf("no new session after the live change: %+v", st)
		}
	})
}

// RELIABILITY LD1: a second client appends, flags and expunges in the
// folder while the poller runs; every appended message is taken exactly
// once.
func TestConcurrentClient(t *testing.T) {
	for _, mode := range []string{"flag", "move"} {
		t.Run(mode, func(t *testing.T) {
			forEachServer(t, func(t *testing.T, srv server) {
				cfg := testConfig(srv.account)
				if mode == "move" {
					cfg.MoveTo = "Done"
				}
				rec := newRecorder()
				start(t, cfg, rec, newCheckpoints())

				want := ids("t", 30)
				var wg sync.WaitGroup
				var clientErr error
				wg.Go(func() { clientErr = secondClient(srv, want) })
				wg.Wait()
				if clientErr != nil {
					t.Fatalf("second client: %v", clientErr)
				}
				eventually(t, "every appended message accepted", func() bool { return rec.has(want...) })
				rec.checkOnce(t, want...)
				for id, keys := range rec.accepted() {
					if strings.HasPrefix(id, "noise") && len(keys) > 1 {
						t.Errorf("%s accepted under %d keys", id, len(keys))
					}
				}
			})
		})
	}
}

// secondClient appends the messages ids; between them it appends noise
// already marked \Deleted, expunges it, and flags earlier messages.
func secondClient(srv server, ids []string) error {
	c, err := srv.DialIMAP()
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return err
	}
	var uids []imap.UID
	for i, id := range ids {
		uid, err := testenv.AppendIMAP(c, "INBOX", msg(id, 0))
		if err != nil {
			return fmt.Errorf("append %s: %w", id, err)
		}
		uids = append(uids, uid)
		noise, err := testenv.AppendIMAP(c, "INBOX", msg(fmt.Sprintf("noise%d", i), 0), imap.FlagDeleted)
		if err != nil {
			return fmt.Errorf("append noise: %w", err)
		}
		if i%3 == 2 {
			if err := c.UIDExpunge(imap.UIDSetNum(noise)).Close(); err != nil {
				return fmt.Errorf("expunge: %w", err)
			}
			flags := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged, imap.FlagSeen}}
			if err := c.Store(imap.UIDSetNum(uids[i-1]), flags, nil).Close(); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
	}
	if err := c.Expunge().Close(); err != nil {
		return fmt.Errorf("final expunge: %w", err)
	}
	return c.Logout().Wait()
}

// Too-large messages are flagged and left for a person, never retried:
// over MaxBytes without being downloaded, over the acceptor's limit after
// one refusal.
func TestTooLarge(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		cfg := testConfig(srv.account)
		cfg.DisableIdle = true
		cfg.PollInterval = 10 * time.Millisecond
		cfg.MaxBytes = 20_000
		rec := newRecorder()
		rec.maxBytes = 5_000
		srv.Append(t, "INBOX", msg("small", 0))
		srv.Append(t, "INBOX", msg("medium", 10_000))
		srv.Append(t, "INBOX", msg("huge", 40_000))
		r := start(t, cfg, rec, newCheckpoints())
		eventually(t, "small accepted", func() bool { return rec.has("small") })
		eventually(t, "two too large", func() bool { return r.Status().TooLarge == 2 })
		r.waitPolls(t, 3)
		if n := rec.callCount("medium"); n != 1 {
			t.Errorf("medium offered %d times, want once", n)
		}
		if n := rec.callCount("huge"); n != 0 {
			t.Errorf("huge offered %d times, want never (over MaxBytes)", n)
		}
		for _, m := range srv.Messages(t, "INBOX") {
			switch id := testID(m.Raw); id {
			case "small":
				if !m.HasFlag(DefaultFlag) || m.HasFlag(TooLargeFlag) {
					t.Errorf("small has flags %v", m.Flags)
				}
			default:
				if !m.HasFlag(TooLargeFlag) || m.HasFlag(DefaultFlag) {
					t.Errorf("%s has flags %v", id, m.Flags)
				}
			}
		}
	})
}

// A missing folder is reported and retried; so is one deleted under a
// running poller.
func TestMissingFolder(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		cfg := testConfig(srv.account)
		cfg.Folder = "Support"
		cfg.DisableIdle = true
		cfg.PollInterval = 10 * time.Millisecond
		rec := newRecorder()
		r := start(t, cfg, rec, newCheckpoints())
		eventually(t, "missing folder reported", func() bool {
			st := r.Status()
			return st.Failing && st.LastErrorKind == KindMailbox && st.Sessions == 0
		})

		srv.CreateMailbox(t, "Support")
		srv.Append(t, "Support", msg("s0", 0))
		eventually(t, "accepted once the folder exists", func() bool { return rec.has("s0") })
		eventually(t, "healthy", func() bool { return r.Status().Healthy() })

		srv.DeleteMailbox(t, "Support")
		eventually(t, "deleted folder reported", func() bool {
			st := r.Status()
			return st.Failing && st.LastErrorKind == KindMailbox
		})
	})
}

// A rejected login is visible, retried slowly, and takes nothing.
func TestLoginRejected(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		srv.Append(t, "INBOX", msg("l0", 0))
		cfg := testConfig(srv.account)
		cfg.Password = "wrong"
		rec := newRecorder()
		r := start(t, cfg, rec, newCheckpoints())
		eventually(t, "auth failure reported", func() bool {
			st := r.Status()
			return st.Failing && st.LastErrorKind == KindAuth && st.State == StateBackoff
		})
		st := r.Status()
		if st.Sessions != 0 || st.Connected || rec.callCount("") != 0 {
			t.Errorf("status %+v, %d accepts", st, rec.callCount(""))
		}
		if wait := st.RetryAt.Sub(st.LastErrorAt); wait < cfg.BackoffMax {
			t.Errorf("retry after %v; a rejected login waits at least BackoffMax (%v)", wait, cfg.BackoffMax)
		}
		if strings.Contains(st.LastError, "wrong") {
			t.Errorf("status shows the password: %s", st.LastError)
		}
	})
}

// Cancelling the context ends Run while idling, and while backing off.
func TestCancelEndsRun(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		r := start(t, testConfig(srv.account), newRecorder(), newCheckpoints())
		eventually(t, "idle", func() bool { return r.Status().State == StateIdle })
		r.stop(t)

		cfg := testConfig(srv.account)
		cfg.Password = "wrong"
		cfg.BackoffMax = time.Hour
		cfg.BackoffMin = time.Hour
		r = start(t, cfg, newRecorder(), newCheckpoints())
		eventually(t, "backoff", func() bool { return r.Status().State == StateBackoff })
		r.stop(t)
	})
}
