package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
)

// TLS modes of SMTPConfig.TLS.
const (
	TLSStartTLS = "starttls" // plain connect, then STARTTLS, required (RFC 3207); the default
	TLSImplicit = "implicit" // TLS from the first byte (RFC 8314, port 465)
	TLSNone     = "none"     // no TLS at all: test servers and local relays only
)

// Defaults for zero fields of SMTPConfig.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultPoolSize    = 4
	DefaultIdleTimeout = 30 * time.Second
	DefaultMaxPerConn  = 100
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("mailer: sender closed")

// SMTPConfig configures delivery to one submission server.
type SMTPConfig struct {
	Host string
	// Port defaults by TLS mode: 465 implicit, 587 starttls, 25 none.
	Port int
	TLS  string // TLSStartTLS (default), TLSImplicit, TLSNone
	// Username turns on authentication with Password; AuthMechanism picks
	// AuthPlain or AuthLogin (default AuthAuto).
	Username, Password string
	AuthMechanism      string
	// InsecureSkipVerify disables certificate checks (test servers only);
	// RootCAs replaces the system roots when not nil.
	InsecureSkipVerify bool
	RootCAs            *x509.CertPool
	// HELO is the name we greet with; default the host name.
	HELO string
	// Timeout bounds connecting (through AUTH) and each message's
	// transaction.
	Timeout time.Duration
	// PoolSize is how many connections may be open and sending at once.
	PoolSize int
	// IdleTimeout: a connection idle longer is closed rather than reused.
	IdleTimeout time.Duration
	// MaxPerConn: a connection is closed after this many messages (some
	// servers limit messages per session).
	MaxPerConn int
}

func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSImplicit:
			c.Port = 465
		case TLSNone:
			c.Port = 25
		default:
			c.Port = 587
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxPerConn == 0 {
		c.MaxPerConn = DefaultMaxPerConn
	}
	return c
}

func (c SMTPConfig) validate() error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("host is required"))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", c.Port))
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		errs = append(errs, fmt.Errorf("tls %q: want %s, %s or %s", c.TLS, TLSStartTLS, TLSImplicit, TLSNone))
	}
	switch c.AuthMechanism {
	case AuthAuto, AuthPlain, AuthLogin:
	default:
		errs = append(errs, fmt.Errorf("auth mechanism %q: want %s or %s", c.AuthMechanism, AuthPlain, AuthLogin))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, errors.New("password without username"))
	}
	if c.Timeout < 0 || c.IdleTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	if c.PoolSize < 0 || c.MaxPerConn < 0 {
		errs = append(errs, errors.New("pool size and messages per connection must not be negative"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("mailer: smtp config: %w", errors.Join(errs...))
	}
	return nil
}

// SMTP sends over SMTP, reusing up to PoolSize connections. A connection
// that met any error is closed, never reused; a reused connection that turns
// out dead before the message was transferred (the server closed it while
// idle) is replaced once, at once, without counting as a failure. It starts
// no goroutines and is safe for concurrent use.
type SMTP struct {
	cfg   SMTPConfig
	addr  string
	tls   *tls.Config
	opts  []mail.Option
	log   *slog.Logger
	slots chan struct{}

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

// NewSMTP checks cfg and returns a sender; it connects on first use.
func NewSMTP(cfg SMTPConfig, log *slog.Logger) (*SMTP, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &SMTP{
		cfg:   cfg,
		addr:  net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		log:   log.With("smtp_server", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))),
		slots: make(chan struct{}, cfg.PoolSize),
		tls: &tls.Config{
			ServerName:         cfg.Host,
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // documented test-only switch
			RootCAs:            cfg.RootCAs,
		},
	}
	s.opts = []mail.Option{
		mail.WithPort(cfg.Port),
		mail.WithTimeout(cfg.Timeout),
		// Transactions are run by transact, not go-mail's Send: no NOOP
		// before and no RSET after each message (a connection that met an
		// error is never reused). A dead idle connection shows at MAIL FROM,
		// before any content is sent, and is replaced then.
		mail.WithoutNoop(),
		mail.WithoutRset(),
		mail.WithoutSMTPUTF8(), // Build only writes ASCII addresses
	}
	switch cfg.TLS {
	case TLSStartTLS:
		s.opts = append(s.opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(s.tls))
	default: // implicit TLS is done by our dialer; go-mail must not try STARTTLS on top
		s.opts = append(s.opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if cfg.HELO != "" {
		s.opts = append(s.opts, mail.WithHELO(cfg.HELO))
	}
	return s, nil
}

// Send delivers o. See Error for how failures are classified, and
// Outgoing.BeforeCommit and AfterCommit for the failures whose outcome is
// unknown.
func (s *SMTP) Send(ctx context.Context, o Outgoing) error {
	msg, err := Build(o)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		c, err := s.acquire(ctx)
		if err != nil {
			return err
		}
		reused := c.sent > 0
		err = s.sendOn(ctx, c, msg, o.BeforeCommit)
		if err == nil {
			c.sent++
			s.release(c, true)
			return nil
		}
		s.release(c, false)
		if ctx.Err() != nil {
			e := temporary(StageData, fmt.Errorf("%w (while sending: %v)", ctx.Err(), err))
			var inner *Error
			if errors.As(err, &inner) {
				e.Stage, e.afterCommit = inner.Stage, inner.afterCommit
			}
			return e
		}
		// Only a failure at MAIL FROM qualifies, long before BeforeCommit:
		// the hook runs at most once per Send.
		if reused && attempt == 0 && staleConn(err) {
			s.log.Debug("reused SMTP connection was dead; retrying on a new one", "message_id", o.MessageID, "error", err)
			continue
		}
		return err
	}
}

// staleConn reports whether err says the connection was gone before the
// transaction began: no reply at all, or 421 (RFC 5321 §3.8: the server is
// closing the channel), at MAIL FROM or in setting the deadline before it.
func staleConn(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return (e.Stage == StageConnect || e.Stage == StageMail) && (e.Code == 0 || e.Code == 421)
}

// sendOn runs the transaction for msg on c; the context's end closes the
// connection, which ends any read or write at once.
func (s *SMTP) sendOn(ctx context.Context, c *conn, msg *mail.Msg, commit func(context.Context) error) error {
	stop := context.AfterFunc(ctx, c.abort)
	err := s.transact(ctx, c, msg, commit)
	if !stop() {
		c.broken = true // the context fired: the connection is closed or closing
	}
	return err
}

// Ping opens a new connection (through TLS and AUTH) and closes it: a
// start-up check of the configuration. It does not use the pool.
func (s *SMTP) Ping(ctx context.Context) error {
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	c.quit(s.cfg.Timeout)
	return nil
}

// Close closes the idle connections; sends in flight finish and their
// connections close as they end. Send returns ErrClosed afterwards.
func (s *SMTP) Close() error {
	s.mu.Lock()
	s.closed = true
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, c := range idle {
		c.quit(s.cfg.Timeout)
	}
	return nil
}
