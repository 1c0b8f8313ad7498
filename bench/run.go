package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/redis/go-redis/v9"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// Runner runs scenarios against one redis-server.
type Runner struct {
	// Daemon is the frontdesk binary to run.
	Daemon string
	// RedisAddr is the redis-server every scenario uses; it is flushed
	// before each.
	RedisAddr string
	// Progress gets one line per phase (nil: none).
	Progress io.Writer
	// Keep leaves each scenario's data directory (and daemon log) behind.
	Keep bool
	// ProfileDir, when set, receives the daemon's CPU profile over the
	// measured load (<scenario>.cpu.pprof) and its heap profile at the end
	// (<scenario>.heap.pprof), for `go tool pprof`.
	ProfileDir string
	// DataDir is where each scenario's data directory is made (default the
	// system's temporary directory).
	DataDir string
	// LogLevel is the daemon's log level (default warn: logging every
	// message costs time under load).
	LogLevel string
}

// warmUp messages go through before the measured load, so that
// connection set-up and cold caches do not count.
const warmUp = 10

// intakeLoad is how a scenario's load goes in: IMAP APPENDs or signed
// web-form posts.
type intakeLoad interface {
	// offer delivers count messages of run at rate per second, open-loop,
	// over conns connections, and returns them in index order.
	offer(ctx context.Context, run string, conns int, rate float64, count int) ([]delivery, error)
	// match returns a function telling which message of run an
	// acknowledgement answers.
	match(run string) func(testenv.Received) (int, bool)
	close()
}

// Run runs s once and reports it. An error means the run could not be
// made; a run that misses its target is a Result with Pass false.
func (r *Runner) Run(ctx context.Context, s Scenario) (*Result, error) {
	r.logf("%s: starting %s, %g msg/s for %v", s.Name, s.Server, s.Rate, s.Duration)
	if err := r.flushRedis(ctx); err != nil {
		return nil, err
	}
	sink, err := testenv.NewSMTP(nil, testenv.WithSMTPBulkData())
	if err != nil {
		return nil, err
	}
	defer sink.Close()

	dir, err := os.MkdirTemp(r.DataDir, "frontdesk-bench-")
	if err != nil {
		return nil, err
	}
	if r.Keep {
		r.logf("%s: data in %s", s.Name, dir)
	} else {
		defer os.RemoveAll(dir)
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var debugAddr string
	if r.ProfileDir != "" {
		if debugAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	cfg := daemonConfig{
		dataDir: dir, redisAddr: r.RedisAddr, smtpAddr: sink.Addr, httpAddr: httpAddr, debugAddr: debugAddr,
		concurrency: s.Concurrency, logLevel: r.LogLevel,
	}
	ld, err := newLoad(s, &cfg)
	if err != nil {
		return nil, err
	}
	defer ld.close()
	d, err := startDaemon(ctx, r.Daemon, cfg)
	if err != nil {
		return nil, err
	}
	defer d.Stop()

	// Warm up, unmeasured.
	warmRun := fmt.Sprintf("w%d", time.Now().UnixNano())
	warm, err := ld.offer(ctx, warmRun, 1, 50, warmUp)
	if err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	for _, w := range warm {
		if !w.Accepted {
			return nil, fmt.Errorf("warm-up: message %d not accepted (status %d %s); daemon log:\n%s",
				w.index, w.Status, w.Err, d.LogTail(40))
		}
	}
	if sink.WaitFor(warmUp, time.Minute); sink.Count() < warmUp {
		return nil, fmt.Errorf("warm-up: %d of %d acknowledgements in a minute; daemon log:\n%s",
			sink.Count(), warmUp, d.LogTail(40))
	}

	// The measured load.
	run := fmt.Sprintf("r%d", time.Now().UnixNano())
	count := int(s.Rate * s.Duration.Seconds())
	r.logf("%s: offering %d messages", s.Name, count)
	var profiled <-chan error
	if debugAddr != "" {
		profiled = r.profile(ctx, debugAddr, "profile?seconds="+fmt.Sprint(int(s.Duration.Seconds())), s.Name+".cpu.pprof")
	}
	before, err := takeUsage(d)
	if err != nil {
		return nil, err
	}
	sent, err := ld.offer(ctx, run, s.Appenders, s.Rate, count)
	if err != nil {
		return nil, err
	}
	accepted := 0
	for _, m := range sent {
		if m.Accepted {
			accepted++
		}
	}
	r.logf("%s: offered (%d accepted); waiting up to %v for the pipeline", s.Name, accepted, s.Drain)
	ledger, err := r.drain(ctx, s, sink, filepath.Join(dir, "frontdesk.db"), warmUp+accepted)
	if err != nil {
		return nil, err
	}
	after, err := takeUsage(d)
	if err != nil {
		return nil, err
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := <-r.profile(ctx, debugAddr, "heap", s.Name+".heap.pprof"); err != nil {
			return nil, fmt.Errorf("heap profile: %w", err)
		}
		r.logf("%s: profiles in %s", s.Name, r.ProfileDir)
	}
	rss, err := d.PeakRSS()
	if err != nil {
		return nil, fmt.Errorf("peak RSS: %w", err)
	}
	res := summarise(s, sent, sink.Messages(), ld.match(run), ledger, warmUp, rss)
	res.CPU = cpuBetween(before, after)
	d.Stop()
	if res.Lost > 0 || res.Duplicates > 0 || ledger.Failed > 0 || res.Refused > 0 {
		res.DaemonLog = d.LogTail(30)
	}
	r.logf("%s: done: p99 %v, %.0f msg/s", s.Name, res.Latency.P99, res.Throughput)
	return res, nil
}

// newLoad sets up the scenario's intake channel and adds it to cfg: an
// IMAP server with its mailboxes, or the daemon's web forms.
func newLoad(s Scenario, cfg *daemonConfig) (intakeLoad, error) {
	if s.Server == ServerForms {
		cfg.forms = true
		return newFormLoad(cfg.httpAddr, s.Appenders, s.OrderEvery)
	}
	acct, stopIMAP, err := startIMAP(s.Server)
	if err != nil {
		return nil, err
	}
	cfg.boxes = []mailbox{{name: "support", addr: acct.Addr(), user: acct.Username, pass: acct.Password,
		folder: "INBOX", intent: "case", moveTo: "Processed"}}
	if s.OrderEvery > 0 {
		if err := createFolders(acct, "Orders"); err != nil {
			stopIMAP()
			return nil, err
		}
		cfg.boxes = append(cfg.boxes, mailbox{name: "orders", addr: acct.Addr(), user: acct.Username, pass: acct.Password,
			folder: "Orders", intent: "order", moveTo: "Orders-Processed"})
	}
	return &imapLoad{acct: acct, orderEvery: s.OrderEvery, stop: stopIMAP}, nil
}

// drain waits, up to s.Drain, until want acknowledgements have arrived
// and want messages are settled (done or failed) in the ledger at path,
// and returns the ledger as it is then. The ledger is read only once the
// acknowledgements are in: counting a large ledger every second would
// take CPU from the daemon it is waiting for.
func (r *Runner) drain(ctx context.Context, s Scenario, sink *testenv.SMTPServer, path string, want int) (Ledger, error) {
	deadline := time.Now().Add(s.Drain)
	for sink.Count() < want && time.Now().Before(deadline) {
		sink.WaitFor(want, time.Second)
		if err := ctx.Err(); err != nil {
			return Ledger{}, err
		}
	}
	for {
		ledger, err := readLedger(ctx, path)
		if err != nil {
			return Ledger{}, err
		}
		if ledger.Done+ledger.Failed >= want || time.Now().After(deadline) {
			return ledger, nil
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return Ledger{}, ctx.Err()
		}
	}
}

// startIMAP starts the scenario's IMAP server.
func startIMAP(kind string) (*testenv.IMAPAccount, func(), error) {
	switch kind {
	case "imapmem":
		m, err := testenv.NewIMAPMem(testenv.IMAPMemOptions{})
		if err != nil {
			return nil, nil, err
		}
		return &m.IMAPAccount, m.Stop, nil
	case "dovecot":
		d, err := testenv.NewDovecot()
		if err != nil {
			return nil, nil, err
		}
		return &d.IMAPAccount, func() { _ = d.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown IMAP server %q (imapmem, dovecot)", kind)
}

// createFolders creates folders on the IMAP server.
func createFolders(acct *testenv.IMAPAccount, names ...string) error {
	c, err := acct.DialIMAP()
	if err != nil {
		return err
	}
	defer func(c *imapclient.Client) { _ = c.Close() }(c)
	for _, n := range names {
		if err := c.Create(n, nil).Wait(); err != nil && !strings.Contains(err.Error(), "ALREADYEXISTS") {
			return fmt.Errorf("create %s: %w", n, err)
		}
	}
	return c.Logout().Wait()
}

func (r *Runner) flushRedis(ctx context.Context) error {
	rc := redis.NewClient(&redis.Options{Addr: r.RedisAddr})
	defer rc.Close()
	if err := rc.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("flush redis: %w", err)
	}
	return nil
}

func (r *Runner) logf(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// profile fetches /debug/pprof/<what> from the daemon into ProfileDir/name
// in the background.
func (r *Runner) profile(ctx context.Context, addr, what, name string) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/"+what, nil)
			if err != nil {
				return err
			}
			resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %s", what, resp.Status)
			}
			if err := os.MkdirAll(r.ProfileDir, 0o755); err != nil {
				return err
			}
			f, err := os.Create(filepath.Join(r.ProfileDir, name))
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, resp.Body); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}()
	}()
	return done
}
