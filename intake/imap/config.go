package imap

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

// TLS modes of Config.TLS.
const (
	TLSImplicit = "implicit" // TLS from the first byte (port 993)
	TLSStartTLS = "starttls" // plain connect, then STARTTLS (port 143)
	TLSNone     = "none"     // plain text: loopback tests only
)

// Defaults applied by New for zero Config fields.
const (
	DefaultFolder         = "INBOX"
	DefaultFlag           = "$Frontdesk"
	DefaultPollInterval   = 30 * time.Second
	DefaultIdleRestart    = 25 * time.Minute
	DefaultIdleCheck      = 5 * time.Minute
	DefaultBatchSize      = 200
	DefaultAcceptWorkers  = 16
	DefaultFetchBytes     = 16 << 20
	DefaultBackoffMin     = time.Second
	DefaultBackoffMax     = 5 * time.Minute
	DefaultDialTimeout    = 30 * time.Second
	DefaultCommandTimeout = 2 * time.Minute
	DefaultSessionMaxAge  = time.Hour
)

// TooLargeFlag marks a message that is too large to accept; it stays in the
// folder for a person and is never fetched again.
const TooLargeFlag = "$FrontdeskTooLarge"

// maxIdleRestart is the longest IDLE we keep: RFC 2177 §3 lets servers drop
// a client idle for 30 minutes, and says to re-issue IDLE at least every 29.
const maxIdleRestart = 29 * time.Minute

// Config is one mailbox folder to watch. Zero fields take the defaults above.
type Config struct {
	// Name identifies the mailbox in source keys and checkpoints
	// ("imap:<name>"); it must not change once mail was accepted.
	Name string
	Host string
	// Port defaults to 993 for implicit TLS, else 143.
	Port int
	// TLS is implicit (default), starttls or none.
	TLS      string
	Username string
	Password string
	// InsecureSkipVerify disables certificate checks (test servers only).
	InsecureSkipVerify bool
	// TLSConfig, when set, is the base TLS configuration (RootCAs of a
	// private CA, client certificates). ServerName defaults to Host.
	TLSConfig *tls.Config
	// Folder is the folder watched (default INBOX).
	Folder string
	// Intent and Queue are the defaults given to every message from here.
	Intent message.Intent
	Queue  string
	// MoveTo, when set, is where taken messages go (created if missing);
	// otherwise they stay and carry Flag.
	MoveTo string
	// Flag is the keyword that marks a taken message (default $Frontdesk).
	Flag string
	// PollInterval is the check interval without IDLE (default 30s).
	PollInterval time.Duration
	// IdleRestart re-issues IDLE this often (default 25m, at most 29m).
	IdleRestart time.Duration
	// IdleCheck is the safety-net check interval while idling (default 5m).
	IdleCheck time.Duration
	// DisableIdle forces polling.
	DisableIdle bool
	// BatchSize is how many messages are taken between checkpoints
	// (default 200): the accepted ones are flagged or moved, and the
	// checkpoint saved, once per batch, so a larger batch spends less of
	// a burst on that bookkeeping; after a crash at most a batch is
	// fetched again (and found accepted).
	BatchSize int
	// AcceptWorkers is how many messages of a batch are handed to the
	// acceptor at once (default 16), so that their blob fsyncs overlap and
	// their inbound rows share group commits; 1 accepts one by one.
	AcceptWorkers int
	// FetchBytes bounds the message bodies held in memory at once: the
	// bodies of a batch are fetched in one UID FETCH per FetchBytes worth of
	// messages (by their RFC822.SIZE; default 16 MiB). A larger message is
	// fetched alone.
	FetchBytes int64
	// MaxBytes, when > 0, leaves larger messages undownloaded and flagged
	// TooLargeFlag. Set it to the acceptor's limit; 0 downloads everything
	// and lets the acceptor decide.
	MaxBytes int64
	// BackoffMin and BackoffMax bound the reconnect delay (default 1s and
	// 5m); a rejected login waits BackoffMax.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// DialTimeout bounds connecting, TLS and the greeting (default 30s);
	// CommandTimeout bounds the answer to any command (default 2m).
	DialTimeout    time.Duration
	CommandTimeout time.Duration
	// SessionMaxAge ends a healthy session after this long and starts a
	// fresh one (default 1h): a safety net against a server session whose
	// view of the folder went stale without telling us.
	SessionMaxAge time.Duration
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSImplicit
	}
	if c.Port == 0 {
		c.Port = 143
		if c.TLS == TLSImplicit {
			c.Port = 993
		}
	}
	if c.Folder == "" {
		c.Folder = DefaultFolder
	}
	if c.Intent == "" {
		c.Intent = message.IntentCase
	}
	if c.Flag == "" {
		c.Flag = DefaultFlag
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setDur(&c.PollInterval, DefaultPollInterval)
	setDur(&c.IdleRestart, DefaultIdleRestart)
	setDur(&c.IdleCheck, DefaultIdleCheck)
	setDur(&c.BackoffMin, DefaultBackoffMin)
	setDur(&c.BackoffMax, DefaultBackoffMax)
	setDur(&c.DialTimeout, DefaultDialTimeout)
	setDur(&c.CommandTimeout, DefaultCommandTimeout)
	setDur(&c.SessionMaxAge, DefaultSessionMaxAge)
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.AcceptWorkers == 0 {
		c.AcceptWorkers = DefaultAcceptWorkers
	}
	if c.FetchBytes == 0 {
		c.FetchBytes = DefaultFetchBytes
	}
	return c
}

// Validate reports every problem of c (after defaults) at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Name == "" {
		bad("name is required")
	} else if strings.ContainsAny(c.Name, ": \t\r\n") {
		bad("name %q must not contain ':' or white space (it is part of source keys)", c.Name)
	}
	if c.Host == "" {
		bad("host is required")
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("port %d out of range", c.Port)
	}
	switch c.TLS {
	case TLSImplicit, TLSStartTLS, TLSNone:
	default:
		bad("tls %q: want %s, %s or %s", c.TLS, TLSImplicit, TLSStartTLS, TLSNone)
	}
	if c.Username == "" {
		bad("username is required")
	}
	if c.Password == "" {
		bad("password is required")
	}
	if !c.Intent.Valid() {
		bad("intent %q: want %s or %s", c.Intent, message.IntentCase, message.IntentOrder)
	}
	if err := validKeyword(c.Flag); err != nil {
		bad("flag: %v", err)
	} else if strings.EqualFold(c.Flag, TooLargeFlag) {
		bad("flag must differ from %s", TooLargeFlag)
	}
	if c.MoveTo != "" && sameFolder(c.MoveTo, c.Folder) {
		bad("move_to %q is the folder being watched", c.MoveTo)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"poll_interval", c.PollInterval}, {"idle_restart", c.IdleRestart},
		{"idle_check", c.IdleCheck}, {"backoff_min", c.BackoffMin},
		{"backoff_max", c.BackoffMax}, {"dial_timeout", c.DialTimeout},
		{"command_timeout", c.CommandTimeout}, {"session_max_age", c.SessionMaxAge},
	} {
		if d.v < 0 {
			bad("%s %v is negative", d.name, d.v)
		}
	}
	if c.IdleRestart > maxIdleRestart {
		bad("idle_restart %v exceeds %v (RFC 2177)", c.IdleRestart, maxIdleRestart)
	}
	if c.BackoffMin > c.BackoffMax {
		bad("backoff_min %v exceeds backoff_max %v", c.BackoffMin, c.BackoffMax)
	}
	if c.BatchSize < 1 {
		bad("batch_size %d must be at least 1", c.BatchSize)
	}
	if c.AcceptWorkers < 1 {
		bad("accept_workers %d must be at least 1", c.AcceptWorkers)
	}
	if c.FetchBytes < 1 {
		bad("fetch_bytes %d must be at least 1", c.FetchBytes)
	}
	if c.MaxBytes < 0 {
		bad("max_bytes %d is negative", c.MaxBytes)
	}
	if len(errs) == 0 {
		return nil
	}
	return &Error{Kind: KindConfig, Op: "config", Err: errors.Join(errs...)}
}

// validKeyword checks that flag is an IMAP keyword: an atom, not a system
// flag (RFC 9051 §9 flag-keyword).
func validKeyword(flag string) error {
	if flag == "" {
		return errors.New("empty")
	}
	if strings.HasPrefix(flag, `\`) {
		return fmt.Errorf("%q is a system flag; use a keyword such as %s", flag, DefaultFlag)
	}
	for _, r := range flag {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r) {
			return fmt.Errorf("%q: %q is not allowed in a keyword", flag, r)
		}
	}
	return nil
}

// sameFolder compares folder names; INBOX is case-insensitive (RFC 9051 §5.1).
func sameFolder(a, b string) bool {
	if strings.EqualFold(a, "INBOX") || strings.EqualFold(b, "INBOX") {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
