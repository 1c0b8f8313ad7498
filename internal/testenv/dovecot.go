// Package testenv starts the real peers tests need (Redis, Dovecot, in-process
// IMAP and SMTP servers) on loopback.
package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dovecotBinary is where Debian's dovecot-core puts the master process.
const dovecotBinary = "/usr/sbin/dovecot"

// Dovecot is a real Dovecot 2.3 IMAP server for one test: its own
// throwaway configuration, a static user in a passwd-file, Maildir storage
// and a plain-text listener on a free 127.0.0.1 port, all under one
// temporary directory. The embedded IMAPAccount is the test user.
//
// Dovecot delays IDLE notices by about half a second, by design; tests wait
// for outcomes, not for times.
type Dovecot struct {
	IMAPAccount
	// Dir holds the configuration, the mail and the logs.
	Dir string

	bin  string
	conf string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error // receives cmd.Wait's result
}

// ErrDovecotMissing is returned by NewDovecot when Dovecot is not installed.
var ErrDovecotMissing = errors.New("dovecot not installed (apt-get install -y dovecot-imapd)")

// StartDovecot starts Dovecot and stops it when the test ends. It skips the
// test when Dovecot is not installed (dovecot-imapd), unless CI=true.
func StartDovecot(t testing.TB) *Dovecot {
	t.Helper()
	d, err := NewDovecot()
	if errors.Is(err, ErrDovecotMissing) {
		Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dovecot log:\n%s", d.Log())
		}
		if err := d.Close(); err != nil {
			t.Errorf("stop dovecot: %v", err)
		}
	})
	return d
}

// NewDovecot starts Dovecot for a program that is not a test (the
// benchmark harness); Close stops it and removes its files.
func NewDovecot() (*Dovecot, error) {
	bin := dovecotBinary
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("dovecot")
		if lerr != nil {
			return nil, ErrDovecotMissing
		}
		bin = p
	}
	// Not a test's TempDir: Dovecot's unix sockets live in base_dir and
	// their paths must stay short, and the mail user must be able to enter it.
	dir, err := os.MkdirTemp("", "dovecot-")
	if err != nil {
		return nil, err
	}
	d := &Dovecot{
		IMAPAccount: IMAPAccount{
			Host:     "127.0.0.1",
			Username: defaultIMAPUsername,
			Password: defaultIMAPPassword,
		},
		Dir: dir,
		bin: bin,
	}
	if err := d.configure(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("dovecot config: %w", err)
	}
	var lastErr error
	for range 3 { // a free port can be taken between probe and bind
		port, err := freePort()
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		d.Port = port
		if err := d.writeConfig(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("dovecot config: %w", err)
		}
		if lastErr = d.start(); lastErr == nil {
			return d, nil
		}
	}
	err = fmt.Errorf("start dovecot: %w\n%s", lastErr, d.Log())
	_ = os.RemoveAll(dir)
	return nil, err
}

// Close stops Dovecot and removes its configuration and mail.
func (d *Dovecot) Close() error {
	err := d.stop()
	return errors.Join(err, os.RemoveAll(d.Dir))
}

// Log returns what Dovecot logged so far.
func (d *Dovecot) Log() string {
	var b strings.Builder
	for _, name := range []string{"dovecot.log", "stdout.log"} {
		data, err := os.ReadFile(filepath.Join(d.Dir, name))
		if err == nil {
			b.Write(data)
		}
	}
	return b.String()
}

// Stop terminates Dovecot (all its processes) and waits for it to exit.
// Mail is kept on disk.
func (d *Dovecot) Stop(t testing.TB) {
	t.Helper()
	if err := d.stop(); err != nil {
		t.Errorf("stop dovecot: %v", err)
	}
}

// Start starts Dovecot again after Stop, on the same port with the same mail.
func (d *Dovecot) Start(t testing.TB) {
	t.Helper()
	if err := d.start(); err != nil {
		t.Fatalf("start dovecot: %v\n%s", err, d.Log())
	}
}

// Restart stops and starts Dovecot: every connection is cut, as in a
// server restart.
func (d *Dovecot) Restart(t testing.TB) {
	t.Helper()
	d.Stop(t)
	d.Start(t)
}

func (d *Dovecot) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		return nil
	}
	out, err := os.OpenFile(filepath.Join(d.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(d.bin, "-F", "-c", d.conf)
	cmd.Dir = d.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = dovecotSysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := waitGreeting(d.Addr(), done, 20*time.Second); err != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		return err
	}
	d.cmd, d.done = cmd, done
	return nil
}

func (d *Dovecot) stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return nil
	}
	cmd, done := d.cmd, d.done
	d.cmd, d.done = nil, nil
	// The master stops its children on SIGTERM.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return errors.New("dovecot ignored SIGTERM for 10s; killed")
	}
	// Mail processes outlive the master (they finish their sessions): kill
	// what is left of the process group, so that a restart cuts every
	// connection as a crash or a reboot would.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill dovecot's remaining processes: %w", err)
	}
	// Wait until the port is free so that Start can bind it again.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ln, err := net.Listen("tcp", d.Addr())
		if err == nil {
			_ = ln.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("port %d still bound after dovecot stopped", d.Port)
}

// waitGreeting dials addr until the server greets with "* OK", or the
// process exits, or the deadline passes.
func waitGreeting(addr string, exited <-chan error, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("dovecot exited during start-up: %v", err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(conn).ReadString('\n')
			_ = conn.Close()
			if rerr == nil && strings.HasPrefix(line, "* OK") {
				return nil
			}
			err = fmt.Errorf("greeting %q: %v", line, rerr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dovecot not answering on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// configure prepares the directory layout and the user database.
func (d *Dovecot) configure() error {
	run, err := runAs()
	if err != nil {
		return err
	}
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(d.Dir, sub), 0o755); err != nil {
			return err
		}
	}
	// The mail processes run as run.mailUser, never as root (Dovecot
	// refuses uid 0): it must be able to enter Dir and own the mail.
	if err := os.Chmod(d.Dir, 0o711); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(d.Dir, "mail"), run.uid, run.gid); err != nil {
			return err
		}
	}
	users := fmt.Sprintf("%s:{PLAIN}%s\n", d.Username, d.Password)
	if err := os.WriteFile(filepath.Join(d.Dir, "users"), []byte(users), 0o644); err != nil {
		return err
	}
	d.conf = filepath.Join(d.Dir, "dovecot.conf")
	return nil
}

// writeConfig writes dovecot.conf for the current port.
func (d *Dovecot) writeConfig() error {
	run, err := runAs()
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(dovecotConf,
		d.Dir, run.internal, run.internalGroup, run.login,
		run.uid, run.gid, run.mailUser, run.mailGroup, d.Port)
	return os.WriteFile(d.conf, []byte(conf), 0o644)
}

// dovecotConf: base_dir etc. (%[1]s), internal user and group, login user,
// first valid uid/gid, mail user and group, port.
const dovecotConf = `# Throwaway configuration written by internal/testenv.
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
info_log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
login_trusted_networks = 127.0.0.0/8
auth_mechanisms = plain login
default_internal_user = %[2]s
default_internal_group = %[3]s
default_login_user = %[4]s
first_valid_uid = %[5]d
first_valid_gid = %[6]d
mail_uid = %[7]s
mail_gid = %[8]s
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/users
}
userdb {
  driver = static
  args = uid=%[7]s gid=%[8]s home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[9]d
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
`

// runIDs says which accounts Dovecot's processes use.
type runIDs struct {
	internal, internalGroup string // default_internal_user/group
	login                   string // default_login_user
	mailUser, mailGroup     string // owner of the mail processes and files
	uid, gid                int    // of mailUser
}

// runAs picks the accounts: as root, Debian's dovecot/dovenull users for
// the daemons and "mail" for the mail (Dovecot refuses root there); as
// another user, that user for everything.
func runAs() (runIDs, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return runIDs{}, err
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			return runIDs{}, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return runIDs{u.Username, g.Name, u.Username, u.Username, g.Name, uid, gid}, nil
	}
	ids := runIDs{internal: "dovecot", internalGroup: "dovecot", login: "dovenull"}
	if _, err := user.Lookup(ids.internal); err != nil {
		return runIDs{}, fmt.Errorf("dovecot user missing: %w", err)
	}
	if _, err := user.Lookup(ids.login); err != nil {
		ids.login = ids.internal
	}
	for _, name := range []string{"mail", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			continue
		}
		ids.mailUser, ids.mailGroup = u.Username, g.Name
		ids.uid, _ = strconv.Atoi(u.Uid)
		ids.gid, _ = strconv.Atoi(u.Gid)
		return ids, nil
	}
	return runIDs{}, errors.New("no unprivileged user (mail, nobody) for Dovecot's mail processes")
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
