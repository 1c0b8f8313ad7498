package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// noKeepAlive talks to the daemon's HTTP listeners without keeping
// connections (and their goroutines) around between calls.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// mailbox is one IMAP mailbox the daemon polls.
type mailbox struct {
	name, addr, user, pass, folder, intent, moveTo string
}

// daemonConfig is what the harness tells the daemon.
type daemonConfig struct {
	dataDir     string
	redisAddr   string
	smtpAddr    string
	httpAddr    string
	debugAddr   string // pprof listener; "" for none
	concurrency int
	logLevel    string // default warn
	boxes       []mailbox
}

// yaml renders the daemon's configuration file.
func (c daemonConfig) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\n", c.dataDir)
	level := c.logLevel
	if level == "" {
		level = "warn"
	}
	fmt.Fprintf(&b, "log: {level: %s, format: text}\n", level)
	b.WriteString("instance: {domain: desk.example.test, secret: bench-secret-0123456789abcdef0123456789}\n")
	fmt.Fprintf(&b, "redis: {addr: %q}\n", c.redisAddr)
	fmt.Fprintf(&b, "http: {listen: %q, debug_listen: %q}\n", c.httpAddr, c.debugAddr)
	host, port, _ := net.SplitHostPort(c.smtpAddr)
	fmt.Fprintf(&b, "smtp: {host: %q, port: %s, tls: none, timeout: 10s}\n", host, port)
	b.WriteString("ack: {from: \"Example Support <support@desk.example.test>\"}\n")
	fmt.Fprintf(&b, "pipeline: {concurrency: %d}\n", c.concurrency)
	b.WriteString("mailboxes:\n")
	for _, m := range c.boxes {
		h, p, _ := net.SplitHostPort(m.addr)
		fmt.Fprintf(&b, "  - {name: %s, host: %q, port: %s, tls: none, username: %q, password: %q, folder: %q, intent: %s, move_to: %q}\n",
			m.name, h, p, m.user, m.pass, m.folder, m.intent, m.moveTo)
	}
	return b.String()
}

// daemon is one running `frontdesk serve`.
type daemon struct {
	cmd     *exec.Cmd
	dataDir string
	httpURL string
	done    chan struct{}
	once    sync.Once
}

// startDaemon writes cfg and runs bin serve with it, waiting until /readyz
// answers 200.
func startDaemon(ctx context.Context, bin string, cfg daemonConfig) (*daemon, error) {
	path := filepath.Join(cfg.dataDir, "frontdesk.yaml")
	if err := os.WriteFile(path, []byte(cfg.yaml()), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(cfg.dataDir, "daemon.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "-config", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Only the harness's configuration counts: FRONTDESK_* variables from
	// the shell would override it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FRONTDESK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	d := &daemon{cmd: cmd, dataDir: cfg.dataDir, httpURL: "http://" + cfg.httpAddr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(d.done) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := noKeepAlive.Get(d.httpURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("daemon exited at start-up (%v); log:\n%s", cmd.ProcessState, d.logTail(40))
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("daemon not ready after 60s (%v); log:\n%s", err, d.logTail(40))
		}
	}
}

// peakRSS is the daemon's peak resident set size (VmHWM) in bytes.
func (d *daemon) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}

// stop sends SIGTERM and waits for a clean exit (SIGKILL after 30 s).
func (d *daemon) stop() {
	d.once.Do(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
}

// logTail returns the last n lines of the daemon's log.
func (d *daemon) logTail(n int) string {
	b, _ := os.ReadFile(filepath.Join(d.dataDir, "daemon.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
