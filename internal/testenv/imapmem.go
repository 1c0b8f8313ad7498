package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPUser is a login on a test IMAP server.
type IMAPUser struct {
	Username string
	Password string
}

// The user a test server has when none is given.
const (
	defaultIMAPUsername = "frontdesk"
	defaultIMAPPassword = "frontdesk-test-password"
)

// IMAPMemOptions configures StartIMAPMemWith.
type IMAPMemOptions struct {
	// Users to create, each with an INBOX; default one user
	// "frontdesk" / "frontdesk-test-password".
	Users []IMAPUser
	// Caps the server offers. Default IMAP4rev1 + IMAP4rev2 (which bring
	// IDLE, MOVE, UIDPLUS...). {IMAP4rev1, UIDPLUS} gives a server without
	// MOVE; {IMAP4rev1} one without MOVE and UIDPLUS.
	Caps imap.CapSet
	// TLS also serves implicit TLS on TLSPort and offers STARTTLS on Port,
	// with a fresh self-signed certificate for 127.0.0.1 (see CertPool).
	TLS bool
}

// IMAPMem is go-imap's in-memory IMAP server on 127.0.0.1. The embedded
// IMAPAccount is the first user. Mailboxes survive Stop/Start/Restart; only
// the network side goes away.
type IMAPMem struct {
	IMAPAccount
	// TLSPort is the implicit-TLS port (Options.TLS only).
	TLSPort int

	opts    IMAPMemOptions
	backend *imapmemserver.Server
	cert    *x509.Certificate
	tlsConf *tls.Config
	logs    *lockedBuffer

	mu      sync.Mutex
	srv     *imapserver.Server
	serving sync.WaitGroup
}

// StartIMAPMem starts an in-memory IMAP server with users (default one user)
// and stops it when the test ends.
func StartIMAPMem(t testing.TB, users ...IMAPUser) *IMAPMem {
	t.Helper()
	return StartIMAPMemWith(t, IMAPMemOptions{Users: users})
}

// StartIMAPMemWith is StartIMAPMem with options.
func StartIMAPMemWith(t testing.TB, opts IMAPMemOptions) *IMAPMem {
	t.Helper()
	m, err := NewIMAPMem(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("in-memory IMAP server log:\n%s", m.logs.String())
		}
	})
	return m
}

// NewIMAPMem starts an in-memory IMAP server for a program that is not a
// test (the benchmark harness); Stop ends it.
func NewIMAPMem(opts IMAPMemOptions) (*IMAPMem, error) {
	if len(opts.Users) == 0 {
		opts.Users = []IMAPUser{{Username: defaultIMAPUsername, Password: defaultIMAPPassword}}
	}
	if opts.Caps == nil {
		opts.Caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	m := &IMAPMem{
		IMAPAccount: IMAPAccount{
			Host:     "127.0.0.1",
			Username: opts.Users[0].Username,
			Password: opts.Users[0].Password,
		},
		opts:    opts,
		backend: imapmemserver.New(),
		logs:    &lockedBuffer{},
	}
	for _, u := range opts.Users {
		user := imapmemserver.NewUser(u.Username, u.Password)
		if err := user.Create("INBOX", nil); err != nil {
			return nil, fmt.Errorf("create INBOX for %s: %w", u.Username, err)
		}
		m.backend.AddUser(user)
	}
	if opts.TLS {
		cert, conf, err := selfSigned()
		if err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
		m.cert, m.tlsConf = cert, conf
	}
	if err := m.start(); err != nil {
		return nil, fmt.Errorf("start in-memory IMAP server: %w", err)
	}
	return m, nil
}

// TLSAddr is host:port of the implicit-TLS listener.
func (m *IMAPMem) TLSAddr() string {
	return net.JoinHostPort(m.Host, strconv.Itoa(m.TLSPort))
}

// CertPool trusts the server's certificate (Options.TLS only).
func (m *IMAPMem) CertPool() *x509.CertPool {
	if m.cert == nil {
		return nil
	}
	return certPool(m.cert)
}

// Stop closes the listeners and every connection; mailboxes are kept.
func (m *IMAPMem) Stop() {
	m.mu.Lock()
	srv := m.srv
	m.srv = nil
	m.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	m.serving.Wait()
}

// Start serves the same mailboxes again on the same ports after Stop.
func (m *IMAPMem) Start(t testing.TB) {
	t.Helper()
	if err := m.start(); err != nil {
		t.Fatalf("restart in-memory IMAP server: %v", err)
	}
}

// Restart drops every connection and serves again on the same ports: what
// a server restart looks like to a client.
func (m *IMAPMem) Restart(t testing.TB) {
	t.Helper()
	m.Stop()
	m.Start(t)
}

func (m *IMAPMem) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(m.Host, strconv.Itoa(m.Port)))
	if err != nil {
		return err
	}
	m.Port = ln.Addr().(*net.TCPAddr).Port
	lns := []net.Listener{ln}
	if m.tlsConf != nil {
		tln, err := tls.Listen("tcp", net.JoinHostPort(m.Host, strconv.Itoa(m.TLSPort)), m.tlsConf)
		if err != nil {
			_ = ln.Close()
			return err
		}
		m.TLSPort = tln.Addr().(*net.TCPAddr).Port
		lns = append(lns, tln)
	}
	backend := m.backend
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			sess, ok := backend.NewSession().(imapserver.SessionIMAP4rev2)
			if !ok {
				return nil, nil, errors.New("imapmemserver session lacks IMAP4rev2 methods")
			}
			return pollingIdle{sess}, nil, nil
		},
		Caps:         m.opts.Caps,
		TLSConfig:    m.tlsConf,
		InsecureAuth: true,
		Logger:       log.New(m.logs, "imapserver: ", log.LstdFlags),
	})
	m.srv = srv
	for _, l := range lns {
		m.serving.Add(1)
		go func() {
			defer m.serving.Done()
			_ = srv.Serve(l)
		}()
	}
	return nil
}

// pollingIdle reports mailbox updates during IDLE by polling the session
// every 10 ms. go-imap v2.0.0-beta.8's in-memory IDLE only wakes on updates
// queued after it starts, so a message appended between the client's
// previous command and IDLE would go unreported until the next update;
// real servers report it (the same bug was fixed in Cyrus, cyrus-imapd
// #3668). Pollers keep a periodic check for such servers anyway.
type pollingIdle struct {
	imapserver.SessionIMAP4rev2
}

func (s pollingIdle) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a server config using it.
func selfSigned() (*x509.Certificate, *tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "frontdesk test IMAP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	conf := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	return cert, conf, nil
}

// lockedBuffer collects server logs for the test's failure output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
