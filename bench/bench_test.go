package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/frontdesk/frontdesk/internal/redisproc"
	"github.com/frontdesk/frontdesk/internal/testenv"
)

// TestShort runs the short form of every standard scenario against a
// freshly built daemon: a few seconds at a gentle rate, so that the suite
// proves the harness and the counts (nothing lost, nothing doubled) on
// every change. Speed targets are `make bench`'s business, never a test's.
func TestShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	bin := filepath.Join(t.TempDir(), "frontdesk")
	build := exec.Command("go", "build", "-o", bin, "../cmd/frontdesk")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build frontdesk: %v\n%s", err, out)
	}
	rs, err := redisproc.Start(t.Context(), redisproc.Options{Dir: t.TempDir()})
	if errors.Is(err, redisproc.ErrNotInstalled) {
		testenv.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Stop() })

	ceiling, err := Ceiling(t.Context(), rs.Addr(), 500, 10, 5*time.Millisecond)
	if err != nil || ceiling <= 0 {
		t.Fatalf("ceiling: %v, %v", ceiling, err)
	}
	var progress strings.Builder
	r := &Runner{Daemon: bin, RedisAddr: rs.Addr(), Progress: &progress}
	rep := &Report{Taken: time.Now(), Machine: "test", Ceiling: ceiling}
	for _, s := range Scenarios() {
		s := s.Short()
		if s.Server == "dovecot" {
			if _, err := os.Stat("/usr/sbin/dovecot"); err != nil {
				testenv.Missing(t, "dovecot not installed (apt-get install -y dovecot-imapd)")
			}
		}
		res, err := r.Run(t.Context(), s)
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.Name, err, progress.String())
		}
		want := int(s.Rate * s.Duration.Seconds())
		if res.Sent != want || res.Accepted != want || res.Acked != want || res.AckCopies != want ||
			res.Lost != 0 || res.Duplicates != 0 || res.Refused != 0 || !res.Pass {
			t.Errorf("%s: sent %d accepted %d acked %d (%d copies) lost %d dup %d refused %d pass %v %v (want %d each, none lost, doubled or refused)\n%s",
				s.Name, res.Sent, res.Accepted, res.Acked, res.AckCopies, res.Lost, res.Duplicates, res.Refused,
				res.Pass, res.Misses, want, res.DaemonLog)
		}
		if s.Server == ServerForms {
			if res.Answers["202"] != want || len(res.Answers) != 1 || res.Answer == nil ||
				res.Answer.P50 <= 0 || res.Answer.P99 < res.Answer.P50 || res.AcceptRate <= 0 {
				t.Errorf("%s: answers %v, answer latency %+v, accepted %.1f/s: want %d answered 202 and nothing else",
					s.Name, res.Answers, res.Answer, res.AcceptRate, want)
			}
			// The answer comes before the acknowledgement, which needs it
			// durable first.
			if res.Answer != nil && res.Answer.P50 > res.Latency.P50 {
				t.Errorf("%s: answer p50 %v after acknowledgement p50 %v", s.Name, res.Answer.P50, res.Latency.P50)
			}
		}
		if res.Ledger.Cases+res.Ledger.Orders != want+warmUp || res.Ledger.Routed != want+warmUp {
			t.Errorf("%s: ledger %+v, want %d registered and routed", s.Name, res.Ledger, want+warmUp)
		}
		if res.PeakRSS <= 0 || res.Latency.P50 <= 0 || res.Latency.P99 < res.Latency.P50 || res.Throughput <= 0 ||
			res.CPU.Daemon <= 0 || res.CPU.Machine <= 0 || res.CPU.Machine > float64(runtime.NumCPU())+0.5 {
			t.Errorf("%s: implausible figures %+v", s.Name, res)
		}
		rep.Add(res)
		if res.Ratio <= 0 {
			t.Errorf("%s: no ratio to the ceiling", s.Name)
		}
	}
	var table, js strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, s := range Scenarios() {
		if !strings.Contains(table.String(), s.Name+"-short") || !strings.Contains(js.String(), s.Name+"-short") {
			t.Errorf("report lacks %s:\n%s", s.Name, table.String())
		}
	}
	if !strings.Contains(table.String(), "web forms:") || !strings.Contains(js.String(), `"answer_latency"`) {
		t.Errorf("report lacks the web-form answers:\n%s", table.String())
	}
	t.Logf("\n%s", table.String())
}

// TestSummarise checks the matching of acknowledgements to messages and
// the arithmetic of the report on a made-up run.
func TestSummarise(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	var sent []delivery
	for i := range 100 {
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		sent = append(sent, delivery{index: i, At: at, Answered: at.Add(time.Millisecond), Accepted: true})
	}
	ack := func(i int, after time.Duration) testenv.Received {
		r := testenv.Received{At: sent[i].At.Add(after)}
		r.Header.Set("In-Reply-To", "<"+msgID("run", i)+">")
		return r
	}
	var acks []testenv.Received
	for i := range 99 { // message 99 is never acknowledged
		acks = append(acks, ack(i, time.Duration(i+1)*time.Millisecond))
	}
	acks = append(acks, ack(5, time.Second)) // a second copy
	other := ack(3, 0)                       // another run's message
	other.Header.Set("In-Reply-To", "<"+msgID("other", 3)+">")
	acks = append(acks, other)

	res := summarise(Scenario{Name: "x", Target: Target{P99: 50 * time.Millisecond}}, sent, acks,
		(&imapLoad{}).match("run"), Ledger{Cases: 100 + 2, Done: 100 + 2}, 2, 1<<20)
	if res.Acked != 99 || res.AckCopies != 100 || res.Lost != 1 || res.Duplicates != 1 {
		t.Fatalf("counts: acked %d copies %d lost %d dup %d", res.Acked, res.AckCopies, res.Lost, res.Duplicates)
	}
	// Latencies are 1..99 ms: nearest-rank percentiles.
	if res.Latency.P50 != 50*time.Millisecond || res.Latency.P99 != 99*time.Millisecond || res.Latency.Max != 99*time.Millisecond {
		t.Fatalf("latency %+v", res.Latency)
	}
	if res.Pass || len(res.Misses) != 3 {
		t.Fatalf("verdict %v %v, want a fail for the loss, the duplicate and p99", res.Pass, res.Misses)
	}
	if got := fmt.Sprintf("%.1f", res.OfferedRate); got != "100.0" {
		t.Fatalf("offered rate %s, want 100.0", got)
	}
	// The last ack (message 98, 99 ms late) against the last APPEND's OK
	// (message 99, at 991 ms).
	if res.DrainTime != 980*time.Millisecond-991*time.Millisecond+99*time.Millisecond {
		t.Fatalf("drain %v", res.DrainTime)
	}
	if res.Answer != nil || res.Answers != nil || res.AcceptRate != 0 || res.Accepted != 100 {
		t.Fatalf("IMAP run with HTTP figures: %+v", res)
	}
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
