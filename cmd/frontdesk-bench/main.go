// Command frontdesk-bench is Frontdesk's load harness (package bench): it
// runs the frontdesk daemon against real peers at a fixed offered load —
// customer mail appended over IMAP, or signed web-form submissions posted
// to the daemon's HTTP listener — and reports acknowledgement latency,
// throughput, peak RSS, the HTTP answers and the counts that must match,
// as a table or as JSON.
//
//	frontdesk-bench [-scenarios imapmem-50,dovecot-20,saturation,webhook-200,webhook-saturation]
//	                [-json] [-out results.json]
//	                [-rate 50 -duration 30s -concurrency 10 -conns 2] [-short] [-daemon bin/frontdesk]
//
// It exits 1 when a scenario misses its target (or loses or duplicates a
// message), 2 when the run could not be made.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/frontdesk/frontdesk/bench"
	"github.com/frontdesk/frontdesk/internal/redisproc"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("frontdesk-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var names []string
	for _, s := range bench.Scenarios() {
		names = append(names, s.Name)
	}
	var (
		scenarios   = fs.String("scenarios", strings.Join(names, ","), "comma-separated scenarios to run: "+strings.Join(names, ", "))
		asJSON      = fs.Bool("json", false, "print the report as JSON instead of a table")
		out         = fs.String("out", "", "also write the JSON report to this file")
		daemon      = fs.String("daemon", "", "frontdesk binary (default: frontdesk next to this program, then bin/frontdesk)")
		rate        = fs.Float64("rate", 0, "override every scenario's offered rate, messages (submissions)/s")
		duration    = fs.Duration("duration", 0, "override every scenario's duration")
		concurrency = fs.Int("concurrency", 0, "override every scenario's pipeline concurrency")
		conns       = fs.Int("conns", 0, "override every scenario's load connections (IMAP appenders, or HTTP workers for the forms)")
		short       = fs.Bool("short", false, "a few seconds per scenario at a gentle rate; counts are checked, targets are not")
		ceilingN    = fs.Int("ceiling-tasks", 30000, "no-op tasks for the asynq ceiling (0: skip it)")
		keep        = fs.Bool("keep", false, "keep each scenario's data directory and daemon log")
		dataDir     = fs.String("data-dir", "", "where to make each scenario's data directory (default: the temporary directory)")
		logLevel    = fs.String("log-level", "info", "the daemon's log level (debug, info, warn, error); with -keep its log stays in the data directory")
		selfProfile = fs.String("cpuprofile", "", "write the harness's own CPU profile (its IMAP and SMTP peers and HTTP client included) to this file")
		profileDir  = fs.String("profile", "", "write the daemon's CPU profile (over the load) and heap profile (at the end) of each scenario to this directory")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var todo []bench.Scenario
	for _, name := range strings.Split(*scenarios, ",") {
		i := slices.IndexFunc(bench.Scenarios(), func(s bench.Scenario) bool { return s.Name == strings.TrimSpace(name) })
		if i < 0 {
			fmt.Fprintf(stderr, "unknown scenario %q (have %s)\n", name, strings.Join(names, ", "))
			return 2
		}
		s := bench.Scenarios()[i]
		if *short {
			s = s.Short()
		}
		if *rate > 0 {
			s.Rate = *rate
		}
		if *duration > 0 {
			s.Duration = *duration
		}
		if *concurrency > 0 {
			s.Concurrency = *concurrency
		}
		if *conns > 0 {
			s.Appenders = *conns
		}
		todo = append(todo, s)
	}
	bin, err := findDaemon(*daemon)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}

	if *selfProfile != "" {
		f, err := os.Create(*selfProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "cpuprofile:", err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "frontdesk-bench-redis-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	// Redis as the daemon manages it in production: AOF on.
	rs, err := redisproc.Start(ctx, redisproc.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer rs.Stop()

	rep := &bench.Report{Taken: time.Now().UTC(), Machine: machine()}
	if *ceilingN > 0 {
		conc := 0
		for _, s := range todo {
			conc = max(conc, s.Concurrency)
		}
		fmt.Fprintf(stderr, "%s asynq no-op ceiling: %d tasks, concurrency %d\n", time.Now().Format("15:04:05"), *ceilingN, conc)
		rep.Ceiling, err = bench.Ceiling(ctx, rs.Addr(), *ceilingN, conc, 25*time.Millisecond)
		if err != nil {
			fmt.Fprintln(stderr, "ceiling:", err)
			return 2
		}
	}
	r := &bench.Runner{Daemon: bin, RedisAddr: rs.Addr(), Progress: stderr, Keep: *keep, ProfileDir: *profileDir, LogLevel: *logLevel, DataDir: *dataDir}
	code := 0
	for _, s := range todo {
		res, err := r.Run(ctx, s)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", s.Name, err)
			return 2
		}
		if !res.Pass {
			code = 1
			if res.DaemonLog != "" {
				fmt.Fprintf(stderr, "%s: daemon log (last lines):\n%s\n", s.Name, res.DaemonLog)
			}
		}
		rep.Add(res)
	}
	if *out != "" {
		f, err := os.Create(*out)
		if err == nil {
			err = rep.WriteJSON(f)
			err = errorsJoin(err, f.Close())
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	return code
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// findDaemon locates the frontdesk binary.
func findDaemon(flagValue string) (string, error) {
	if flagValue != "" {
		return filepath.Abs(flagValue)
	}
	var tries []string
	if exe, err := os.Executable(); err == nil {
		tries = append(tries, filepath.Join(filepath.Dir(exe), "frontdesk"))
	}
	tries = append(tries, filepath.Join("bin", "frontdesk"))
	for _, p := range tries {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("no frontdesk binary (tried %s); build it (make build) or pass -daemon", strings.Join(tries, ", "))
}

// machine describes this machine for the report.
func machine() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%d cores (%s)%s, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
