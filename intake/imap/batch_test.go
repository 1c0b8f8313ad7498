package imap

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/internal/testenv"
)

// uidsByID maps the test ids of folder's messages to their UIDs.
func uidsByID(t *testing.T, srv server, folder string) map[string]imap.UID {
	t.Helper()
	out := make(map[string]imap.UID)
	for _, m := range srv.Messages(t, folder) {
		out[testID(m.Raw)] = m.UID
	}
	return out
}

// One accept in the middle of a batch fails (the store went away for that
// message): the messages before it are accepted and marked, the failing one
// stays untouched, messages after it that were accepted meanwhile are
// marked too (they are durable), and the checkpoint stops before the
// failing one. After recovery everything is taken once.
func TestBatchAcceptFailsInTheMiddle(t *testing.T) {
	for _, mode := range []string{"flag", "move"} {
		t.Run(mode, func(t *testing.T) {
			forEachServer(t, func(t *testing.T, srv server) {
				want := ids("b", 6)
				for _, id := range want {
					srv.Append(t, "INBOX", msg(id, 0))
				}
				uid := uidsByID(t, srv, "INBOX")
				cfg := testConfig(srv.account)
				cfg.BatchSize = len(want)
				cfg.AcceptWorkers = 8
				cfg.DisableIdle = true
				cfg.PollInterval = 10 * time.Millisecond
				if mode == "move" {
					cfg.MoveTo = "Done"
				}
				rec, cps := newRecorder(), newCheckpoints()
				rec.failID("b3", errStoreDown)
				r := start(t, cfg, rec, cps)
				// The second failure comes from a later batch: the first
				// one has done its bookkeeping.
				eventually(t, "two failed accepts", func() bool { return rec.failureCount() >= 2 })

				// The poller keeps retrying meanwhile: read the marks first,
				// then the accepts, so that a message marked in between is
				// not mistaken for one marked without being accepted.
				marked := make(map[string]bool)
				for _, m := range srv.Messages(t, "INBOX") {
					if m.HasFlag(imap.FlagSeen) {
						t.Errorf("%s got \\Seen", testID(m.Raw))
					}
					marked[testID(m.Raw)] = m.HasFlag(DefaultFlag)
				}
				if mode == "move" {
					for _, m := range srv.Messages(t, "Done") {
						marked[testID(m.Raw)] = true
					}
				}
				acc := rec.accepted()
				for _, id := range []string{"b0", "b1", "b2"} {
					if len(acc[id]) != 1 || !marked[id] {
						t.Errorf("%s, before the failing message, accepted under %v, marked %v", id, acc[id], marked[id])
					}
				}
				if len(acc["b3"]) != 0 || marked["b3"] {
					t.Fatalf("failing message accepted %v, marked %v", acc["b3"], marked["b3"])
				}
				for _, id := range want {
					// Invariant 1: never marked without being accepted.
					if marked[id] && len(acc[id]) == 0 {
						t.Errorf("%s: marked but not accepted", id)
					}
				}
				if cp := cps.get("imap:support"); cp.LastUID != uint32(uid["b2"]) {
					t.Errorf("checkpoint %+v during the failure, want last UID %d (before the failing message)", cp, uid["b2"])
				}
				if st := r.Status(); !st.Failing || st.LastErrorKind != KindAccept {
					t.Errorf("status during the failure: %+v", st)
				}

				rec.failID("b3", nil)
				eventually(t, "all accepted", func() bool { return rec.has(want...) })
				// The checkpoint passes the failed message; the search skips
				// the flagged ones after it, so it need not pass them.
				eventually(t, "checkpoint past the failed message", func() bool {
					return cps.get("imap:support").LastUID >= uint32(uid["b3"])
				})
				rec.checkOnce(t, want...)
				if mode == "move" {
					eventually(t, "all moved", func() bool { return srv.Count(t, "Done") == len(want) })
				} else if msgs := srv.Messages(t, "INBOX"); !allFlagged(msgs, DefaultFlag) {
					t.Errorf("not all flagged after recovery")
				}
			})
		})
	}
}

// A batch mixing mail over MaxBytes, mail the acceptor refuses as too
// large and ordinary mail: the ordinary mail is taken, the rest flagged
// for a person, and the message over MaxBytes is never downloaded, not even
// as part of the batch's body fetch.
func TestBatchWithTooLargeMessages(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv server) {
		const huge = 300_000
		srv.Append(t, "INBOX", msg("s0", 0))
		srv.Append(t, "INBOX", msg("huge", huge))
		srv.Append(t, "INBOX", msg("s1", 0))
		srv.Append(t, "INBOX", msg("medium", 10_000))
		srv.Append(t, "INBOX", msg("s2", 0))
		proxy, acct := startProxy(t, srv.account)
		cfg := testConfig(acct)
		cfg.BatchSize = 10
		cfg.MaxBytes = 100_000
		rec, cps := newRecorder(), newCheckpoints()
		rec.maxBytes = 5_000
		r := start(t, cfg, rec, cps)
		eventually(t, "ordinary mail accepted", func() bool { return rec.has("s0", "s1", "s2") })
		eventually(t, "checkpoint past the batch", func() bool { return cps.get("imap:support").LastUID == 5 })
		if st := r.Status(); st.TooLarge != 2 || st.Accepted != 3 {
			t.Errorf("status %+v", st)
		}
		if n := rec.callCount("huge"); n != 0 {
			t.Errorf("huge offered %d times", n)
		}
		if n := rec.callCount("medium"); n != 1 {
			t.Errorf("medium offered %d times, want once", n)
		}
		if n := proxy.fromSrv.Load(); n >= huge {
			t.Errorf("the server sent %d bytes: the message over max_bytes was downloaded", n)
		}
		if n := proxy.count("UID FETCH"); n != 2 {
			t.Errorf("%d UID FETCH commands, want 2 (sizes and flags, then the bodies of the batch)", n)
		}
		for _, m := range srv.Messages(t, "INBOX") {
			id := testID(m.Raw)
			tooLarge := id == "huge" || id == "medium"
			if m.HasFlag(TooLargeFlag) != tooLarge || m.HasFlag(DefaultFlag) == tooLarge {
				t.Errorf("%s has flags %v", id, m.Flags)
			}
		}
		rec.checkOnce(t, "s0", "s1", "s2")
	})
}

// FetchBytes splits a batch's body fetch; everything is still taken once.
func TestBatchFetchBytesSplitsTheFetch(t *testing.T) {
	m := testenv.StartIMAPMem(t)
	want := ids("fb", 5)
	for _, id := range want {
		m.Append(t, "INBOX", msg(id, 3_000))
	}
	proxy, acct := startProxy(t, m.IMAPAccount)
	cfg := testConfig(acct)
	cfg.BatchSize = 5
	cfg.FetchBytes = 7_000 // two messages a fetch
	rec, cps := newRecorder(), newCheckpoints()
	start(t, cfg, rec, cps)
	eventually(t, "checkpoint past the batch", func() bool { return cps.get("imap:support").LastUID == 5 })
	rec.checkOnce(t, want...)
	if n := proxy.count("UID FETCH"); n != 1+3 {
		t.Errorf("%d UID FETCH commands, want 4 (sizes, then bodies 2+2+1)", n)
	}
}

func TestFetchGroups(t *testing.T) {
	items := func(sizes ...int64) []item {
		var out []item
		for i, s := range sizes {
			out = append(out, item{uid: imap.UID(i + 1), size: s})
		}
		return out
	}
	lens := func(gs [][]item) []int {
		var out []int
		for _, g := range gs {
			out = append(out, len(g))
		}
		return out
	}
	for _, tc := range []struct {
		sizes []int64
		limit int64
		want  []int
	}{
		{nil, 10, nil},
		{[]int64{3, 3, 3}, 10, []int{3}},
		{[]int64{4, 4, 4}, 10, []int{2, 1}},
		{[]int64{20, 1, 1}, 10, []int{1, 2}},
		{[]int64{1, 20, 1}, 10, []int{1, 1, 1}},
		{[]int64{5, 5, 5, 5}, 10, []int{2, 2}},
	} {
		if got := lens(fetchGroups(items(tc.sizes...), tc.limit)); !equalInts(got, tc.want) {
			t.Errorf("fetchGroups(%v, %d) = %v, want %v", tc.sizes, tc.limit, got, tc.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// gated is an acceptor that holds every call until released, counting the
// calls in flight.
type gated struct {
	*recorder
	release chan struct{}

	mu       sync.Mutex
	inflight int
	most     int
}

func (g *gated) Accept(ctx context.Context, s intake.Submission) (intake.Result, error) {
	g.mu.Lock()
	g.inflight++
	g.most = max(g.most, g.inflight)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inflight--
		g.mu.Unlock()
	}()
	select {
	case <-g.release:
	case <-ctx.Done():
		return intake.Result{}, ctx.Err()
	}
	return g.recorder.Accept(ctx, s)
}

func (g *gated) counts() (inflight, most int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inflight, g.most
}

// The messages of a batch are accepted AcceptWorkers at a time, never more;
// with AcceptWorkers 1, one by one.
func TestBatchAcceptsConcurrently(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			m := testenv.StartIMAPMem(t)
			want := ids("cc", 10)
			for _, id := range want {
				m.Append(t, "INBOX", msg(id, 0))
			}
			cfg := testConfig(m.IMAPAccount)
			cfg.BatchSize = len(want)
			cfg.AcceptWorkers = workers
			g := &gated{recorder: newRecorder(), release: make(chan struct{})}
			cps := newCheckpoints()
			start(t, cfg, g, cps)
			eventually(t, "accepts in flight", func() bool {
				n, _ := g.counts()
				return n == workers
			})
			close(g.release)
			eventually(t, "all accepted", func() bool { return g.has(want...) })
			eventually(t, "checkpoint past the batch", func() bool { return cps.get("imap:support").LastUID == 10 })
			if _, most := g.counts(); most != workers {
				t.Errorf("at most %d accepts at once, want %d", most, workers)
			}
			g.checkOnce(t, want...)
			if msgs := m.Messages(t, "INBOX"); !allFlagged(msgs, DefaultFlag) {
				t.Error("not all flagged")
			}
		})
	}
}
