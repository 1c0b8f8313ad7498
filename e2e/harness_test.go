// Package e2e runs the frontdesk binary end to end against real peers: a
// real redis-server, go-imap's in-process IMAP server and Dovecot, and an
// in-process go-smtp server as the SMTP peer.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/sqlite"
)

// binary is the frontdesk executable built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "frontdesk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "frontdesk")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/frontdesk")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build frontdesk:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const token = "csr-token-0123456789abcdef"
const supervisorToken = "sup-token-0123456789abcdef"

// mailbox is one IMAP mailbox the daemon polls.
type mailbox struct {
	name, addr, user, pass, intent, folder, moveTo string
}

// env is one daemon configuration with its peers.
type env struct {
	t        *testing.T
	redis    string
	smtpAddr string
	dataDir  string
	cfgPath  string
	httpAddr string
	extra    string   // more YAML appended to the config
	vars     []string // more environment for the daemon (FRONTDESK_...=...)
	d        *testenv.Daemon
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newEnv writes a config for the daemon: the given mailboxes, Redis and SMTP.
func newEnv(t *testing.T, redisAddr, smtpAddr string, boxes []mailbox, extra string) *env {
	t.Helper()
	e := &env{t: t, redis: redisAddr, smtpAddr: smtpAddr, dataDir: t.TempDir(), httpAddr: freeAddr(t), extra: extra}
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %s\n", e.dataDir)
	fmt.Fprintf(&b, "log: {level: debug, format: text}\n")
	fmt.Fprintf(&b, "instance: {domain: desk.example.test, secret: e2e-secret-0123456789abcdef0123456789}\n")
	fmt.Fprintf(&b, "redis: {addr: %q}\n", redisAddr)
	fmt.Fprintf(&b, "http:\n  listen: %q\n  tokens:\n", e.httpAddr)
	fmt.Fprintf(&b, "    - {name: alice, token: %q, role: csr}\n", token)
	fmt.Fprintf(&b, "    - {name: sam, token: %q, role: supervisor}\n", supervisorToken)
	host, port, _ := net.SplitHostPort(smtpAddr)
	fmt.Fprintf(&b, "smtp: {host: %q, port: %s, tls: none, timeout: 5s}\n", host, port)
	fmt.Fprintf(&b, "ack: {from: \"Example Support <support@desk.example.test>\"}\n")
	fmt.Fprintf(&b, "pipeline: {task_check_interval: 20ms, sweep_interval: 1s, sweep_age: 3s, shutdown_timeout: 5s}\n")
	if len(boxes) > 0 {
		fmt.Fprintf(&b, "mailboxes:\n")
	}
	for _, m := range boxes {
		h, p, _ := net.SplitHostPort(m.addr)
		fmt.Fprintf(&b, "  - {name: %s, host: %q, port: %s, tls: none, username: %q, password: %q, intent: %s, poll_interval: 2s",
			m.name, h, p, m.user, m.pass, m.intent)
		if m.folder != "" {
			fmt.Fprintf(&b, ", folder: %s", m.folder)
		}
		if m.moveTo != "" {
			fmt.Fprintf(&b, ", move_to: %s", m.moveTo)
		}
		fmt.Fprintf(&b, "}\n")
	}
	b.WriteString(extra)
	e.cfgPath = filepath.Join(e.dataDir, "frontdesk.yaml")
	if err := os.WriteFile(e.cfgPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if e.d != nil {
			e.d.Stop()
		}
		if t.Failed() {
			e.dumpLogs()
		}
	})
	return e
}

// start runs `frontdesk serve` and waits until /readyz answers 200.
func (e *env) start() {
	e.t.Helper()
	d, err := testenv.StartDaemon(context.Background(), testenv.DaemonOptions{
		Binary: binary, Config: e.cfgPath, Log: filepath.Join(e.dataDir, "daemon.log"),
		ReadyURL: "http://" + e.httpAddr + "/readyz", Env: append([]string{"GORACE=halt_on_error=1"}, e.vars...),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.d = d
}

// kill ends the daemon with SIGKILL, as a crash would.
func (e *env) kill() {
	e.t.Helper()
	e.d.Kill()
	e.d = nil
}

// stop ends the daemon with SIGTERM and waits for it to exit.
func (e *env) stop() {
	e.t.Helper()
	e.d.Stop()
	e.d = nil
}

func (e *env) dumpLogs() {
	b, _ := os.ReadFile(filepath.Join(e.dataDir, "daemon.log"))
	lines := strings.Split(string(b), "\n")
	if len(lines) > 120 {
		lines = lines[len(lines)-120:]
	}
	e.t.Logf("daemon log (last lines):\n%s", strings.Join(lines, "\n"))
}

// logContains reports whether the daemon log has s.
func (e *env) logContains(s string) bool {
	b, _ := os.ReadFile(filepath.Join(e.dataDir, "daemon.log"))
	return bytes.Contains(b, []byte(s))
}

// api calls the CSR API with tok and decodes the JSON answer into out.
func (e *env) api(method, path, tok string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, "http://"+e.httpAddr+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// ledger opens the daemon's SQLite database to read the ledger.
func (e *env) ledger() *sqlite.DB {
	e.t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(e.dataDir, "frontdesk.db"), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

// waitSettled waits until the ledger holds want inbound rows, all final.
func (e *env) waitSettled(db *sqlite.DB, want int, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		n, err := countInbound(db)
		if err == nil {
			rows, err := db.Unfinished(context.Background(), time.Now().Add(time.Hour), store.Cursor{}, 10)
			if err == nil && n >= want && len(rows) == 0 {
				return
			}
			last = fmt.Sprintf("%d of %d inbound rows, %d+ unfinished (%v)", n, want, len(rows), err)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("pipeline did not settle in %v: %s", timeout, last)
}

func countInbound(db *sqlite.DB) (int, error) {
	n := 0
	for id := int64(1); ; id++ {
		_, err := db.Inbound(context.Background(), id)
		if err != nil {
			if err == store.ErrNotFound || strings.Contains(err.Error(), "not found") {
				return n, nil
			}
			return n, err
		}
		n++
	}
}

// appendMessages APPENDs raw messages to folder of an IMAP server.
func appendMessages(t testing.TB, addr, user, pass, folder string, raws ...[]byte) {
	t.Helper()
	if err := appendRaw(addr, user, pass, folder, raws...); err != nil {
		t.Fatal(err)
	}
}

// appendRaw is appendMessages for goroutines: it returns its error.
func appendRaw(addr, user, pass, folder string, raws ...[]byte) error {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		return err
	}
	for _, raw := range raws {
		cmd := c.Append(folder, int64(len(raw)), &imap.AppendOptions{})
		if _, err := cmd.Write(raw); err != nil {
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	return c.Logout().Wait()
}

// customerMail is a plain customer message.
func customerMail(i int, from, subject, body string) []byte {
	return []byte(fmt.Sprintf("From: Customer %d <%s>\r\nTo: support@desk.example.test\r\nSubject: %s\r\n"+
		"Message-ID: <cust-%d-%d@customer.example>\r\nDate: %s\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		i, from, subject, i, time.Now().UnixNano(), time.Now().Format(time.RFC1123Z), body))
}

// createFolder creates an IMAP folder (ignoring "already exists").
func createFolder(t testing.TB, addr, user, pass, name string) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	_ = c.Create(name, nil).Wait()
	_ = c.Logout().Wait()
}

// desk is the usual single-mailbox set-up: an in-process IMAP server with
// one account, a real Redis, the SMTP peer and a daemon configured for them
// (not started).
type desk struct {
	*env
	imap  *testenv.IMAPMem
	redis *testenv.Redis
	smtp  *testenv.SMTPServer
}

func newDesk(t *testing.T, persistentRedis bool, extra string) *desk {
	t.Helper()
	srv := testenv.StartIMAPMem(t, testenv.IMAPUser{Username: "desk", Password: "desk-pass"})
	rd := testenv.StartRedis(t, persistentRedis)
	smtp := testenv.StartSMTP(t)
	e := newEnv(t, rd.Addr(), smtp.Addr, []mailbox{
		{name: "support", addr: srv.Addr(), user: "desk", pass: "desk-pass", intent: "case"},
	}, extra)
	return &desk{env: e, imap: srv, redis: rd, smtp: smtp}
}

// deliver appends raws to the desk's INBOX.
func (d *desk) deliver(raws ...[]byte) {
	d.t.Helper()
	appendMessages(d.t, d.imap.Addr(), "desk", "desk-pass", "INBOX", raws...)
}

// deliverAsync appends raws from another goroutine; the returned function
// waits for it and fails the test on an error.
func (d *desk) deliverAsync(raws ...[]byte) (wait func()) {
	done := make(chan error, 1)
	go func() { done <- appendRaw(d.imap.Addr(), "desk", "desk-pass", "INBOX", raws...) }()
	return func() {
		d.t.Helper()
		if err := <-done; err != nil {
			d.t.Fatal(err)
		}
	}
}

// waitAcked waits until every customer message in ids has an
// acknowledgement at the SMTP peer.
func (d *desk) waitAcked(ids map[string]bool, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		acked := map[string]bool{}
		for _, r := range d.smtp.Messages() {
			acked[parseAck(d.t, r.Raw).inReplyTo] = true
		}
		n := 0
		for id := range ids {
			if acked[id] {
				n++
			}
		}
		if n == len(ids) || time.Now().After(deadline) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settleExactlyOnce waits for n messages to finish and checks each became
// one case and one acknowledgement.
func (d *desk) settleExactlyOnce(ids map[string]bool) {
	d.t.Helper()
	db := d.ledger()
	d.waitSettled(db, len(ids), 4*time.Minute)
	d.waitAcked(ids, 4*time.Minute)
	checkExactlyOnce(d.t, d.env, d.smtp, ids)
}
