package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/frontdesk/frontdesk/message"
)

// Minimum lengths of secrets.
const (
	MinTokenLen  = 16
	MinSecretLen = 16
)

// maxIdleRestart is the longest an IDLE command may run: RFC 2177 §3 says
// servers may log a client out after 30 minutes of IDLE, so clients
// re-issue it at least every 29 minutes.
const maxIdleRestart = 29 * time.Minute

// namePattern is what mailbox, queue and token names may look like: they
// appear in source keys, URL paths and the audit trail.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

const nameRule = "must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"

// validator collects problems.
type validator struct{ probs Problems }

func (v *validator) add(path, format string, args ...any) {
	v.probs = append(v.probs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) oneOf(path, got string, allowed ...string) {
	if !slices.Contains(allowed, got) {
		v.add(path, "must be %s, got %q", orList(allowed), got)
	}
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration such as 30s or 25m, got %s", d)
	}
}

func (v *validator) atLeast(path string, n, min int64) {
	if n < min {
		v.add(path, "must be at least %d, got %d", min, n)
	}
}

// unique reports list[i].name when an earlier entry of list has the same
// name; seen holds the names met so far. Empty names are left to the
// required check.
func (v *validator) unique(seen map[string]int, list string, i int, name string) {
	if name == "" {
		return
	}
	if j, dup := seen[name]; dup {
		v.add(fmt.Sprintf("%s[%d].name", list, i), "%q is also the name of %s[%d]", name, list, j)
		return
	}
	seen[name] = i
}

func (v *validator) name(path, s string) {
	if s == "" {
		v.add(path, "required")
	} else if !namePattern.MatchString(s) {
		v.add(path, "%s, got %q", nameRule, s)
	}
}

func (v *validator) address(path, s string) {
	if _, err := mail.ParseAddress(s); err != nil {
		v.add(path, "not an e-mail address (%v): %q", err, s)
	}
}

func (v *validator) port(path string, p int) {
	if p < 1 || p > 65535 {
		v.add(path, "must be between 1 and 65535, got %d", p)
	}
}

func (v *validator) hostPort(path, s string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		v.add(path, "must be host:port, got %q", s)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(path, "port must be a number between 0 and 65535, got %q", port)
	}
	if host != "" && !validHost(host) {
		v.add(path, "not a host name or IP address: %q", host)
	}
}

// orList renders a, b or c.
func orList(items []string) string {
	switch len(items) {
	case 0:
		return "empty"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// validHost accepts an IP address or a DNS name.
func validHost(s string) bool {
	return net.ParseIP(s) != nil || validDomain(s)
}

// validDomain accepts a DNS name: dot-separated labels of letters, digits
// and inner hyphens (RFC 1123 §2.1), 253 characters at most.
func validDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// validFlag accepts an IMAP flag: a keyword atom, or a system flag with a
// leading backslash (RFC 9051 §9, flag-keyword and atom-specials).
func validFlag(s string) bool {
	s = strings.TrimPrefix(s, `\`)
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r) {
			return false
		}
	}
	return true
}

func hasSpace(s string) bool { return strings.IndexFunc(s, unicode.IsSpace) >= 0 }

// Validate checks c as Load leaves it and returns Problems listing every
// problem found, or nil. The derived fields that Default leaves empty
// (store.dsn, smtp.outbox_dir, smtp.port, instance.domain) may be empty.
func (c *Config) Validate() error {
	v := &validator{}
	if c.DataDir == "" {
		v.add("data_dir", "required")
	}
	c.validateInstance(v)
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
	c.validateRedis(v)
	switch c.Store.Driver {
	case DriverSQLite:
	case DriverPostgres:
		v.add("store.driver", "postgres is not supported yet; use sqlite")
	default:
		v.oneOf("store.driver", c.Store.Driver, DriverSQLite)
	}
	if n := c.Store.InlineBlobBytes; n < 0 || n > MaxInlineBlobBytes {
		v.add("store.inline_blob_bytes", "must be between 0 (every blob a file) and %d, got %d", int64(MaxInlineBlobBytes), n)
	}
	c.validateHTTP(v)
	c.validateMailboxes(v)
	c.validateForms(v)
	c.validateWebhooks(v)
	c.validateSMTP(v)
	c.validateAck(v)
	c.validateLimits(v)
	c.validatePipeline(v)
	c.validateRules(v)
	v.positive("sla.urgent", c.SLA.Urgent)
	v.positive("sla.high", c.SLA.High)
	v.positive("sla.normal", c.SLA.Normal)
	v.positive("sla.low", c.SLA.Low)
	return v.probs.orNil()
}

func (c *Config) validateInstance(v *validator) {
	if d := c.Instance.Domain; d != "" && !validDomain(d) {
		v.add("instance.domain", "not a domain name: %q", d)
	}
	if s := c.Instance.Secret; s != "" && len(s) < MinSecretLen {
		v.add("instance.secret", "must be at least %d characters (or empty for a generated one)", MinSecretLen)
	}
	for i, a := range c.Instance.Addresses {
		v.address(fmt.Sprintf("instance.addresses[%d]", i), a)
	}
}

func (c *Config) validateRedis(v *validator) {
	if c.Redis.Addr != "" {
		v.hostPort("redis.addr", c.Redis.Addr)
	} else if c.Redis.Binary == "" {
		v.add("redis.binary", "required when redis.addr is empty (managed Redis)")
	}
	v.atLeast("redis.db", int64(c.Redis.DB), 0)
}

func (c *Config) validateHTTP(v *validator) {
	if c.HTTP.Listen == "" {
		v.add("http.listen", "required")
	} else {
		v.hostPort("http.listen", c.HTTP.Listen)
	}
	if c.HTTP.DebugListen != "" {
		v.hostPort("http.debug_listen", c.HTTP.DebugListen)
		if host, _, err := net.SplitHostPort(c.HTTP.DebugListen); err == nil {
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				v.add("http.debug_listen", "must be a loopback address (127.0.0.1, ::1 or localhost): profiles have no authentication")
			}
		}
	}
	v.positive("http.lease", c.HTTP.Lease)
	v.positive("http.read_header_timeout", c.HTTP.ReadHeaderTimeout)
	v.positive("http.read_timeout", c.HTTP.ReadTimeout)
	v.positive("http.write_timeout", c.HTTP.WriteTimeout)
	v.positive("http.idle_timeout", c.HTTP.IdleTimeout)
	if c.HTTP.ClientRate < 0 {
		v.add("http.client_rate", "must be 0 (no limit) or more, got %g", c.HTTP.ClientRate)
	}
	if c.HTTP.ClientRate > 0 && c.HTTP.ClientBurst < 1 {
		v.add("http.client_burst", "must be at least 1 with a client_rate, got %d", c.HTTP.ClientBurst)
	}
	v.atLeast("http.max_inflight", int64(c.HTTP.MaxInflight), 1)
	v.atLeast("http.max_inflight_bytes", c.HTTP.MaxInflightBytes, 1<<20)
	for i, p := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				v.add(fmt.Sprintf("http.trusted_proxies[%d]", i), "not an address or CIDR range: %q", p)
			}
		}
	}
	names := map[string]int{}
	secrets := map[string]int{}
	for i, t := range c.HTTP.Tokens {
		p := fmt.Sprintf("http.tokens[%d]", i)
		v.name(p+".name", t.Name)
		v.unique(names, "http.tokens", i, t.Name)
		switch {
		case t.Token == "":
			v.add(p+".token", "required")
		case len(t.Token) < MinTokenLen:
			v.add(p+".token", "must be at least %d characters, got %d", MinTokenLen, len(t.Token))
		case hasSpace(t.Token):
			v.add(p+".token", "must not contain white space")
		}
		if j, dup := secrets[t.Token]; dup && t.Token != "" {
			v.add(p+".token", "same token as http.tokens[%d]", j)
		} else {
			secrets[t.Token] = i
		}
		v.oneOf(p+".role", t.Role, RoleCSR, RoleSupervisor)
		if t.Role == RoleSupervisor && len(t.Queues) > 0 {
			v.add(p+".queues", "supervisors see every queue; leave queues empty or make the role csr")
		}
		for j, q := range t.Queues {
			v.name(fmt.Sprintf("%s.queues[%d]", p, j), q)
		}
	}
}

func (c *Config) validateMailboxes(v *validator) {
	names := map[string]int{}
	tlsModes := []string{TLSImplicit, TLSStartTLS, TLSNone}
	for i, m := range c.Mailbox {
		p := fmt.Sprintf("mailboxes[%d]", i)
		v.name(p+".name", m.Name)
		v.unique(names, "mailboxes", i, m.Name)
		if m.Host == "" {
			v.add(p+".host", "required")
		} else if !validHost(m.Host) {
			v.add(p+".host", "not a host name or IP address: %q", m.Host)
		}
		v.oneOf(p+".tls", m.TLS, tlsModes...)
		// Port 0 is left by an invalid tls (no default applies); the tls
		// problem says it all.
		if m.Port != 0 || slices.Contains(tlsModes, m.TLS) {
			v.port(p+".port", m.Port)
		}
		if m.Username == "" {
			v.add(p+".username", "required")
		}
		if m.Password == "" {
			v.add(p+".password", "required (or set FRONTDESK_MAILBOXES_%d_PASSWORD or ..._PASSWORD_FILE)", i)
		}
		if m.Folder == "" {
			v.add(p+".folder", "required")
		}
		v.oneOf(p+".intent", m.Intent, string(message.IntentCase), string(message.IntentOrder))
		if m.Queue != "" {
			v.name(p+".queue", m.Queue)
		}
		if m.MoveTo != "" && m.MoveTo == m.Folder {
			v.add(p+".move_to", "must differ from folder %q", m.Folder)
		}
		if m.MoveTo == "" || m.Flag != "" {
			if !validFlag(m.Flag) {
				v.add(p+".flag", "must be an IMAP keyword such as $Frontdesk, got %q", m.Flag)
			}
		}
		v.positive(p+".poll_interval", m.PollInterval)
		v.positive(p+".idle_restart", m.IdleRestart)
		if m.IdleRestart > maxIdleRestart {
			v.add(p+".idle_restart", "must be at most %s (RFC 2177: servers may drop IDLE after 30m), got %s", maxIdleRestart, m.IdleRestart)
		}
	}
}

func (c *Config) validateSMTP(v *validator) {
	s := c.SMTP
	v.oneOf("smtp.tls", s.TLS, TLSImplicit, TLSStartTLS, TLSNone)
	v.positive("smtp.timeout", s.Timeout)
	v.atLeast("smtp.pool_size", int64(s.PoolSize), 1)
	v.atLeast("smtp.max_per_conn", int64(s.MaxPerConn), 1)
	if s.Host == "" {
		return // outbox files; the rest is unused
	}
	if !validHost(s.Host) {
		v.add("smtp.host", "not a host name or IP address: %q", s.Host)
	}
	if s.Port != 0 {
		v.port("smtp.port", s.Port)
	}
	if s.Username != "" && s.Password == "" {
		v.add("smtp.password", "required when smtp.username is set (or set FRONTDESK_SMTP_PASSWORD or ..._PASSWORD_FILE)")
	}
	if s.Password != "" && s.Username == "" {
		v.add("smtp.username", "required when smtp.password is set")
	}
	if s.HELO != "" && !validHost(s.HELO) {
		v.add("smtp.helo", "not a host name: %q", s.HELO)
	}
}

func (c *Config) validateAck(v *validator) {
	if c.Ack.From == "" {
		v.add("ack.from", "required: the sender of every e-mail we send")
	} else {
		v.address("ack.from", c.Ack.From)
	}
	if c.Ack.ReplyTo != "" {
		v.address("ack.reply_to", c.Ack.ReplyTo)
	}
	v.atLeast("ack.per_recipient", int64(c.Ack.PerRecipient), 1)
	v.atLeast("ack.per_case", int64(c.Ack.PerCase), 1)
	v.positive("ack.window", c.Ack.Window)
}

func (c *Config) validateLimits(v *validator) {
	l := c.Limits
	v.atLeast("limits.max_message_bytes", l.MaxMessageBytes, 1)
	v.atLeast("limits.max_parts", int64(l.MaxParts), 1)
	v.atLeast("limits.max_depth", int64(l.MaxDepth), 1)
	v.atLeast("limits.max_part_header_bytes", int64(l.MaxPartHeaderBytes), 1)
	v.atLeast("limits.max_attachment_bytes", l.MaxAttachmentBytes, 1)
}

func (c *Config) validatePipeline(v *validator) {
	p := c.Pipeline
	v.atLeast("pipeline.concurrency", int64(p.Concurrency), 1)
	v.positive("pipeline.task_check_interval", p.TaskCheckInterval)
	v.positive("pipeline.sweep_interval", p.SweepInterval)
	v.positive("pipeline.sweep_age", p.SweepAge)
	v.atLeast("pipeline.max_retry", int64(p.MaxRetry), 0)
	v.positive("pipeline.shutdown_timeout", p.ShutdownTimeout)
}

func (c *Config) validateRules(v *validator) {
	mailboxes := map[string]bool{}
	for _, m := range c.Mailbox {
		mailboxes[m.Name] = true
	}
	names := map[string]int{}
	for i, r := range c.Classify.Rules {
		p := fmt.Sprintf("classify.rules[%d]", i)
		if r.Name == "" {
			v.add(p+".name", "required")
		}
		v.unique(names, "classify.rules", i, r.Name)
		if r.Mailbox == "" && r.From == "" && len(r.Keywords) == 0 {
			v.add(p, "matches everything: set at least one of mailbox, from or keywords")
		}
		if r.Mailbox != "" && !mailboxes[r.Mailbox] {
			v.add(p+".mailbox", "no mailbox is named %q", r.Mailbox)
		}
		if r.From != "" {
			if dom, ok := strings.CutPrefix(r.From, "@"); ok {
				if !validDomain(dom) {
					v.add(p+".from", "not an address or @domain: %q", r.From)
				}
			} else if a, err := mail.ParseAddress(r.From); err != nil || a.Name != "" {
				v.add(p+".from", "not an address or @domain: %q", r.From)
			}
		}
		for j, k := range r.Keywords {
			if strings.TrimSpace(k) == "" {
				v.add(fmt.Sprintf("%s.keywords[%d]", p, j), "must not be empty")
			}
		}
		if r.Intent == "" && r.Category == "" && r.Priority == "" && r.Queue == "" {
			v.add(p, "does nothing: set at least one of intent, category, priority or queue")
		}
		if r.Intent != "" {
			v.oneOf(p+".intent", r.Intent, string(message.IntentCase), string(message.IntentOrder))
		}
		if r.Priority != "" {
			v.oneOf(p+".priority", r.Priority, PriorityUrgent, PriorityHigh, PriorityNormal, PriorityLow)
		}
		if r.Queue != "" {
			v.name(p+".queue", r.Queue)
		}
	}
}
