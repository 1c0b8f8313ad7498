package mailer

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// conn is one SMTP session. It has its own go-mail Client, so sessions share
// no mutable state.
type conn struct {
	mc     *mail.Client
	sc     *smtp.Client
	sent   int
	since  time.Time // idle since
	broken bool

	mu      sync.Mutex
	raw     net.Conn // the TCP connection under any TLS, closed to abort
	aborted bool
}

// setRaw records the TCP connection; it is closed at once if the session
// was aborted while dialling.
func (c *conn) setRaw(raw net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.raw = raw
	if c.aborted {
		_ = raw.Close()
		return false
	}
	return true
}

// abort closes the TCP connection under the session, which makes any
// blocked read or write return at once. Safe from any goroutine.
func (c *conn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aborted = true
	if c.raw != nil {
		_ = c.raw.Close()
	}
}

// quit ends the session politely, waiting at most limit (and 5 s) for the reply.
func (c *conn) quit(limit time.Duration) {
	if c.sc != nil && !c.broken {
		_ = c.sc.UpdateDeadline(min(limit, 5*time.Second))
		_ = c.sc.Quit()
	}
	c.abort()
}

// acquire takes a pool slot and returns an idle connection or a new one.
func (s *SMTP) acquire(ctx context.Context) (*conn, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, temporary(StageConnect, ctx.Err())
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			<-s.slots
			return nil, temporary(StageClosed, ErrClosed)
		}
		var c *conn
		if n := len(s.idle); n > 0 {
			c = s.idle[n-1] // the most recently used is the most likely alive
			s.idle = s.idle[:n-1]
		}
		s.mu.Unlock()
		if c == nil {
			break
		}
		if time.Since(c.since) < s.cfg.IdleTimeout {
			return c, nil
		}
		c.abort() // idle too long: the server may be about to drop it
	}
	c, err := s.dial(ctx)
	if err != nil {
		<-s.slots
		return nil, err
	}
	return c, nil
}

// release gives c back to the pool, or closes it when it is not reusable.
func (s *SMTP) release(c *conn, ok bool) {
	defer func() { <-s.slots }()
	if ok && !c.broken && c.sent < s.cfg.MaxPerConn {
		s.mu.Lock()
		if !s.closed {
			c.since = time.Now()
			s.idle = append(s.idle, c)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	if ok && !c.broken {
		c.quit(s.cfg.Timeout)
		return
	}
	s.log.Debug("closing SMTP connection", "sent", c.sent, "reusable", ok)
	c.abort()
}

// dial connects, greets, starts TLS and authenticates.
func (s *SMTP) dial(ctx context.Context) (*conn, error) {
	c := &conn{}
	dialer := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(ctx, network, s.addr)
		if err != nil {
			return nil, err
		}
		if !c.setRaw(raw) {
			return nil, context.Cause(ctx)
		}
		if s.cfg.TLS != TLSImplicit {
			return raw, nil
		}
		tc := tls.Client(raw, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return tc, nil
	}
	opts := append(slices.Clip(s.opts), mail.WithDialContextFunc(dialer))
	if s.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuthCustom(&pickAuth{
			user: s.cfg.Username, pass: s.cfg.Password, host: s.cfg.Host, mech: s.cfg.AuthMechanism,
		}))
	}
	mc, err := mail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, classifyOther(StageConnect, err)
	}
	c.mc = mc
	stop := context.AfterFunc(ctx, c.abort)
	sc, err := mc.DialToSMTPClientWithContext(ctx)
	stopped := stop()
	if err != nil || !stopped {
		c.abort() // go-mail leaves the connection open when EHLO, STARTTLS or AUTH fail
		if !stopped {
			err = fmt.Errorf("%w (while connecting: %v)", context.Cause(ctx), err)
		}
		return nil, classifyOther(StageConnect, err)
	}
	c.sc = sc
	s.log.Debug("SMTP connection opened", "tls", s.cfg.TLS, "auth", s.cfg.Username != "")
	return c, nil
}
