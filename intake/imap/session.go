package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/frontdesk/frontdesk/store"
)

// session is one logged-in connection with the folder selected.
type session struct {
	p    *Poller
	c    *imapclient.Client
	conn net.Conn
	dog  *watchdog
	log  *slog.Logger
	caps imap.CapSet

	// keywords is true when the server keeps our keywords on messages
	// (PERMANENTFLAGS has \* or the flag itself).
	keywords bool
	// validity and last are the folder's checkpoint as held in memory.
	validity uint32
	last     imap.UID
	// rescan is true after a UIDVALIDITY change until the folder has been
	// rescanned: UIDs up to rescanTo get RescanKey, and the checkpoint keeps
	// the old UIDVALIDITY until the rescan is complete.
	rescan   bool
	rescanTo imap.UID
	// saved is the checkpoint last loaded or stored.
	saved store.Checkpoint
	// checked is true once a check for mail has run in this session.
	checked bool
	// verified is when the folder's UIDVALIDITY was last confirmed (SELECT
	// or STATUS).
	verified time.Time
	// undone is true when the current check left a message for the next
	// one (the server answered without its body).
	undone bool
	// warnedExpunge avoids repeating the no-UIDPLUS warning.
	warnedExpunge bool
}

// session runs one connection until it fails or ctx is cancelled. healthy
// reports whether at least one check for mail completed.
func (p *Poller) session(ctx context.Context) (healthy bool, err error) {
	p.status.setState(StateConnecting)
	conn, err := p.dial(ctx)
	if err != nil {
		return false, err
	}
	// Closing the connection is how cancellation and hung commands end
	// everything, IDLE included: every pending command then fails.
	closedByCtx := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = conn.Close()
		close(closedByCtx)
	})
	dog := newWatchdog(conn, p.cfg.CommandTimeout)
	s := &session{p: p, conn: conn, dog: dog, log: p.log}
	defer func() {
		if s.c != nil && ctx.Err() == nil && (errors.Is(err, errRecycle) || kindOf(err) != KindNetwork) {
			dog.arm()
			_ = s.c.Logout().Wait()
		}
		dog.stop()
		if s.c != nil {
			_ = s.c.Close()
		} else {
			_ = conn.Close()
		}
		if !stop() {
			<-closedByCtx
		}
	}()

	if err := s.open(ctx); err != nil {
		return false, err
	}
	end := time.Now().Add(p.cfg.SessionMaxAge)
	woke := false
	for {
		if err := s.check(ctx, woke); err != nil {
			return healthy, err
		}
		healthy = true
		if !time.Now().Before(end) {
			return true, errRecycle
		}
		if woke, err = s.wait(ctx, time.Until(end)); err != nil {
			return healthy, err
		}
	}
}

// errRecycle ends a session that reached SessionMaxAge; it is not a failure.
var errRecycle = errors.New("imap: session reached its maximum age")

// dial connects, with TLS as configured; the greeting is read by open.
func (p *Poller) dial(ctx context.Context) (net.Conn, error) {
	addr := net.JoinHostPort(p.cfg.Host, strconv.Itoa(p.cfg.Port))
	d := net.Dialer{Timeout: p.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, wrap("connect "+addr, KindNetwork, err)
	}
	if p.cfg.TLS != TLSImplicit {
		return conn, nil
	}
	tc := tls.Client(conn, p.tlsConfig())
	hctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		_ = conn.Close()
		return nil, &Error{Kind: KindTLS, Op: "TLS handshake with " + addr, Err: err}
	}
	return tc, nil
}

func (p *Poller) tlsConfig() *tls.Config {
	var c *tls.Config
	if p.cfg.TLSConfig != nil {
		c = p.cfg.TLSConfig.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = p.cfg.Host
	}
	if p.cfg.InsecureSkipVerify {
		c.InsecureSkipVerify = true
	}
	if c.NextProtos == nil {
		c.NextProtos = []string{"imap"}
	}
	return c
}

// open reads the greeting, upgrades to TLS if asked, logs in, selects the
// folder and loads the checkpoint.
func (s *session) open(ctx context.Context) error {
	p := s.p
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					p.signalWake()
				}
			},
		},
	}
	s.dog.armFor(p.cfg.DialTimeout)
	if p.cfg.TLS == TLSStartTLS {
		opts.TLSConfig = p.tlsConfig()
		c, err := imapclient.NewStartTLS(s.conn, opts)
		if err != nil {
			s.dog.disarm()
			return &Error{Kind: classify(err, KindTLS), Op: "STARTTLS", Err: err}
		}
		s.c = c
	} else {
		s.c = imapclient.New(s.conn, opts)
	}
	err := s.c.WaitGreeting()
	s.dog.disarm()
	if err != nil {
		return wrap("greeting", KindServer, err)
	}

	s.dog.arm()
	defer s.dog.disarm()
	if s.c.State() == imap.ConnStateNotAuthenticated {
		if s.c.Caps().Has(imap.CapLoginDisabled) {
			return &Error{Kind: KindAuth, Op: "login", Err: errors.New("server refuses LOGIN on this connection (LOGINDISABLED); use TLS")}
		}
		if err := s.c.Login(p.cfg.Username, p.cfg.Password).Wait(); err != nil {
			return wrap("login as "+p.cfg.Username, KindAuth, err)
		}
	}
	s.caps = s.c.Caps()
	if s.caps == nil {
		return &Error{Kind: KindNetwork, Op: "capability", Err: errors.New("no CAPABILITY answer")}
	}

	sel, err := s.c.Select(p.cfg.Folder, nil).Wait()
	if err != nil {
		return wrap("select "+p.cfg.Folder, KindMailbox, err)
	}
	s.verified = time.Now()
	s.keywords = hasFlag(sel.PermanentFlags, imap.FlagWildcard) || hasFlag(sel.PermanentFlags, imap.Flag(p.cfg.Flag))
	if !s.keywords && p.cfg.MoveTo == "" {
		return &Error{Kind: KindServer, Op: "select " + p.cfg.Folder,
			Err: fmt.Errorf("server does not keep keyword %s in this folder; set move_to", p.cfg.Flag)}
	}
	if p.cfg.MoveTo != "" {
		if err := s.ensureFolder(p.cfg.MoveTo); err != nil {
			return err
		}
	}
	s.dog.disarm()

	cp, err := p.cp.Checkpoint(ctx, p.source)
	if err != nil {
		return &Error{Kind: KindCheckpoint, Op: "load checkpoint", Err: err}
	}
	s.validity = sel.UIDValidity
	s.saved = cp
	switch {
	case cp.UIDValidity == 0:
		// First session: record UIDVALIDITY at once, so that a change is
		// recognised even if no message is ever taken under this one.
		s.last = 0
		first := store.Checkpoint{Source: p.source, UIDValidity: s.validity}
		if err := p.cp.SaveCheckpoint(ctx, first); err != nil {
			return &Error{Kind: KindCheckpoint, Op: "save checkpoint", Err: err}
		}
		s.saved = first
	case cp.UIDValidity == sel.UIDValidity:
		s.last = imap.UID(cp.LastUID)
	default:
		// RFC 9051 §2.3.1.1: the old UIDs mean nothing now.
		s.last = 0
		s.rescan = true
		s.rescanTo = sel.UIDNext - 1
		if sel.UIDNext == 0 {
			if s.rescanTo, err = s.highestUID(); err != nil {
				return err
			}
		}
		s.log.Warn("UIDVALIDITY changed; rescanning the folder (taken messages are skipped by their flag)",
			slog.Uint64("old_uidvalidity", uint64(cp.UIDValidity)),
			slog.Uint64("uidvalidity", uint64(sel.UIDValidity)),
			slog.Uint64("rescan_to_uid", uint64(s.rescanTo)))
	}
	p.status.update(func(st *Status) {
		st.Connected = true
		st.Sessions++
		st.UIDValidity = s.validity
		st.LastUID = uint32(s.last)
		st.Rescanning = s.rescan
	})
	s.log.Info("IMAP session open",
		slog.Uint64("uidvalidity", uint64(s.validity)), slog.Uint64("last_uid", uint64(s.last)),
		slog.Bool("idle", s.useIdle()), slog.Bool("move", s.caps.Has(imap.CapMove)))

	if p.cfg.MoveTo != "" && s.keywords {
		return s.moveFlagged()
	}
	return nil
}

// useIdle reports whether the session waits with IDLE.
func (s *session) useIdle() bool {
	return !s.p.cfg.DisableIdle && s.caps.Has(imap.CapIdle)
}

// wait returns when there may be new mail: the server said so (woke), or
// a timer fired; it waits at most limit.
func (s *session) wait(ctx context.Context, limit time.Duration) (woke bool, err error) {
	p := s.p
	if !s.useIdle() {
		p.status.update(func(st *Status) { st.State = StatePolling; st.Idle = false })
		t := time.NewTimer(min(p.cfg.PollInterval, limit))
		defer t.Stop()
		select {
		case <-t.C:
			return false, nil
		case <-p.wake: // announced in an earlier answer
			return true, nil
		case <-ctx.Done():
			return false, ctx.Err()
		case <-s.c.Closed():
			return false, &Error{Kind: KindNetwork, Op: "poll wait", Err: errors.New("connection closed by server")}
		}
	}

	s.dog.arm()
	idle, err := s.c.Idle()
	s.dog.disarm()
	if err != nil {
		return false, wrap("idle", KindServer, err)
	}
	p.status.update(func(st *Status) { st.State = StateIdle; st.Idle = true })
	t := time.NewTimer(min(p.cfg.IdleRestart, p.cfg.IdleCheck, limit))
	defer t.Stop()
	var waitErr error
	select {
	case <-p.wake:
		woke = true
	case <-t.C:
	case <-ctx.Done():
		waitErr = ctx.Err()
	case <-s.c.Closed():
		waitErr = &Error{Kind: KindNetwork, Op: "idle", Err: errors.New("connection closed by server")}
	}
	s.dog.arm()
	defer s.dog.disarm()
	closeErr := idle.Close()
	if waitErr != nil {
		return false, waitErr
	}
	if closeErr != nil {
		return false, wrap("end idle", KindNetwork, closeErr)
	}
	return woke, wrap("end idle", KindServer, idle.Wait())
}

// verifyEvery is the longest a session goes without confirming the
// folder's UIDVALIDITY (STATUS) while mail keeps being announced: the
// safety-net interval of its way of waiting.
func (s *session) verifyEvery() time.Duration {
	if s.useIdle() {
		return s.p.cfg.IdleCheck
	}
	return s.p.cfg.PollInterval
}

// ensureFolder creates name unless it exists.
func (s *session) ensureFolder(name string) error {
	list, err := s.c.List("", name, nil).Collect()
	if err != nil {
		return wrap("list "+name, KindServer, err)
	}
	for _, l := range list {
		if sameFolder(l.Mailbox, name) {
			return nil
		}
	}
	if err := s.c.Create(name, nil).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
			return nil
		}
		return wrap("create "+name, KindMailbox, err)
	}
	s.log.Info("created folder for taken messages", slog.String("move_to", name))
	return nil
}

// hasFlag reports whether flags holds f (flags compare case-insensitively).
func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, x := range flags {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}
