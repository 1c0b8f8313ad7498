package config

import (
	"net/mail"
	"path/filepath"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

// Default returns the configuration used when nothing is configured: one
// machine, data under ./data, a managed Redis, SQLite, acknowledgements
// written to the outbox directory, no mailboxes and no API tokens.
//
// Values derived from other fields are left empty here and filled in by
// Load: store.dsn (<data_dir>/frontdesk.db), smtp.outbox_dir
// (<data_dir>/outbox), smtp.port (from smtp.tls), instance.domain (the domain
// of ack.from), and every mailbox's empty fields (DefaultMailbox).
func Default() *Config {
	return &Config{
		DataDir: "./data",
		Instance: Instance{
			Domain: "", // derived from ack.from: frontdesk.invalid
		},
		Log: Log{Level: "info", Format: "text"},
		Redis: Redis{
			Addr:   "", // managed: started under <data_dir>/redis
			Binary: "redis-server",
		},
		Store: Store{Driver: DriverSQLite, InlineBlobBytes: DefaultInlineBlobBytes},
		HTTP: HTTP{
			Listen: "127.0.0.1:8025",
			Lease:  5 * time.Minute,

			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ClientRate:        20,
			ClientBurst:       100,
			MaxInflight:       256,
			MaxInflightBytes:  256 << 20,
		},
		SMTP: SMTP{
			Host:       "", // outbox files
			TLS:        TLSStartTLS,
			Timeout:    30 * time.Second,
			PoolSize:   8,
			MaxPerConn: 100,
		},
		Ack: Ack{
			Enabled:      true,
			From:         "Frontdesk <support@frontdesk.invalid>",
			PerRecipient: 30,
			PerCase:      10,
			Window:       10 * time.Minute,
		},
		Limits: Limits{
			MaxMessageBytes:    message.DefaultLimits.MaxBytes,           // 50 MiB
			MaxParts:           message.DefaultLimits.MaxParts,           // 500
			MaxDepth:           message.DefaultLimits.MaxDepth,           // 20
			MaxPartHeaderBytes: message.DefaultLimits.MaxPartHeaderBytes, // 64 KiB
			MaxAttachmentBytes: message.DefaultLimits.MaxAttachmentBytes, // 25 MiB
		},
		Pipeline: Pipeline{
			Concurrency:       10,
			TaskCheckInterval: 5 * time.Millisecond,
			SweepInterval:     30 * time.Second,
			SweepAge:          time.Minute,
			MaxRetry:          25,
			ShutdownTimeout:   30 * time.Second,
		},
		Classify: Classify{Rules: DefaultRules()},
		SLA: SLA{
			Urgent: time.Hour,
			High:   4 * time.Hour,
			Normal: 24 * time.Hour,
			Low:    72 * time.Hour,
		},
	}
}

// DefaultRules is the classifier's rule set when none is configured. It is
// deliberately conservative: it never changes a message's intent or queue
// (the mailbox decides those), it only raises the priority of mail that says
// something is broken and files billing questions under a category.
// Configuring classify.rules replaces these rules entirely.
func DefaultRules() []Rule {
	return []Rule{
		{
			Name:     "something-broken",
			Keywords: []string{"urgent", "emergency", "outage", "is down", "not working"},
			Priority: PriorityHigh,
		},
		{
			Name:     "billing",
			Keywords: []string{"invoice", "refund", "billing", "charged twice"},
			Category: "billing",
		},
	}
}

// DefaultMailbox holds the values a mailbox entry takes for the fields it
// leaves empty. Name, Host, Username and Password have no default; Port
// depends on TLS (993 implicit, 143 otherwise) and Queue on Name.
func DefaultMailbox() Mailbox {
	return Mailbox{
		TLS:          TLSImplicit,
		Folder:       "INBOX",
		Intent:       string(message.IntentCase),
		Flag:         "$Frontdesk",
		PollInterval: 30 * time.Second,
		IdleRestart:  25 * time.Minute,
	}
}

// resolve fills the derived values Default leaves empty; Load runs it after
// the file and the environment are applied. It only fills empty fields, so
// running it twice changes nothing.
func (c *Config) resolve() {
	if c.Store.DSN == "" && c.Store.Driver == DriverSQLite {
		c.Store.DSN = filepath.Join(c.DataDir, "frontdesk.db")
	}
	if c.SMTP.OutboxDir == "" {
		c.SMTP.OutboxDir = filepath.Join(c.DataDir, "outbox")
	}
	if c.SMTP.Port == 0 {
		switch c.SMTP.TLS {
		case TLSImplicit:
			c.SMTP.Port = 465
		case TLSStartTLS:
			c.SMTP.Port = 587
		case TLSNone:
			c.SMTP.Port = 25
		}
	}
	if c.Instance.Domain == "" {
		if a, err := mail.ParseAddress(c.Ack.From); err == nil {
			if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
				c.Instance.Domain = strings.ToLower(a.Address[i+1:])
			}
		}
	}
	for i := range c.Forms {
		c.Forms[i].formDefaults()
	}
	for i := range c.InboundWebhooks {
		c.InboundWebhooks[i].webhookDefaults()
	}
	d := DefaultMailbox()
	for i := range c.Mailbox {
		m := &c.Mailbox[i]
		if m.TLS == "" {
			m.TLS = d.TLS
		}
		if m.Port == 0 {
			switch m.TLS {
			case TLSImplicit:
				m.Port = 993
			case TLSStartTLS, TLSNone:
				m.Port = 143
			}
		}
		if m.Folder == "" {
			m.Folder = d.Folder
		}
		if m.Intent == "" {
			m.Intent = d.Intent
		}
		if m.Queue == "" {
			m.Queue = m.Name
		}
		if m.Flag == "" {
			m.Flag = d.Flag
		}
		if m.PollInterval == 0 {
			m.PollInterval = d.PollInterval
		}
		if m.IdleRestart == 0 {
			m.IdleRestart = d.IdleRestart
		}
	}
}
