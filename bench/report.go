package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

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

// WriteTable writes rep as a table for people: every scenario's counts,
// latency and throughput; then, for the web-form scenarios, the HTTP
// answers; then the run's conditions (drain, CPU, load average).
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
	if err := tw.Flush(); err != nil {
		return err
	}

	var forms []*Result
	for _, r := range rep.Results {
		if r.Answer != nil || r.Answers != nil {
			forms = append(forms, r)
		}
	}
	if len(forms) > 0 {
		fmt.Fprintln(w, "\nweb forms: the POST's answer (start of the POST to its 202)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tposted\taccepted\tother answers\taccepted/s\tp50\tp95\tp99\tmax\tmax lag\t")
		for _, r := range forms {
			var a Latency
			if r.Answer != nil {
				a = *r.Answer
			}
			other := r.answerCounts(false)
			if other == "" {
				other = "none"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", r.Scenario.Name, r.Sent, r.Accepted, other,
				r.AcceptRate, ms(a.P50), ms(a.P95), ms(a.P99), ms(a.Max), ms(r.MaxLag))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nconditions: drain is the last answer to the last acknowledgement; CPU in cores over load and drain")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tdrain\tdaemon CPU\tharness CPU\tmachine CPU\tload avg before\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t\n", r.Scenario.Name, r.DrainTime.Round(10*time.Millisecond),
			r.CPU.Daemon, r.CPU.Harness, r.CPU.Machine, r.CPU.LoadBefore)
	}
	return tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
