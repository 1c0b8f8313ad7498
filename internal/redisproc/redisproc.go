// Package redisproc runs a redis-server child process on loopback: the
// "managed" Redis that lets `frontdesk serve` run with no configuration, and
// the real Redis the tests use.
package redisproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options configure a managed redis-server.
type Options struct {
	// Binary is the redis-server executable; default "redis-server".
	Binary string
	// Dir holds the AOF and RDB files; it is created if missing.
	Dir string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// NoPersistence turns AOF and RDB snapshots off (tests of invariant 1
	// use it to lose Redis' contents on restart).
	NoPersistence bool
	Log           *slog.Logger
}

// Server is a running redis-server child.
type Server struct {
	opts Options
	addr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// ErrNotInstalled is returned when the redis-server binary is missing.
var ErrNotInstalled = errors.New("redisproc: redis-server is not installed (Debian: apt-get install redis-server)")

// Start starts redis-server and waits until it answers PING.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Binary == "" {
		opts.Binary = "redis-server"
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if _, err := exec.LookPath(opts.Binary); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	port := opts.Port
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		port = p
	}
	s := &Server{opts: opts, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return s.addr }

func (s *Server) args() []string {
	_, port, _ := net.SplitHostPort(s.addr)
	abs, _ := filepath.Abs(s.opts.Dir)
	a := []string{
		"--port", port,
		"--bind", "127.0.0.1",
		"--dir", abs,
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--logfile", "",
		"--loglevel", "warning",
	}
	if s.opts.NoPersistence {
		a = append(a, "--appendonly", "no", "--save", "")
	} else {
		a = append(a, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "")
	}
	return a
}

func (s *Server) start(ctx context.Context) error {
	// exec.Command, not CommandContext: the child must outlive the start-up
	// context; Stop ends it, and Pdeathsig ends it with us.
	cmd := exec.Command(s.opts.Binary, s.args()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("redisproc: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redisproc: start %s: %w", s.opts.Binary, err)
	}
	done := make(chan struct{})
	var tail lastLines
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			tail.add(sc.Text())
			s.opts.Log.Debug("redis-server", "line", sc.Text())
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			// A freshly started server may still be loading its AOF.
			return nil
		} else if time.Now().After(deadline) || ctx.Err() != nil {
			_ = s.Stop()
			return fmt.Errorf("redisproc: redis-server on %s did not answer: %v (%s)", s.addr, err, tail.String())
		}
		select {
		case <-done:
			return fmt.Errorf("redisproc: redis-server exited at start: %s", tail.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends the server gracefully (SIGTERM: Redis flushes its AOF) and waits.
func (s *Server) Stop() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart stops the server and starts it again on the same port and
// directory. Without persistence, everything it held is gone.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start(ctx)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redisproc: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lastLines keeps the last few lines of output for error messages.
type lastLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lastLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	if len(l.lines) > 5 {
		l.lines = l.lines[1:]
	}
}

func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, " | ")
}

// AppendOnly reports whether the Redis at client has AOF persistence on.
// Frontdesk warns at start-up when it is off (RELIABILITY F5).
func AppendOnly(ctx context.Context, c redis.UniversalClient) (bool, error) {
	v, err := c.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		return false, fmt.Errorf("redis CONFIG GET appendonly: %w", err)
	}
	return v["appendonly"] == "yes", nil
}
