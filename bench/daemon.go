package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// daemonDomain is the daemon's instance.domain: the right-hand side of
// its Message-IDs and of those of the form messages it renders.
const daemonDomain = "desk.example.test"

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
	forms       bool // serve the contact and order forms (formsYAML)
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
	fmt.Fprintf(&b, "instance: {domain: %s, secret: bench-secret-0123456789abcdef0123456789}\n", daemonDomain)
	fmt.Fprintf(&b, "redis: {addr: %q}\n", c.redisAddr)
	// No per-client rate limit: every submission comes from 127.0.0.1.
	fmt.Fprintf(&b, "http: {listen: %q, debug_listen: %q, client_rate: 0}\n", c.httpAddr, c.debugAddr)
	host, port, _ := net.SplitHostPort(c.smtpAddr)
	fmt.Fprintf(&b, "smtp: {host: %q, port: %s, tls: none, timeout: 10s}\n", host, port)
	b.WriteString("ack: {from: \"Example Support <support@desk.example.test>\"}\n")
	fmt.Fprintf(&b, "pipeline: {concurrency: %d}\n", c.concurrency)
	if c.forms {
		b.WriteString(formsYAML())
	}
	if len(c.boxes) > 0 {
		b.WriteString("mailboxes:\n")
	}
	for _, m := range c.boxes {
		h, p, _ := net.SplitHostPort(m.addr)
		fmt.Fprintf(&b, "  - {name: %s, host: %q, port: %s, tls: none, username: %q, password: %q, folder: %q, intent: %s, move_to: %q}\n",
			m.name, h, p, m.user, m.pass, m.folder, m.intent, m.moveTo)
	}
	return b.String()
}

// startDaemon writes cfg and runs bin serve with it, waiting until /readyz
// answers 200.
func startDaemon(ctx context.Context, bin string, cfg daemonConfig) (*testenv.Daemon, error) {
	path := filepath.Join(cfg.dataDir, "frontdesk.yaml")
	if err := os.WriteFile(path, []byte(cfg.yaml()), 0o600); err != nil {
		return nil, err
	}
	return testenv.StartDaemon(ctx, testenv.DaemonOptions{
		Binary: bin, Config: path, Log: filepath.Join(cfg.dataDir, "daemon.log"),
		ReadyURL: "http://" + cfg.httpAddr + "/readyz",
	})
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
