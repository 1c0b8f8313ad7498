package imap

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/store"
)

// Accepter is the accept step (satisfied by *intake.Acceptor): when Accept
// returns nil the message is durable and queued, and the source may be told.
type Accepter interface {
	Accept(ctx context.Context, s intake.Submission) (intake.Result, error)
}

// Checkpoints keeps each folder's UIDVALIDITY and last taken UID (satisfied
// by a store.Store). Checkpoint returns zero values when none is stored.
type Checkpoints interface {
	Checkpoint(ctx context.Context, source string) (store.Checkpoint, error)
	SaveCheckpoint(ctx context.Context, cp store.Checkpoint) error
}

var _ Accepter = (*intake.Acceptor)(nil)

// Poller watches one IMAP folder and accepts its new mail. Create it with
// New; Run it once.
type Poller struct {
	cfg    Config
	acc    Accepter
	cp     Checkpoints
	log    *slog.Logger
	source string

	// wake is signalled (never blocking) by the IMAP reader goroutine when
	// the server announces new mail.
	wake    chan struct{}
	status  statusBox
	running atomic.Bool
}

// New returns a poller for cfg (zero fields take the defaults); Run
// validates cfg. A nil log discards.
func New(cfg Config, acc Accepter, cp Checkpoints, log *slog.Logger) *Poller {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	source := "imap:" + cfg.Name
	p := &Poller{
		cfg:    cfg,
		acc:    acc,
		cp:     cp,
		log:    log.With(slog.String("channel", "imap"), slog.String("source", source), slog.String("folder", cfg.Folder)),
		source: source,
		wake:   make(chan struct{}, 1),
	}
	p.status.s = Status{Source: source, Folder: cfg.Folder, State: StateStarting}
	return p
}

// Source is the poller's source name, "imap:<name>".
func (p *Poller) Source() string { return p.source }

// Status returns a snapshot of what the poller is doing; safe to call from
// any goroutine.
func (p *Poller) Status() Status { return p.status.get() }

// Run watches the folder until ctx is cancelled, reconnecting after every
// error with backoff. It returns nil when ctx is cancelled, and an *Error of
// KindConfig at once when the configuration is invalid.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.cfg.Validate(); err != nil {
		p.status.fail(err, KindConfig, time.Now())
		p.status.setState(StateStopped)
		return err
	}
	if p.acc == nil || p.cp == nil {
		err := &Error{Kind: KindConfig, Op: "config", Err: errors.New("poller needs an Accepter and Checkpoints")}
		p.status.fail(err, KindConfig, time.Now())
		p.status.setState(StateStopped)
		return err
	}
	if !p.running.CompareAndSwap(false, true) {
		return &Error{Kind: KindConfig, Op: "run", Err: errors.New("poller is already running")}
	}
	defer p.running.Store(false)
	defer p.status.setState(StateStopped)
	if p.cfg.TLS == TLSNone && !isLoopback(p.cfg.Host) {
		p.log.Warn("IMAP without TLS to a remote host: the password travels in clear text",
			slog.String("host", p.cfg.Host))
	}

	bo := backoff{min: p.cfg.BackoffMin, max: p.cfg.BackoffMax}
	for {
		healthy, err := p.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errRecycle) {
			p.log.Debug("starting a fresh IMAP session (session_max_age)")
			bo.reset()
			continue
		}
		if err == nil { // a session ends only on error or cancel
			err = &Error{Kind: KindNetwork, Op: "session", Err: errors.New("session ended")}
		}
		if healthy {
			bo.reset()
		}
		wait := bo.next()
		kind := kindOf(err)
		p.status.fail(err, kind, time.Now())
		if kind == KindAuth {
			// Hammering a server with a bad password gets accounts locked:
			// retry slowly, and say so loudly.
			wait = max(wait, p.cfg.BackoffMax)
			p.log.Error("IMAP login rejected; check the mailbox credentials",
				slog.String("user", p.cfg.Username), slog.Any("err", err), slog.Duration("retry_in", wait))
		} else {
			p.log.Warn("IMAP session failed; reconnecting",
				slog.String("kind", string(kind)), slog.Any("err", err), slog.Duration("retry_in", wait))
		}
		p.status.update(func(s *Status) { s.RetryAt = time.Now().Add(wait) })
		p.status.setState(StateBackoff)
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// signalWake records that the server announced new mail. It runs on
// imapclient's reader goroutine and must never block.
func (p *Poller) signalWake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// drainWake forgets announcements made before a check that will see them.
func (p *Poller) drainWake() {
	select {
	case <-p.wake:
	default:
	}
}
