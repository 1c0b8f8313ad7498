package config

import (
	"strings"
	"testing"
	"time"
)

// validBase returns a valid config with one mailbox, one token and one rule
// for the cases below to break.
func validBase() *Config {
	c := Default()
	c.Mailbox = []Mailbox{{Name: "support", Host: "imap.example.com", Username: "u", Password: "p"}}
	c.Forms = []Form{{Name: "contact", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}
	c.HTTP.Tokens = []Token{{Name: "alice", Token: "0123456789abcdef", Role: RoleCSR, Queues: []string{"support"}}}
	c.Classify.Rules = []Rule{{Name: "r", Mailbox: "support", Keywords: []string{"x"}, Priority: PriorityHigh}}
	c.resolve()
	return c
}

func TestValidateEachProblem(t *testing.T) {
	if err := validBase().Validate(); err != nil {
		t.Fatalf("base config invalid: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string // the one expected problem
	}{
		{"data dir", func(c *Config) { c.DataDir = "" }, "data_dir: required"},
		{"domain", func(c *Config) { c.Instance.Domain = "bad domain" }, `instance.domain: not a domain name: "bad domain"`},
		{"secret", func(c *Config) { c.Instance.Secret = "short" }, "instance.secret: must be at least 16"},
		{"own address", func(c *Config) { c.Instance.Addresses = []string{"nope"} }, "instance.addresses[0]: not an e-mail address"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: must be text or json, got "xml"`},
		{"redis addr", func(c *Config) { c.Redis.Addr = "localhost" }, `redis.addr: must be host:port, got "localhost"`},
		{"redis binary", func(c *Config) { c.Redis.Binary = "" }, "redis.binary: required when redis.addr is empty"},
		{"redis db", func(c *Config) { c.Redis.DB = -1 }, "redis.db: must be at least 0, got -1"},
		{"postgres", func(c *Config) { c.Store.Driver = "postgres" }, "store.driver: postgres is not supported yet"},
		{"driver", func(c *Config) { c.Store.Driver = "mysql" }, `store.driver: must be sqlite, got "mysql"`},
		{"inline negative", func(c *Config) { c.Store.InlineBlobBytes = -1 }, "store.inline_blob_bytes: must be between 0 (every blob a file) and 16777216, got -1"},
		{"inline too big", func(c *Config) { c.Store.InlineBlobBytes = 16<<20 + 1 }, "store.inline_blob_bytes: must be between 0 (every blob a file) and 16777216, got 16777217"},
		{"listen", func(c *Config) { c.HTTP.Listen = "127.0.0.1:http-alt" }, `http.listen: port must be a number between 0 and 65535, got "http-alt"`},
		{"listen missing", func(c *Config) { c.HTTP.Listen = "" }, "http.listen: required"},
		{"lease", func(c *Config) { c.HTTP.Lease = 0 }, "http.lease: must be a positive duration"},
		{"token empty", func(c *Config) { c.HTTP.Tokens[0].Token = "" }, "http.tokens[0].token: required"},
		{"token space", func(c *Config) { c.HTTP.Tokens[0].Token = "0123456789 abcdef" }, "http.tokens[0].token: must not contain white space"},
		{"token dup", func(c *Config) {
			c.HTTP.Tokens = append(c.HTTP.Tokens, Token{Name: "bob", Token: c.HTTP.Tokens[0].Token, Role: RoleCSR})
		}, "http.tokens[1].token: same token as http.tokens[0]"},
		{"token name dup", func(c *Config) {
			c.HTTP.Tokens = append(c.HTTP.Tokens, Token{Name: "alice", Token: "fedcba9876543210", Role: RoleCSR})
		}, `http.tokens[1].name: "alice" is also the name of http.tokens[0]`},
		{"token name", func(c *Config) { c.HTTP.Tokens[0].Name = "al ice" }, "http.tokens[0].name: must be 1-64 letters"},
		{"role", func(c *Config) { c.HTTP.Tokens[0].Role = "admin" }, `http.tokens[0].role: must be csr or supervisor, got "admin"`},
		{"supervisor queues", func(c *Config) { c.HTTP.Tokens[0].Role = RoleSupervisor }, "http.tokens[0].queues: supervisors see every queue"},
		{"token queue", func(c *Config) { c.HTTP.Tokens[0].Queues = []string{"a/b"} }, "http.tokens[0].queues[0]: must be 1-64"},
		{"mailbox name", func(c *Config) { c.Mailbox[0].Name = ""; c.Classify.Rules = nil }, "mailboxes[0].name: required"},
		{"mailbox dup", func(c *Config) {
			c.Mailbox = append(c.Mailbox, c.Mailbox[0])
		}, `mailboxes[1].name: "support" is also the name of mailboxes[0]`},
		{"mailbox host", func(c *Config) { c.Mailbox[0].Host = "imap example" }, "mailboxes[0].host: not a host name"},
		{"mailbox port", func(c *Config) { c.Mailbox[0].Port = 70000 }, "mailboxes[0].port: must be between 1 and 65535, got 70000"},
		{"mailbox tls", func(c *Config) { c.Mailbox[0].TLS = "ssl" }, `mailboxes[0].tls: must be implicit, starttls or none, got "ssl"`},
		{"mailbox user", func(c *Config) { c.Mailbox[0].Username = "" }, "mailboxes[0].username: required"},
		{"mailbox password", func(c *Config) { c.Mailbox[0].Password = "" }, "mailboxes[0].password: required"},
		{"mailbox folder", func(c *Config) { c.Mailbox[0].Folder = "" }, "mailboxes[0].folder: required"},
		{"mailbox intent", func(c *Config) { c.Mailbox[0].Intent = "sale" }, `mailboxes[0].intent: must be case or order, got "sale"`},
		{"mailbox queue", func(c *Config) { c.Mailbox[0].Queue = "-x" }, "mailboxes[0].queue: must be 1-64"},
		{"mailbox move", func(c *Config) { c.Mailbox[0].MoveTo = "INBOX" }, `mailboxes[0].move_to: must differ from folder "INBOX"`},
		{"mailbox flag", func(c *Config) { c.Mailbox[0].Flag = "my flag" }, `mailboxes[0].flag: must be an IMAP keyword such as $Frontdesk, got "my flag"`},
		{"mailbox poll", func(c *Config) { c.Mailbox[0].PollInterval = -time.Second }, "mailboxes[0].poll_interval: must be a positive duration"},
		{"mailbox idle", func(c *Config) { c.Mailbox[0].IdleRestart = 30 * time.Minute }, "mailboxes[0].idle_restart: must be at most 29m0s"},
		{"form name", func(c *Config) { c.Forms[0].Name = "" }, "forms[0].name: required"},
		{"form dup", func(c *Config) { c.Forms = append(c.Forms, c.Forms[0]) }, `forms[1].name: "contact" is also the name of forms[0]`},
		{"form secret", func(c *Config) { c.Forms[0].Secret = "" }, "forms[0].secret: required"},
		{"form short secret", func(c *Config) { c.Forms[0].Secret = "short" }, "forms[0].secret: shorter than 16 bytes"},
		{"form bad whsec", func(c *Config) { c.Forms[0].Secret = "whsec_!!" }, "forms[0].secret: a whsec_ secret must be base64"},
		{"form old secret", func(c *Config) { c.Forms[0].OldSecret = "short" }, "forms[0].old_secret: shorter than 16 bytes"},
		{"form intent", func(c *Config) { c.Forms[0].Intent = "sale" }, `forms[0].intent: must be case or order, got "sale"`},
		{"form email field", func(c *Config) { c.Forms[0].Fields.Email = "" }, "forms[0].fields.email: required"},
		{"form body", func(c *Config) { c.Forms[0].MaxBodyBytes = -1 }, "forms[0].max_body_bytes: must be between 1 and"},
		{"smtp tls", func(c *Config) { c.SMTP.TLS = "tls" }, `smtp.tls: must be implicit, starttls or none, got "tls"`},
		{"smtp timeout", func(c *Config) { c.SMTP.Timeout = 0 }, "smtp.timeout: must be a positive duration"},
		{"smtp host", func(c *Config) { c.SMTP.Host = "smtp_example" }, `smtp.host: not a host name or IP address: "smtp_example"`},
		{"smtp port", func(c *Config) { c.SMTP.Host = "smtp.example.com"; c.SMTP.Port = -1 }, "smtp.port: must be between 1 and 65535"},
		{"smtp password", func(c *Config) { c.SMTP.Host = "smtp.example.com"; c.SMTP.Username = "u" }, "smtp.password: required when smtp.username is set"},
		{"smtp username", func(c *Config) { c.SMTP.Host = "smtp.example.com"; c.SMTP.Password = "p" }, "smtp.username: required when smtp.password is set"},
		{"smtp helo", func(c *Config) { c.SMTP.Host = "smtp.example.com"; c.SMTP.HELO = "a b" }, `smtp.helo: not a host name: "a b"`},
		{"ack from", func(c *Config) { c.Ack.From = "Support" }, "ack.from: not an e-mail address"},
		{"ack from missing", func(c *Config) { c.Ack.From = "" }, "ack.from: required"},
		{"ack reply to", func(c *Config) { c.Ack.ReplyTo = "x@" }, "ack.reply_to: not an e-mail address"},
		{"ack per recipient", func(c *Config) { c.Ack.PerRecipient = 0 }, "ack.per_recipient: must be at least 1, got 0"},
		{"ack per case", func(c *Config) { c.Ack.PerCase = -2 }, "ack.per_case: must be at least 1, got -2"},
		{"ack window", func(c *Config) { c.Ack.Window = 0 }, "ack.window: must be a positive duration"},
		{"max message", func(c *Config) { c.Limits.MaxMessageBytes = 0 }, "limits.max_message_bytes: must be at least 1"},
		{"max parts", func(c *Config) { c.Limits.MaxParts = 0 }, "limits.max_parts: must be at least 1"},
		{"max depth", func(c *Config) { c.Limits.MaxDepth = 0 }, "limits.max_depth: must be at least 1"},
		{"max header", func(c *Config) { c.Limits.MaxPartHeaderBytes = 0 }, "limits.max_part_header_bytes: must be at least 1"},
		{"max attachment", func(c *Config) { c.Limits.MaxAttachmentBytes = 0 }, "limits.max_attachment_bytes: must be at least 1"},
		{"concurrency", func(c *Config) { c.Pipeline.Concurrency = 0 }, "pipeline.concurrency: must be at least 1"},
		{"task check", func(c *Config) { c.Pipeline.TaskCheckInterval = 0 }, "pipeline.task_check_interval: must be a positive"},
		{"sweep interval", func(c *Config) { c.Pipeline.SweepInterval = 0 }, "pipeline.sweep_interval: must be a positive"},
		{"sweep age", func(c *Config) { c.Pipeline.SweepAge = 0 }, "pipeline.sweep_age: must be a positive"},
		{"max retry", func(c *Config) { c.Pipeline.MaxRetry = -1 }, "pipeline.max_retry: must be at least 0"},
		{"shutdown", func(c *Config) { c.Pipeline.ShutdownTimeout = 0 }, "pipeline.shutdown_timeout: must be a positive"},
		{"rule name", func(c *Config) { c.Classify.Rules[0].Name = "" }, "classify.rules[0].name: required"},
		{"rule dup", func(c *Config) {
			c.Classify.Rules = append(c.Classify.Rules, c.Classify.Rules[0])
		}, `classify.rules[1].name: "r" is also the name of classify.rules[0]`},
		{"rule matches all", func(c *Config) {
			c.Classify.Rules[0].Mailbox, c.Classify.Rules[0].Keywords = "", nil
		}, "classify.rules[0]: matches everything"},
		{"rule does nothing", func(c *Config) { c.Classify.Rules[0].Priority = "" }, "classify.rules[0]: does nothing"},
		{"rule mailbox", func(c *Config) { c.Classify.Rules[0].Mailbox = "sales" }, `classify.rules[0].mailbox: no mailbox is named "sales"`},
		{"rule from", func(c *Config) { c.Classify.Rules[0].From = "@" }, `classify.rules[0].from: not an address or @domain: "@"`},
		{"rule from name", func(c *Config) { c.Classify.Rules[0].From = "Bob <b@example.com>" }, "classify.rules[0].from: not an address or @domain"},
		{"rule keyword", func(c *Config) { c.Classify.Rules[0].Keywords = []string{"a", " "} }, "classify.rules[0].keywords[1]: must not be empty"},
		{"rule intent", func(c *Config) { c.Classify.Rules[0].Intent = "x" }, `classify.rules[0].intent: must be case or order, got "x"`},
		{"rule priority", func(c *Config) { c.Classify.Rules[0].Priority = "asap" }, `classify.rules[0].priority: must be urgent, high, normal or low, got "asap"`},
		{"rule queue", func(c *Config) { c.Classify.Rules[0].Queue = "q q" }, "classify.rules[0].queue: must be 1-64"},
		{"sla urgent", func(c *Config) { c.SLA.Urgent = 0 }, "sla.urgent: must be a positive"},
		{"sla high", func(c *Config) { c.SLA.High = 0 }, "sla.high: must be a positive"},
		{"sla normal", func(c *Config) { c.SLA.Normal = 0 }, "sla.normal: must be a positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validBase()
			tc.change(c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("no problem, want %q", tc.want)
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 || !strings.HasPrefix(ps[0].String(), tc.want) {
				t.Errorf("problems:\n%v\nwant exactly one starting with %q", err, tc.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
	}{
		{"ipv6 listen", func(c *Config) { c.HTTP.Listen = "[::1]:8025" }},
		{"all interfaces", func(c *Config) { c.HTTP.Listen = ":8025" }},
		{"random port", func(c *Config) { c.HTTP.Listen = "127.0.0.1:0" }},
		{"external redis", func(c *Config) { c.Redis.Addr = "10.0.0.5:6379"; c.Redis.Binary = "" }},
		{"move instead of flag", func(c *Config) { c.Mailbox[0].MoveTo = "Done"; c.Mailbox[0].Flag = "" }},
		{"system flag", func(c *Config) { c.Mailbox[0].Flag = `\Seen` }},
		{"ip host", func(c *Config) { c.Mailbox[0].Host = "127.0.0.1" }},
		{"domain rule", func(c *Config) { c.Classify.Rules[0].From = "@Example.COM" }},
		{"address rule", func(c *Config) { c.Classify.Rules[0].From = "boss@example.com" }},
		{"csr of all queues", func(c *Config) { c.HTTP.Tokens[0].Queues = nil }},
		{"supervisor", func(c *Config) { c.HTTP.Tokens[0].Role = RoleSupervisor; c.HTTP.Tokens[0].Queues = nil }},
		{"no rules", func(c *Config) { c.Classify.Rules = nil }},
		{"smtp with auth", func(c *Config) { c.SMTP.Host = "smtp.example.com"; c.SMTP.Username = "u"; c.SMTP.Password = "p" }},
	} {
		c := validBase()
		tc.change(c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestSLAFor(t *testing.T) {
	s := Default().SLA
	for p, want := range map[string]time.Duration{"urgent": time.Hour, "high": 4 * time.Hour, "normal": 24 * time.Hour, "low": 72 * time.Hour, "": 24 * time.Hour} {
		if got := s.For(p); got != want {
			t.Errorf("For(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestInlineBlobBytesZero: 0 (every blob a file) is a valid setting the
// YAML can give over the default, not the default itself.
func TestInlineBlobBytesZero(t *testing.T) {
	c, err := Parse([]byte("data_dir: /srv/fd\nstore: {inline_blob_bytes: 0}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.InlineBlobBytes != 0 {
		t.Fatalf("inline_blob_bytes: 0 read as %d", c.Store.InlineBlobBytes)
	}
}
