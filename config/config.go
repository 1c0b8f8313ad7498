// Package config owns Frontdesk's one typed configuration: the YAML schema,
// the defaults, environment overrides and validation. Every default is set in
// Default (and, for values derived from others, in resolve, which Load runs);
// every problem is reported by Validate at once; example.yaml documents every
// field and is embedded for `frontdesk check-config --example`.
//
// Environment overrides follow one rule: FRONTDESK_ followed by the YAML path
// upper-cased, with "_" between levels and list entries by index, e.g.
// FRONTDESK_DATA_DIR, FRONTDESK_SMTP_PASSWORD, FRONTDESK_MAILBOXES_0_PASSWORD.
// Every string field also has a _FILE variant that reads the value from a
// file (FRONTDESK_SMTP_PASSWORD_FILE=/run/secrets/smtp). See EnvVars.
package config

import (
	"time"

	"github.com/frontdesk/frontdesk/message"
)

// Config is the whole configuration of one frontdesk process. Use Load (or
// Parse) to build one; Default gives the defaults alone.
type Config struct {
	// DataDir holds the SQLite database, the blob store, the outbox and the
	// managed Redis' files.
	DataDir  string    `yaml:"data_dir"`
	Instance Instance  `yaml:"instance"`
	Log      Log       `yaml:"log"`
	Redis    Redis     `yaml:"redis"`
	Store    Store     `yaml:"store"`
	HTTP     HTTP      `yaml:"http"`
	Mailbox  []Mailbox `yaml:"mailboxes"`
	Forms    []Form    `yaml:"forms"`
	// InboundWebhooks are the e-mail providers posting received mail.
	InboundWebhooks []InboundWebhook `yaml:"inbound_webhooks"`
	SMTP            SMTP             `yaml:"smtp"`
	Ack             Ack              `yaml:"ack"`
	Limits          Limits           `yaml:"limits"`
	Pipeline        Pipeline         `yaml:"pipeline"`
	Classify        Classify         `yaml:"classify"`
	SLA             SLA              `yaml:"sla"`
}

// Instance identifies this installation in the mail it sends.
type Instance struct {
	// Domain is the right-hand side of our Message-IDs. Empty means the
	// domain of ack.from.
	Domain string `yaml:"domain"`
	// Secret keys the HMAC token in our Message-IDs. When empty, a random
	// secret is generated once and kept in <data_dir>/secret.
	Secret string `yaml:"secret"`
	// Addresses are our own addresses: mail from them is never acknowledged.
	// ack.from, ack.reply_to and mailbox usernames that are addresses count
	// as ours too (see OwnAddresses); list any others here.
	Addresses []string `yaml:"addresses"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// Redis is the asynq broker.
type Redis struct {
	// Addr is host:port of an external Redis. Empty means "managed": frontdesk
	// starts its own redis-server child process under <data_dir>/redis.
	Addr     string `yaml:"addr"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"`
	// Binary is the redis-server executable used in managed mode.
	Binary string `yaml:"binary"`
}

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres" // not supported yet
)

// Store.InlineBlobBytes: the default, and the largest allowed (a bigger
// blob is cheaper as a file than as a row every checkpoint rewrites).
const (
	DefaultInlineBlobBytes = 256 << 10
	MaxInlineBlobBytes     = 16 << 20
)

// Store selects the system of record.
type Store struct {
	Driver string `yaml:"driver"` // sqlite (default); postgres in a later release
	// DSN is the database location; for sqlite, a file path (default
	// <data_dir>/frontdesk.db).
	DSN string `yaml:"dsn"`
	// InlineBlobBytes is the size up to which raw messages and attachments
	// are kept inside the database rather than as files under
	// <data_dir>/blobs: a row shares its group commit's fsync where a file
	// costs its own. 0 makes every blob a file. Default 262144 (256 KiB);
	// at most 16 MiB.
	InlineBlobBytes int64 `yaml:"inline_blob_bytes"`
}

// HTTP is the CSR API listener.
type HTTP struct {
	// Listen is host:port of the API (and health endpoints).
	Listen string  `yaml:"listen"`
	Tokens []Token `yaml:"tokens"`
	// DebugListen is host:port of a separate listener serving Go's pprof
	// profiles under /debug/pprof/ (off when empty). It has no
	// authentication: keep it on loopback.
	DebugListen string `yaml:"debug_listen"`
	// Lease is how long a claimed work item stays with its CSR without a
	// renewal.
	Lease time.Duration `yaml:"lease"`
	// Timeouts of the listener against slow clients: reading a request's
	// header, reading a whole request, writing the answer, and an idle
	// keep-alive connection.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// ClientRate is how many submissions per second one client address
	// may post to the intake endpoints (forms and provider webhooks),
	// with bursts of up to ClientBurst; more are answered 429. 0 turns
	// the limit off.
	ClientRate  float64 `yaml:"client_rate"`
	ClientBurst int     `yaml:"client_burst"`
	// MaxInflight bounds the submissions served at once and
	// MaxInflightBytes the bodies they declare; beyond either a
	// submission is answered 503 with Retry-After at once.
	MaxInflight      int   `yaml:"max_inflight"`
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// TrustedProxies are addresses or CIDR ranges of reverse proxies whose
	// X-Forwarded-For header names the client; from anyone else it is
	// ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Token roles.
const (
	RoleCSR        = "csr"
	RoleSupervisor = "supervisor"
)

// Token grants API access.
type Token struct {
	// Name identifies the holder in leases and the audit trail.
	Name string `yaml:"name"`
	// Token is the bearer secret (at least 16 characters).
	Token string `yaml:"token"`
	Role  string `yaml:"role"` // csr, supervisor
	// Queues a CSR may work; empty means all queues. Supervisors see every
	// queue and must leave it empty.
	Queues []string `yaml:"queues"`
}

// TLS modes of Mailbox.TLS and SMTP.TLS.
const (
	TLSImplicit = "implicit"
	TLSStartTLS = "starttls"
	TLSNone     = "none"
)

// Mailbox is one IMAP mailbox polled for new mail. Fields left empty take
// the values of DefaultMailbox.
type Mailbox struct {
	// Name identifies the mailbox in source keys, logs and rules; it is
	// also the default queue.
	Name string `yaml:"name"`
	Host string `yaml:"host"`
	// Port defaults to 993 for implicit TLS, 143 otherwise.
	Port     int    `yaml:"port"`
	TLS      string `yaml:"tls"` // implicit, starttls, none
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// InsecureSkipVerify disables certificate checks (test servers only).
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	Folder             string `yaml:"folder"`
	// Intent is the default intent of mail in this mailbox: case or order.
	Intent string `yaml:"intent"`
	// Queue is the default CSR queue for work from this mailbox (default:
	// the mailbox's name).
	Queue string `yaml:"queue"`
	// MoveTo is the folder accepted messages are moved to; when empty,
	// accepted messages are flagged with Flag instead.
	MoveTo string `yaml:"move_to"`
	// Flag is the IMAP keyword set on accepted messages when MoveTo is empty.
	Flag string `yaml:"flag"`
	// PollInterval is used when the server has no IDLE.
	PollInterval time.Duration `yaml:"poll_interval"`
	// IdleRestart re-issues IDLE before servers drop it (RFC 2177: 29 min).
	IdleRestart time.Duration `yaml:"idle_restart"`
	// DisableIdle forces polling.
	DisableIdle bool `yaml:"disable_idle"`
}

// SMTP is the submission server for outgoing mail. An empty Host writes
// messages as .eml files to OutboxDir instead.
type SMTP struct {
	Host string `yaml:"host"`
	// Port defaults to 465 for implicit TLS, 587 for starttls, 25 for none.
	Port     int    `yaml:"port"`
	TLS      string `yaml:"tls"` // implicit, starttls (default), none
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// InsecureSkipVerify disables certificate checks (test servers only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// HELO is the name we greet with; empty means the machine's host name.
	HELO string `yaml:"helo"`
	// Timeout bounds each SMTP conversation.
	Timeout time.Duration `yaml:"timeout"`
	// PoolSize is how many connections to the server may be open and
	// sending at once; they are reused for MaxPerConn messages each.
	PoolSize   int `yaml:"pool_size"`
	MaxPerConn int `yaml:"max_per_conn"`
	// OutboxDir receives .eml files when Host is empty (default <data_dir>/outbox).
	OutboxDir string `yaml:"outbox_dir"`
}

// Ack configures acknowledgements.
type Ack struct {
	Enabled bool `yaml:"enabled"`
	// From is the sender of every e-mail we send (RFC 5322 address, with or
	// without a display name).
	From string `yaml:"from"`
	// ReplyTo, when set, is where customers' replies go.
	ReplyTo string `yaml:"reply_to"`
	// TemplatesDir overrides the embedded templates file by file.
	TemplatesDir string `yaml:"templates_dir"`
	// Followups also acknowledges replies that join an existing case.
	Followups bool `yaml:"followups"`
	// Per-recipient and per-case sliding-window caps (DESIGN.md invariant 3).
	PerRecipient int           `yaml:"per_recipient"`
	PerCase      int           `yaml:"per_case"`
	Window       time.Duration `yaml:"window"`
}

// Limits bound parsing (DESIGN.md invariant 5); see message.Limits.
type Limits struct {
	MaxMessageBytes    int64 `yaml:"max_message_bytes"`
	MaxParts           int   `yaml:"max_parts"`
	MaxDepth           int   `yaml:"max_depth"`
	MaxPartHeaderBytes int   `yaml:"max_part_header_bytes"`
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
}

// Pipeline tunes the asynq workers.
type Pipeline struct {
	// Concurrency is the number of tasks run at once by this process.
	Concurrency int `yaml:"concurrency"`
	// TaskCheckInterval is how often an idle worker polls its queues
	// (asynq's default of 1s would add up to a second to every ack).
	TaskCheckInterval time.Duration `yaml:"task_check_interval"`
	// SweepInterval is how often unfinished inbound rows are re-enqueued.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// SweepAge is how long a row must sit unfinished before the sweep
	// re-enqueues it.
	SweepAge time.Duration `yaml:"sweep_age"`
	// MaxRetry is how often a failing task is retried before it is archived.
	MaxRetry int `yaml:"max_retry"`
	// ShutdownTimeout bounds the drain of in-flight tasks on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Classify holds the rule-based classifier's rules, tried in order; the
// first match sets each field it names.
type Classify struct {
	Rules []Rule `yaml:"rules"`
}

// Rule matches on mailbox, sender, subject and body keywords.
type Rule struct {
	// Name is recorded with the classification, for the audit trail.
	Name string `yaml:"name"`
	// Match: every non-empty field must match (case-insensitive).
	Mailbox  string   `yaml:"mailbox"`
	From     string   `yaml:"from"`     // address or @domain suffix
	Keywords []string `yaml:"keywords"` // any of them in subject or body
	// Set: applied when the rule matches.
	Intent   string `yaml:"intent"` // case, order
	Category string `yaml:"category"`
	Priority string `yaml:"priority"` // urgent, high, normal, low
	Queue    string `yaml:"queue"`
}

// Priorities of Rule.Priority and the SLA.
const (
	PriorityUrgent = "urgent"
	PriorityHigh   = "high"
	PriorityNormal = "normal"
	PriorityLow    = "low"
)

// SLA gives the first-response time per priority; it sets a work item's due
// time and the "when to expect an answer" in acknowledgements.
type SLA struct {
	Urgent time.Duration `yaml:"urgent"`
	High   time.Duration `yaml:"high"`
	Normal time.Duration `yaml:"normal"`
	Low    time.Duration `yaml:"low"`
}

// For returns the first-response time for priority (urgent, high, normal,
// low); any other value gets the normal time.
func (s SLA) For(priority string) time.Duration {
	switch priority {
	case PriorityUrgent:
		return s.Urgent
	case PriorityHigh:
		return s.High
	case PriorityLow:
		return s.Low
	default:
		return s.Normal
	}
}

// Message returns l as the parser's limits.
func (l Limits) Message() message.Limits {
	return message.Limits{
		MaxBytes:           l.MaxMessageBytes,
		MaxParts:           l.MaxParts,
		MaxDepth:           l.MaxDepth,
		MaxPartHeaderBytes: l.MaxPartHeaderBytes,
		MaxAttachmentBytes: l.MaxAttachmentBytes,
	}
}
