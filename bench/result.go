package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// Result is one scenario's outcome.
type Result struct {
	Scenario Scenario `json:"scenario"`
	// Sent is how many messages were offered (warm-up excluded); OfferedRate
	// is the rate at which they really went in.
	Sent        int     `json:"sent"`
	OfferedRate float64 `json:"offered_rate"`
	// MaxLag is how late the harness began an APPEND against its schedule
	// (large values mean the load generator, not the daemon, fell behind).
	MaxLag time.Duration `json:"max_lag"`
	// Acked counts messages that got an acknowledgement; AckCopies counts
	// the acknowledgements received for them (Acked when nothing is sent
	// twice).
	Acked     int `json:"acked"`
	AckCopies int `json:"ack_copies"`
	// Ledger is the daemon's database at the end (warm-up included).
	Ledger Ledger `json:"ledger"`
	// Duplicates counts second acknowledgements and registrations beyond
	// one per message; Lost counts messages without an acknowledgement or
	// without a registration at the end of the drain. Both must be 0.
	Duplicates int `json:"duplicates"`
	Lost       int `json:"lost"`
	// Latency is arrival (the start of the APPEND) to the acknowledgement's
	// final dot at the SMTP peer.
	Latency Latency `json:"latency"`
	// Throughput is messages acknowledged per second, from the first
	// arrival to the last acknowledgement.
	Throughput float64 `json:"throughput"`
	// PeakRSS is the daemon's peak resident set size (VmHWM), bytes.
	PeakRSS int64 `json:"peak_rss"`
	// Ceiling is asynq's no-op throughput on the same Redis, tasks/s, and
	// Ratio is Throughput / Ceiling (set by Report.Add).
	Ceiling float64 `json:"ceiling,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
	// Pass says the counts are right and every target is met; Misses say
	// what was not.
	Pass      bool     `json:"pass"`
	Misses    []string `json:"misses,omitempty"`
	DaemonLog string   `json:"daemon_log,omitempty"`
}

// Latency holds percentiles of arrival-to-acknowledgement times.
type Latency struct {
	P50 time.Duration `json:"p50"`
	P95 time.Duration `json:"p95"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

// summarise matches acknowledgements to the messages of run and computes
// the result.
func summarise(s Scenario, run string, sent []delivery, acks []testenv.Received, l Ledger, warm int, rss int64) *Result {
	res := &Result{Scenario: s, Sent: len(sent), Ledger: l, PeakRSS: rss}
	first := make(map[int]time.Time, len(sent)) // message index → first ack
	prefix := run + "."
	for _, a := range acks {
		irt := strings.Trim(strings.TrimSpace(a.Header.Get("In-Reply-To")), "<>")
		rest, ok := strings.CutPrefix(irt, prefix)
		if !ok {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(rest, "%d@", &i); err != nil || i < 0 || i >= len(sent) {
			continue
		}
		res.AckCopies++
		if t, seen := first[i]; !seen || a.At.Before(t) {
			first[i] = a.At
		}
	}
	res.Acked = len(first)

	var lat []time.Duration
	var last time.Time
	for _, d := range sent {
		res.MaxLag = max(res.MaxLag, d.Lag)
		if at, ok := first[d.index]; ok {
			lat = append(lat, at.Sub(d.At))
			if at.After(last) {
				last = at
			}
		}
	}
	if len(sent) > 1 {
		if span := sent[len(sent)-1].At.Sub(sent[0].At); span > 0 {
			res.OfferedRate = float64(len(sent)-1) / span.Seconds()
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.Latency = Latency{P50: pct(lat, 50), P95: pct(lat, 95), P99: pct(lat, 99), Max: lat[len(lat)-1]}
		if span := last.Sub(sent[0].At); span > 0 {
			res.Throughput = float64(len(lat)) / span.Seconds()
		}
	}

	registered := l.Cases + l.Orders - warm
	res.Duplicates = res.AckCopies - res.Acked + max(0, registered-len(sent))
	res.Lost = max(len(sent)-res.Acked, len(sent)-registered, 0)
	res.judge()
	return res
}

// pct is the p-th percentile of sorted (nearest rank).
func pct(sorted []time.Duration, p int) time.Duration {
	k := (p*len(sorted) + 99) / 100
	return sorted[max(k-1, 0)]
}

// judge sets Pass and Misses.
func (r *Result) judge() {
	t := r.Scenario.Target
	var m []string
	if r.Lost > 0 {
		m = append(m, fmt.Sprintf("%d lost", r.Lost))
	}
	if r.Duplicates > 0 {
		m = append(m, fmt.Sprintf("%d duplicated", r.Duplicates))
	}
	if r.Ledger.Failed > 0 {
		m = append(m, fmt.Sprintf("%d failed", r.Ledger.Failed))
	}
	if t.P99 > 0 && r.Latency.P99 > t.P99 {
		m = append(m, fmt.Sprintf("p99 %v > %v", r.Latency.P99.Round(time.Millisecond), t.P99))
	}
	if t.MinThroughput > 0 && r.Throughput < t.MinThroughput {
		m = append(m, fmt.Sprintf("throughput %.0f < %.0f msg/s", r.Throughput, t.MinThroughput))
	}
	if t.MaxRSS > 0 && r.PeakRSS > t.MaxRSS {
		m = append(m, fmt.Sprintf("peak RSS %s > %s", mib(r.PeakRSS), mib(t.MaxRSS)))
	}
	r.Misses, r.Pass = m, len(m) == 0
}

// Report is a whole run: the machine, its ceiling and every scenario.
type Report struct {
	Taken   time.Time `json:"taken"`
	Machine string    `json:"machine"`
	// Ceiling is asynq's no-op task throughput on the run's Redis, tasks/s.
	Ceiling float64   `json:"ceiling"`
	Results []*Result `json:"results"`
}

// Add appends res, relating its throughput to the report's ceiling.
func (rep *Report) Add(res *Result) {
	if rep.Ceiling > 0 {
		res.Ceiling, res.Ratio = rep.Ceiling, res.Throughput/rep.Ceiling
	}
	rep.Results = append(rep.Results, res)
}

// WriteJSON writes rep as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes rep as a table for people.
func (rep *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "machine: %s\ntaken:   %s\nasynq no-op ceiling: %.0f tasks/s\n\n", rep.Machine,
		rep.Taken.Format(time.RFC3339), rep.Ceiling)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tserver\toffered/s\tsent\tacked\tcases\torders\tdup\tlost\tp50\tp95\tp99\tmax\tmsg/s\tratio\tpeak RSS\tresult\t")
	for _, r := range rep.Results {
		verdict := "pass"
		if !r.Pass {
			verdict = "FAIL: " + strings.Join(r.Misses, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%.0f\t%.3f\t%s\t%s\t\n",
			r.Scenario.Name, r.Scenario.Server, r.OfferedRate, r.Sent, r.Acked, r.Ledger.Cases, r.Ledger.Orders,
			r.Duplicates, r.Lost, ms(r.Latency.P50), ms(r.Latency.P95), ms(r.Latency.P99), ms(r.Latency.Max),
			r.Throughput, r.Ratio, mib(r.PeakRSS), verdict)
	}
	return tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
