package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// kills is how many times the crash tests kill the daemon: once in the
// README's test run, more in `make faults`.
func kills() int {
	if os.Getenv("FAULTS") == "long" {
		return 4
	}
	return 1
}

// burst returns n customer messages and their Message-IDs.
func burst(t testing.TB, n int) (raws [][]byte, ids map[string]bool) {
	ids = map[string]bool{}
	for i := range n {
		raw := customerMail(i, fmt.Sprintf("cust%d@customer.example", i), fmt.Sprintf("Question %d", i), "When does my order ship?")
		raws = append(raws, raw)
		ids[messageIDOf(t, raw)] = true
	}
	return raws, ids
}

// checkExactlyOnce asserts one case and one acknowledgement per customer
// message: zero lost, zero duplicated. An acknowledgement is identified by
// its Message-ID, fixed before the first attempt: when the daemon is killed
// between the peer's "250" and recording it, the retry sends the same
// message again, which the recipient's mail system collapses (F2); such
// copies are counted and reported, and a second Message-ID for one message
// is a duplicate.
func checkExactlyOnce(t *testing.T, e *env, smtp *testenv.SMTPServer, ids map[string]bool) {
	t.Helper()
	perMsg := map[string]map[string]bool{} // customer Message-ID -> ack Message-IDs
	numbers := map[string]bool{}
	copies := 0
	for _, r := range smtp.Messages() {
		a := parseAck(t, r.Raw)
		if perMsg[a.inReplyTo] == nil {
			perMsg[a.inReplyTo] = map[string]bool{}
		}
		if perMsg[a.inReplyTo][a.messageID] {
			copies++
		}
		perMsg[a.inReplyTo][a.messageID] = true
		if m := tagRe.FindStringSubmatch(a.subject); m != nil {
			numbers[m[2]] = true
		}
	}
	lost, dup := 0, 0
	for id := range ids {
		switch len(perMsg[id]) {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	t.Logf("messages %d, acknowledgements %d (distinct %d, resent copies with the same Message-ID %d), distinct cases %d, lost %d, duplicated %d",
		len(ids), smtp.Count(), smtp.Count()-copies, copies, len(numbers), lost, dup)
	if lost != 0 || dup != 0 || smtp.Count()-copies != len(ids) || len(numbers) != len(ids) {
		t.Fatalf("not exactly once: lost %d, duplicated %d, distinct acks %d, cases %d, messages %d", lost, dup, smtp.Count()-copies, len(numbers), len(ids))
	}
	if code := e.api("GET", fmt.Sprintf("/api/v1/cases/C-%06d", len(ids)+1), supervisorToken, nil); code != 404 {
		t.Fatalf("a case beyond C-%06d exists (%d): a message became two cases", len(ids), code)
	}
}

// TestCrashSIGKILL kills the daemon with SIGKILL in the middle of a burst,
// restarts it, and checks every message became exactly one case and one
// acknowledgement (RELIABILITY F1). Tasks the killed worker held come back
// after asynq's lease expires and its recoverer runs (up to ~2 minutes).
func TestCrashSIGKILL(t *testing.T) {
	d := newDesk(t, true, "")
	const n = 60
	raws, ids := burst(t, n)
	d.start()
	chunk := n / (kills() + 1)
	for k := 0; k <= kills(); k++ {
		part := raws[k*chunk:]
		if k < kills() {
			part = raws[k*chunk : (k+1)*chunk]
		}
		wait := d.deliverAsync(part...)
		if k < kills() {
			// Kill at a random point while this part is in flight, right
			// after the SMTP peer took an acknowledgement: the window of F2.
			target := k*chunk + 1 + rand.IntN(chunk/2)
			d.smtp.WaitFor(target, 30*time.Second)
			d.kill()
			t.Logf("killed the daemon after %d acknowledgements", d.smtp.Count())
			wait()
			d.start()
		} else {
			wait()
		}
	}
	d.settleExactlyOnce(ids)
}

// TestCrashRedisRestartWithoutPersistence restarts a Redis that has
// appendonly off in the middle of a burst: every queued task is lost, and
// the SQL ledger's sweep re-enqueues them (RELIABILITY F5). The daemon
// warns at start-up that Redis has appendonly no.
func TestCrashRedisRestartWithoutPersistence(t *testing.T) {
	d := newDesk(t, false, "")
	d.start()
	if !d.logContains("appendonly no") {
		t.Error("no start-up warning about appendonly no")
	}
	const n = 60
	raws, ids := burst(t, n)
	wait := d.deliverAsync(raws...)
	d.smtp.WaitFor(1+rand.IntN(n/3), 30*time.Second)
	if err := d.redis.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted Redis (no persistence) after %d acknowledgements", d.smtp.Count())
	wait()
	d.settleExactlyOnce(ids)
}

// TestGracefulShutdown sends SIGTERM in the middle of a burst: the daemon
// stops intake, drains in-flight tasks and exits 0; after a restart every
// message is exactly one case and one acknowledgement.
func TestGracefulShutdown(t *testing.T) {
	d := newDesk(t, true, "")
	d.start()
	raws, ids := burst(t, 30)
	wait := d.deliverAsync(raws...)
	d.smtp.WaitFor(3, 30*time.Second)
	dm := d.d
	dm.Stop()
	if code := dm.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	for _, want := range []string{"stopping intake", "draining in-flight tasks"} {
		if !d.logContains(want) {
			t.Errorf("log lacks %q", want)
		}
	}
	wait()
	d.start()
	d.settleExactlyOnce(ids)
}
