package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DaemonOptions says how to run a frontdesk binary.
type DaemonOptions struct {
	Binary string
	Config string // the YAML file for -config
	// Log receives the daemon's stdout and stderr (appended).
	Log string
	// ReadyURL is polled until it answers 200 (the daemon's /readyz).
	ReadyURL string
	// Env is added to the environment. FRONTDESK_* variables of the
	// caller's own environment are never passed on: they would override
	// the configuration (or be refused).
	Env []string
	// ReadyTimeout bounds the start-up; default 60 s.
	ReadyTimeout time.Duration
}

// Daemon is a running `frontdesk serve` child process.
type Daemon struct {
	Cmd  *exec.Cmd
	opts DaemonOptions
	done chan struct{}
	once sync.Once
}

// noKeepAlive polls without keeping connections (and their goroutines)
// between calls.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

// StartDaemon runs opts.Binary serve and waits until opts.ReadyURL
// answers 200. It returns an error (with the log's last lines) when the
// daemon exits or is not ready in time.
func StartDaemon(ctx context.Context, opts DaemonOptions) (*Daemon, error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	logf, err := os.OpenFile(opts.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opts.Binary, "serve", "-config", opts.Config)
	cmd.Stdout, cmd.Stderr = logf, logf
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FRONTDESK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, opts.Env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", opts.Binary, err)
	}
	d := &Daemon{Cmd: cmd, opts: opts, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(d.done) }()

	deadline := time.Now().Add(opts.ReadyTimeout)
	for {
		resp, err := noKeepAlive.Get(opts.ReadyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
			err = fmt.Errorf("readyz: %s", resp.Status)
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("daemon exited at start-up (%v); log:\n%s", cmd.ProcessState, d.LogTail(40))
		case <-ctx.Done():
			d.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, fmt.Errorf("daemon not ready after %v (%v); log:\n%s", opts.ReadyTimeout, err, d.LogTail(40))
		}
	}
}

// Done is closed when the process has exited.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// Stop sends SIGTERM and waits for the exit (SIGKILL after 30 s).
func (d *Daemon) Stop() {
	d.once.Do(func() {
		_ = d.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			_ = d.Cmd.Process.Kill()
			<-d.done
		}
	})
}

// Kill ends the daemon with SIGKILL, as a crash would, and waits for it.
func (d *Daemon) Kill() {
	d.once.Do(func() {
		_ = d.Cmd.Process.Kill()
		<-d.done
	})
}

// LogTail returns the last n lines of the daemon's log.
func (d *Daemon) LogTail(n int) string {
	b, _ := os.ReadFile(d.opts.Log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// PeakRSS is the daemon's peak resident set size (VmHWM), in bytes, while
// it runs.
func (d *Daemon) PeakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", d.Cmd.Process.Pid))
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
