package testenv

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 headers of received mail
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPServer is a real SMTP server (go-smtp) on 127.0.0.1, in process, that
// records every message it accepts and can be told to misbehave (SetFault).
// It stops when the test ends.
type SMTPServer struct {
	// Addr is "127.0.0.1:port"; Host and Port are its parts.
	Addr string
	Host string
	Port int

	logf      func(format string, args ...any)
	closeOnce sync.Once
	srv       *smtp.Server
	opts      smtpOptions
	done      chan struct{} // closed at cleanup: ends injected hangs
	served    chan struct{}
	ln        net.Listener
	connWG    sync.WaitGroup
	mu        sync.Mutex
	msgs      []Received
	changed   chan struct{} // closed and replaced on every new message and DATA line
	fault     Fault
	fired     int
	accepted  int
	conns     map[*trackedConn]struct{}
	partial   map[*session][]byte // DATA content being received, by session
	closed    bool
}

// Received is one message the server accepted.
type Received struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Raw  []byte   // the message as received, CRLF line ends
	At   time.Time
	// MessageID is the parsed Message-ID without angle brackets ("" when
	// absent or unparsable); Header is the parsed top-level header.
	MessageID string
	Header    mail.Header
	// TLS says the session was encrypted; User is who authenticated ("" for
	// nobody).
	TLS  bool
	User string
}

// Stage is where an injected reply code is answered.
type Stage int

const (
	AtConnect Stage = iota + 1 // instead of the greeting, then the connection is closed
	AtMail                     // to MAIL FROM
	AtRcpt                     // to RCPT TO
	AtData                     // to the final "." of DATA: the message is not recorded
)

// Fault makes the server misbehave. The zero Fault is normal service.
type Fault struct {
	// Refuse closes every new connection at once, before the greeting.
	Refuse bool
	// Code is answered at Stage: 421 or 451 (temporary), 550 (permanent)...
	Stage Stage
	Code  int
	// Hang stalls in DATA: the server reads the whole message, waits this
	// long without a word, then answers 451 and records nothing.
	Hang time.Duration
	// Drop closes the connection in DATA once the whole message, final dot
	// included, has been read, without a reply; nothing is recorded. The
	// client cannot tell whether the message was kept.
	Drop bool
	// Times is how often the fault fires before service returns to normal;
	// 0 means until the next SetFault.
	Times int
}

// SMTPOption configures StartSMTP.
type SMTPOption func(*smtpOptions)

type smtpOptions struct {
	user, pass string
	mechs      []string
	cert       *tls.Certificate
	implicit   bool
	bulk       bool
}

// WithSMTPAuth requires authentication as user with pass, offering the
// given SASL mechanisms (default PLAIN and LOGIN), also on unencrypted
// connections.
func WithSMTPAuth(user, pass string, mechanisms ...string) SMTPOption {
	return func(o *smtpOptions) {
		o.user, o.pass, o.mechs = user, pass, mechanisms
		if len(o.mechs) == 0 {
			o.mechs = []string{sasl.Plain, sasl.Login}
		}
	}
}

// WithSMTPBulkData reads each message's DATA in one piece instead of line by
// line: Receiving and WaitReceiving see nothing in flight, and a load
// generator spends far less of the machine on the peer.
func WithSMTPBulkData() SMTPOption {
	return func(o *smtpOptions) { o.bulk = true }
}

// WithSMTPStartTLS offers STARTTLS with cert.
func WithSMTPStartTLS(cert tls.Certificate) SMTPOption {
	return func(o *smtpOptions) { o.cert, o.implicit = &cert, false }
}

// WithSMTPImplicitTLS speaks TLS from the first byte (like port 465).
func WithSMTPImplicitTLS(cert tls.Certificate) SMTPOption {
	return func(o *smtpOptions) { o.cert, o.implicit = &cert, true }
}

// StartSMTP starts an SMTP server on a free port of 127.0.0.1 and stops it
// (closing every connection) when the test ends. Its log goes to the test.
func StartSMTP(t testing.TB, opts ...SMTPOption) *SMTPServer {
	t.Helper()
	s, err := NewSMTP(t.Logf, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewSMTP starts an SMTP server on a free port of 127.0.0.1 for a program
// that is not a test (the benchmark harness); logf (nil: discard) gets its
// log, Close stops it.
func NewSMTP(logf func(format string, args ...any), opts ...SMTPOption) (*SMTPServer, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &SMTPServer{
		logf:    logf,
		done:    make(chan struct{}),
		served:  make(chan struct{}),
		changed: make(chan struct{}),
		conns:   map[*trackedConn]struct{}{},
		partial: map[*session][]byte{},
	}
	for _, o := range opts {
		o(&s.opts)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testenv: smtp listen: %w", err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	s.Addr, s.Host, s.Port = tcp.String(), tcp.IP.String(), tcp.Port
	s.ln = ln

	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "testenv.localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 32 << 20
	s.srv.MaxRecipients = 100
	s.srv.ErrorLog = testLogger{s}
	var l net.Listener = &faultListener{Listener: ln, s: s}
	if s.opts.cert != nil {
		cfg := &tls.Config{Certificates: []tls.Certificate{*s.opts.cert}, MinVersion: tls.VersionTLS12}
		if s.opts.implicit {
			l = tls.NewListener(l, cfg)
		} else {
			s.srv.TLSConfig = cfg
		}
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(l)
	}()
	return s, nil
}

// Close stops the server and closes every connection.
func (s *SMTPServer) Close() {
	s.closeOnce.Do(s.stop)
}

func (s *SMTPServer) stop() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	_ = s.srv.Close()
	// go-smtp's Close only closes listeners Serve has registered, and Serve
	// may not have started yet.
	_ = s.ln.Close()
	<-s.served
	s.connWG.Wait()
}

// SetFault replaces the current fault; SetFault(Fault{}) restores service.
func (s *SMTPServer) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// FaultsFired counts how often a fault fired.
func (s *SMTPServer) FaultsFired() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fired
}

// Connections counts the connections accepted (refused ones included).
func (s *SMTPServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// DropConnections closes every open connection from the server's side, as a
// server restart or an idle timeout would.
func (s *SMTPServer) DropConnections() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Messages returns a copy of what was accepted so far, in arrival order.
func (s *SMTPServer) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Count is len(Messages()).
func (s *SMTPServer) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// WaitFor waits until at least n messages arrived or timeout passed, and
// returns the messages there are; the caller checks the count.
func (s *SMTPServer) WaitFor(n int, timeout time.Duration) []Received {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := slices.Clone(s.msgs)
			s.mu.Unlock()
			return out
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return s.Messages()
		}
	}
}

// Receiving returns the content received so far of each DATA transaction
// not answered yet, in no particular order: its final dot has not arrived,
// or the server is still deciding (Hang). Content is published a whole line
// at a time, dot-unstuffed, as Received.Raw will hold it. A message leaves
// Receiving as it is recorded, at the same moment.
func (s *SMTPServer) Receiving() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.receivingLocked()
}

func (s *SMTPServer) receivingLocked() [][]byte {
	out := make([][]byte, 0, len(s.partial))
	for _, p := range s.partial {
		out = append(out, slices.Clone(p))
	}
	return out
}

// WaitReceiving waits until cond holds for Receiving() or timeout passed,
// and reports whether it held.
func (s *SMTPServer) WaitReceiving(cond func(open [][]byte) bool, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		open, ch := s.receivingLocked(), s.changed
		s.mu.Unlock()
		if cond(open) {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// receiving publishes the content of ss's DATA received so far; nil ends it.
func (s *SMTPServer) receiving(ss *session, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if content == nil {
		delete(s.partial, ss)
	} else {
		s.partial[ss] = content
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// fire reports whether the current fault matches, counting it down.
func (s *SMTPServer) fire(match func(Fault) bool) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fault
	if !match(f) {
		return f, false
	}
	s.fired++
	if f.Times > 0 {
		s.fault.Times--
		if s.fault.Times == 0 {
			s.fault = Fault{}
		}
	}
	return f, true
}

func (s *SMTPServer) codeAt(st Stage) error {
	f, ok := s.fire(func(f Fault) bool { return f.Stage == st && f.Code != 0 })
	if !ok {
		return nil
	}
	return &smtp.SMTPError{Code: f.Code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "fault injected"}
}

// record adds r, received in ss, and ends ss's entry in Receiving at the
// same moment.
func (s *SMTPServer) record(ss *session, r Received) {
	if e, err := message.Read(bytes.NewReader(r.Raw)); e != nil {
		r.Header = mail.Header{Header: e.Header}
		r.MessageID, _ = r.Header.MessageID()
	} else {
		s.logf("testenv: smtp: unparsable message: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, r)
	delete(s.partial, ss)
	close(s.changed)
	s.changed = make(chan struct{})
}

// faultListener applies Refuse and AtConnect faults and tracks connections.
type faultListener struct {
	net.Listener
	s *SMTPServer
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		s := l.s
		s.mu.Lock()
		s.accepted++
		s.mu.Unlock()
		if f, ok := s.fire(func(f Fault) bool { return f.Refuse || f.Stage == AtConnect && f.Code != 0 }); ok {
			if !f.Refuse && !s.opts.implicit {
				_, _ = fmt.Fprintf(c, "%d Service not available (fault injected)\r\n", f.Code)
			}
			_ = c.Close()
			continue
		}
		tc := &trackedConn{Conn: c, s: s}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return nil, net.ErrClosed
		}
		s.conns[tc] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		return tc, nil
	}
}

type trackedConn struct {
	net.Conn
	s    *SMTPServer
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.s.connWG.Done()
	})
	return err
}

// session is one SMTP session.
type session struct {
	s    *SMTPServer
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (s *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: s, conn: c, tls: isTLS}, nil
}

func (ss *session) AuthMechanisms() []string { return ss.s.opts.mechs }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if ss.s.opts.user == "" || user != ss.s.opts.user || pass != ss.s.opts.pass {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}
	if !slices.Contains(ss.s.opts.mechs, mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.user != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	if err := ss.s.codeAt(AtMail); err != nil {
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.s.codeAt(AtRcpt); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	defer ss.s.receiving(ss, nil) // unless record ended it
	raw, err := ss.readData(r)
	if err != nil {
		return err
	}
	if _, ok := ss.s.fire(func(f Fault) bool { return f.Drop }); ok {
		ss.s.receiving(ss, nil)
		_ = ss.conn.Conn().Close() // no reply: go-smtp's write of it fails
		return errors.New("connection dropped (fault injected)")
	}
	if f, ok := ss.s.fire(func(f Fault) bool { return f.Hang > 0 }); ok {
		timer := time.NewTimer(f.Hang)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ss.s.done:
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "hung (fault injected)"}
	}
	if err := ss.s.codeAt(AtData); err != nil {
		return err
	}
	ss.s.record(ss, Received{From: ss.from, To: slices.Clone(ss.to), Raw: raw, At: time.Now(), TLS: ss.tls, User: ss.user})
	return nil
}

// readData reads the content of DATA up to the final dot, publishing it to
// Receiving at every line end. go-smtp's reader fills the whole buffer it is
// given before it returns, so it is read a byte at a time.
func (ss *session) readData(r io.Reader) ([]byte, error) {
	if ss.s.opts.bulk {
		return io.ReadAll(r)
	}
	var raw []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			raw = append(raw, b[0])
			if b[0] == '\n' {
				ss.s.receiving(ss, raw[:len(raw):len(raw)])
			}
		}
		if err == io.EOF {
			return raw, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism, which go-sasl no
// longer ships: "Username:", "Password:", each answered in base64 by the
// SMTP layer.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // initial response carries the user name
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.step++
		l.user = string(response)
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

// testLogger sends go-smtp's log to the test while it runs.
type testLogger struct{ s *SMTPServer }

func (l testLogger) Printf(format string, v ...any) { l.log(fmt.Sprintf(format, v...)) }
func (l testLogger) Println(v ...any)               { l.log(fmt.Sprintln(v...)) }

func (l testLogger) log(msg string) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.closed {
		l.s.logf("testenv: smtp server: %s", strings.TrimSpace(msg))
	}
}
