package testenv

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAPAccount is a mailbox account on a test IMAP server (the in-memory one
// or Dovecot). Its methods act on the server as a second, independent
// client would: each call logs in, does its work and logs out.
type IMAPAccount struct {
	Host     string
	Port     int
	Username string
	Password string
}

// StoredMessage is one message as the server holds it.
type StoredMessage struct {
	UID   imap.UID
	Flags []imap.Flag
	Raw   []byte
}

// HasFlag reports whether m carries flag (case-insensitively, as IMAP
// compares flags).
func (m StoredMessage) HasFlag(flag imap.Flag) bool {
	for _, f := range m.Flags {
		if strings.EqualFold(string(f), string(flag)) {
			return true
		}
	}
	return false
}

// Addr is host:port of the plain-text listener.
func (a *IMAPAccount) Addr() string {
	return net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
}

// DialIMAP connects and logs in; the caller closes the client. It returns
// errors instead of failing the test so that it can be used from goroutines.
func (a *IMAPAccount) DialIMAP() (*imapclient.Client, error) {
	return dialIMAP(a.Addr(), a.Username, a.Password, nil)
}

// Dial is DialIMAP for the test goroutine: the client is closed when the
// test ends.
func (a *IMAPAccount) Dial(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := a.DialIMAP()
	if err != nil {
		t.Fatalf("imap dial %s: %v", a.Addr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func dialIMAP(addr, user, pass string, tlsConfig *tls.Config) (*imapclient.Client, error) {
	opts := &imapclient.Options{Dialer: &net.Dialer{Timeout: 10 * time.Second}}
	var (
		c   *imapclient.Client
		err error
	)
	if tlsConfig != nil {
		opts.TLSConfig = tlsConfig
		c, err = imapclient.DialTLS(addr, opts)
	} else {
		c, err = imapclient.DialInsecure(addr, opts)
	}
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("login as %s: %w", user, err)
	}
	return c, nil
}

// with runs f on a fresh logged-in client and fails the test on error.
func (a *IMAPAccount) with(t testing.TB, what string, f func(c *imapclient.Client) error) {
	t.Helper()
	c, err := a.DialIMAP()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer func() { _ = c.Close() }()
	if err := f(c); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	_ = c.Logout().Wait()
}

// AppendIMAP stores raw in folder with flags and returns its UID (0 when the
// server does not report UIDPLUS data). It returns errors so that it can run
// outside the test goroutine.
func AppendIMAP(c *imapclient.Client, folder string, raw []byte, flags ...imap.Flag) (imap.UID, error) {
	cmd := c.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write(raw); err != nil {
		_ = cmd.Close()
		return 0, err
	}
	if err := cmd.Close(); err != nil {
		return 0, err
	}
	data, err := cmd.Wait()
	if err != nil {
		return 0, err
	}
	return data.UID, nil
}

// Append stores raw in folder with flags (APPEND) and returns its UID.
func (a *IMAPAccount) Append(t testing.TB, folder string, raw []byte, flags ...imap.Flag) imap.UID {
	t.Helper()
	var uid imap.UID
	a.with(t, "append to "+folder, func(c *imapclient.Client) (err error) {
		uid, err = AppendIMAP(c, folder, raw, flags...)
		return err
	})
	return uid
}

// Count returns the number of messages in folder.
func (a *IMAPAccount) Count(t testing.TB, folder string) int {
	t.Helper()
	var n int
	a.with(t, "status of "+folder, func(c *imapclient.Client) error {
		data, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			return err
		}
		if data.NumMessages == nil {
			return errors.New("server sent no MESSAGES count")
		}
		n = int(*data.NumMessages)
		return nil
	})
	return n
}

// UIDValidity returns folder's UIDVALIDITY.
func (a *IMAPAccount) UIDValidity(t testing.TB, folder string) uint32 {
	t.Helper()
	var v uint32
	a.with(t, "status of "+folder, func(c *imapclient.Client) error {
		data, err := c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
		v = data.UIDValidity
		return err
	})
	return v
}

// Messages returns every message in folder with its flags, in UID order.
// It reads with BODY.PEEK[] so it changes no flag.
func (a *IMAPAccount) Messages(t testing.TB, folder string) []StoredMessage {
	t.Helper()
	var out []StoredMessage
	a.with(t, "read "+folder, func(c *imapclient.Client) (err error) {
		out, err = readAll(c, folder)
		return err
	})
	return out
}

func readAll(c *imapclient.Client, folder string) ([]StoredMessage, error) {
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, err
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	var all imap.SeqSet
	all.AddRange(1, 0) // 1:*
	bufs, err := c.Fetch(all, &imap.FetchOptions{
		UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		return nil, err
	}
	out := make([]StoredMessage, 0, len(bufs))
	for _, b := range bufs {
		out = append(out, StoredMessage{UID: b.UID, Flags: b.Flags, Raw: b.FindBodySection(section)})
	}
	slices.SortFunc(out, func(x, y StoredMessage) int { return cmp.Compare(x.UID, y.UID) })
	return out, nil
}

// CreateMailbox creates folder; a folder that exists already is fine
// (Dovecot may answer ALREADYEXISTS when another session's SELECT races
// with the CREATE).
func (a *IMAPAccount) CreateMailbox(t testing.TB, folder string) {
	t.Helper()
	a.with(t, "create "+folder, func(c *imapclient.Client) error {
		err := c.Create(folder, nil).Wait()
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
			return nil
		}
		return err
	})
}

// DeleteMailbox deletes folder and everything in it.
func (a *IMAPAccount) DeleteMailbox(t testing.TB, folder string) {
	t.Helper()
	a.with(t, "delete "+folder, func(c *imapclient.Client) error {
		return c.Delete(folder).Wait()
	})
}

// ResetUIDValidity does what a mailbox migration or rebuild does: it reads
// every message of folder with its flags, deletes and re-creates folder (the
// server gives it a new UIDVALIDITY) and appends the messages back with the
// same flags, in the same order. Dovecot cannot delete INBOX; use another
// folder there. It returns the old and new UIDVALIDITY.
func (a *IMAPAccount) ResetUIDValidity(t testing.TB, folder string) (before, after uint32) {
	t.Helper()
	a.with(t, "reset UIDVALIDITY of "+folder, func(c *imapclient.Client) error {
		msgs, err := readAll(c, folder)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if err := c.Unselect().Wait(); err != nil {
			return fmt.Errorf("unselect: %w", err)
		}
		st, err := c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
		if err != nil {
			return fmt.Errorf("status: %w", err)
		}
		before = st.UIDValidity
		if err := c.Delete(folder).Wait(); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if err := c.Create(folder, nil).Wait(); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		for _, m := range msgs {
			if err := appendRetry(c, folder, m); err != nil {
				return fmt.Errorf("append: %w", err)
			}
		}
		st, err = c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
		if err != nil {
			return fmt.Errorf("status after: %w", err)
		}
		after = st.UIDValidity
		if after == before {
			return fmt.Errorf("UIDVALIDITY of %s did not change (%d)", folder, before)
		}
		return nil
	})
	return before, after
}

// appendRetry appends m to folder. Dovecot may answer NO ("Mailbox was
// deleted under us") when another session had the old folder open while it
// was re-created; the folder is then created again and the append retried.
func appendRetry(c *imapclient.Client, folder string, m StoredMessage) error {
	for attempt := 0; ; attempt++ {
		_, err := AppendIMAP(c, folder, m.Raw, settableFlags(m.Flags)...)
		var ie *imap.Error
		// Dovecot answers NO [TRYCREATE] "Mailbox was deleted under us"
		// while another session (the poller's) still holds the old index;
		// on a loaded machine that lasts a while.
		if err == nil || attempt == 40 || !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeNo {
			return err
		}
		time.Sleep(min(time.Duration(attempt+1)*10*time.Millisecond, 200*time.Millisecond))
		if err := c.Create(folder, nil).Wait(); err != nil && (!errors.As(err, &ie) || ie.Code != imap.ResponseCodeAlreadyExists) {
			return err
		}
	}
}

// SetFlags adds (add=true) or removes flags on the message with uid.
func (a *IMAPAccount) SetFlags(t testing.TB, folder string, uid imap.UID, add bool, flags ...imap.Flag) {
	t.Helper()
	a.with(t, "store flags in "+folder, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		op := imap.StoreFlagsDel
		if add {
			op = imap.StoreFlagsAdd
		}
		return c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Close()
	})
}

// settableFlags drops \Recent, which a client may not set.
func settableFlags(flags []imap.Flag) []imap.Flag {
	out := flags[:0:0]
	for _, f := range flags {
		if !strings.EqualFold(string(f), `\Recent`) {
			out = append(out, f)
		}
	}
	return out
}

// certPool returns a pool holding cert.
func certPool(cert *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(cert)
	return p
}
