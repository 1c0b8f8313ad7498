package bench

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
	// MaxLag is how late the harness began an APPEND (a POST) against its
	// schedule (large values mean the load generator, not the daemon, fell
	// behind — or, under saturation, that every connection was waiting
	// for the daemon's answer).
	MaxLag time.Duration `json:"max_lag"`
	// Accepted counts messages that went in: every APPEND, or the POSTs
	// answered 202 as new submissions. Refused counts the rest (forms
	// only), and Answers counts every answer by HTTP status ("error" for
	// a request that got none, "202 duplicate" for a 202 that took a new
	// submission for a re-post).
	Accepted int            `json:"accepted"`
	Refused  int            `json:"refused,omitempty"`
	Answers  map[string]int `json:"answers,omitempty"`
	// AnswerError is the first request error, if any.
	AnswerError string `json:"answer_error,omitempty"`
	// AcceptRate is accepted submissions per second, from the first POST
	// to the last 202 (forms only).
	AcceptRate float64 `json:"accept_rate,omitempty"`
	// Answer is the latency of the HTTP exchange itself, from the start of
	// the POST to its 202 (forms only).
	Answer *Latency `json:"answer_latency,omitempty"`
	// Acked counts messages that got an acknowledgement; AckCopies counts
	// the acknowledgements received for them (Acked when nothing is sent
	// twice).
	Acked     int `json:"acked"`
	AckCopies int `json:"ack_copies"`
	// Unmatched counts acknowledgements beyond the warm-up's that the
	// peer received and that answer no message of the run (a wrong
	// recipient or In-Reply-To); UnmatchedSample describes one.
	Unmatched       int    `json:"unmatched,omitempty"`
	UnmatchedSample string `json:"unmatched_sample,omitempty"`
	// Ledger is the daemon's database at the end (warm-up included).
	Ledger Ledger `json:"ledger"`
	// Duplicates counts second acknowledgements and registrations beyond
	// one per accepted message; Lost counts accepted messages without an
	// acknowledgement or without a registration at the end of the drain.
	// Both must be 0.
	Duplicates int `json:"duplicates"`
	Lost       int `json:"lost"`
	// Latency is arrival (the start of the APPEND or POST) to the
	// acknowledgement's final dot at the SMTP peer.
	Latency Latency `json:"latency"`
	// Throughput is messages acknowledged per second, from the first
	// arrival to the last acknowledgement.
	Throughput float64 `json:"throughput"`
	// DrainTime is from the end of the load (the last APPEND's OK, the
	// last POST's answer) to the last acknowledgement: how long the
	// pipeline ran behind intake.
	DrainTime time.Duration `json:"drain_time"`
	// PeakRSS is the daemon's peak resident set size (VmHWM), bytes.
	PeakRSS int64 `json:"peak_rss"`
	// CPU is the cores the daemon, the harness and the machine used from
	// the start of the measured load to the end of the drain.
	CPU CPU `json:"cpu"`
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

// latencyOf is the percentiles of d (which it sorts).
func latencyOf(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	return Latency{P50: pct(d, 50), P95: pct(d, 95), P99: pct(d, 99), Max: d[len(d)-1]}
}

// summarise matches acknowledgements to the messages sent (match says
// which message an acknowledgement answers, if any of them) and computes
// the result.
func summarise(s Scenario, sent []delivery, acks []testenv.Received, match func(testenv.Received) (int, bool),
	l Ledger, warm int, rss int64) *Result {
	res := &Result{Scenario: s, Sent: len(sent), Ledger: l, PeakRSS: rss}
	first := make(map[int]time.Time, len(sent)) // message index → first ack
	for _, a := range acks {
		i, ok := match(a)
		if !ok || i >= len(sent) || !sent[i].Accepted {
			// The last one: the warm-up's come first.
			res.Unmatched++
			res.UnmatchedSample = fmt.Sprintf("to %v, In-Reply-To %q", a.To, a.Header.Get("In-Reply-To"))
			continue
		}
		res.AckCopies++
		if t, seen := first[i]; !seen || a.At.Before(t) {
			first[i] = a.At
		}
	}
	res.Acked = len(first)
	// The warm-up's acknowledgements are the peer's too.
	if res.Unmatched -= warm; res.Unmatched <= 0 {
		res.Unmatched, res.UnmatchedSample = 0, ""
	}

	var lat, answer []time.Duration
	var lastAck, lastAnswer time.Time
	forms := s.Server == ServerForms
	for _, d := range sent {
		res.MaxLag = max(res.MaxLag, d.Lag)
		if d.Answered.After(lastAnswer) {
			lastAnswer = d.Answered
		}
		if forms {
			res.countAnswer(d)
		}
		if !d.Accepted {
			continue
		}
		res.Accepted++
		if forms {
			answer = append(answer, d.Answered.Sub(d.At))
		}
		if at, ok := first[d.index]; ok {
			lat = append(lat, at.Sub(d.At))
			if at.After(lastAck) {
				lastAck = at
			}
		}
	}
	if len(sent) > 1 {
		if span := sent[len(sent)-1].At.Sub(sent[0].At); span > 0 {
			res.OfferedRate = float64(len(sent)-1) / span.Seconds()
		}
	}
	if len(answer) > 0 {
		a := latencyOf(answer)
		res.Answer = &a
		var lastAccepted time.Time
		for _, d := range sent {
			if d.Accepted && d.Answered.After(lastAccepted) {
				lastAccepted = d.Answered
			}
		}
		if span := lastAccepted.Sub(sent[0].At); span > 0 {
			res.AcceptRate = float64(res.Accepted) / span.Seconds()
		}
	}
	if len(lat) > 0 {
		res.Latency = latencyOf(lat)
		if span := lastAck.Sub(sent[0].At); span > 0 {
			res.Throughput = float64(len(lat)) / span.Seconds()
		}
		res.DrainTime = max(lastAck.Sub(lastAnswer), 0)
	}

	registered := l.Cases + l.Orders - warm
	res.Duplicates = res.AckCopies - res.Acked + max(0, registered-res.Accepted)
	res.Lost = max(res.Accepted-res.Acked, res.Accepted-registered, 0)
	res.judge()
	return res
}

// countAnswer counts the HTTP answer to d.
func (r *Result) countAnswer(d delivery) {
	key := strconv.Itoa(d.Status)
	switch {
	case d.Status == 0:
		key = "error"
		if r.AnswerError == "" {
			r.AnswerError = d.Err
		}
	case d.Duplicate:
		key += " duplicate"
	}
	if r.Answers == nil {
		r.Answers = map[string]int{}
	}
	r.Answers[key]++
	if !d.Accepted {
		r.Refused++
	}
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
		if r.Unmatched > 0 {
			m = append(m, fmt.Sprintf("%d acknowledgements answer nothing of the run, e.g. %s", r.Unmatched, r.UnmatchedSample))
		}
	}
	if r.Duplicates > 0 {
		m = append(m, fmt.Sprintf("%d duplicated", r.Duplicates))
	}
	if r.Refused > 0 {
		miss := fmt.Sprintf("%d not accepted (%s)", r.Refused, r.answerCounts(false))
		if r.AnswerError != "" {
			miss += "; first error: " + r.AnswerError
		}
		m = append(m, miss)
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
	if t.MinAcceptRate > 0 && r.AcceptRate < t.MinAcceptRate {
		m = append(m, fmt.Sprintf("accepted %.0f < %.0f/s", r.AcceptRate, t.MinAcceptRate))
	}
	if t.MaxRSS > 0 && r.PeakRSS > t.MaxRSS {
		m = append(m, fmt.Sprintf("peak RSS %s > %s", mib(r.PeakRSS), mib(t.MaxRSS)))
	}
	r.Misses, r.Pass = m, len(m) == 0
}

// answerCounts lists the answers by status, "202: 5980, 503: 20", with
// or without the accepted ones.
func (r *Result) answerCounts(withAccepted bool) string {
	keys := slices.Sorted(maps.Keys(r.Answers))
	var parts []string
	for _, k := range keys {
		if k == "202" && !withAccepted {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %d", k, r.Answers[k]))
	}
	return strings.Join(parts, ", ")
}
