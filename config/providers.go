package config

import (
	"fmt"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

// Inbound-mail providers of InboundWebhook.Provider.
const (
	ProviderMailgun  = "mailgun"
	ProviderSendGrid = "sendgrid"
	ProviderPostmark = "postmark"
)

// MaxWebhookBodyBytes is the largest max_body_bytes of a provider
// endpoint; the providers themselves stop at 25–35 MB per message.
const MaxWebhookBodyBytes = 64 << 20

// InboundWebhook is one endpoint an e-mail provider posts received mail
// to: POST /intake/<provider>/<name> on the http listener (SendGrid may
// put its URL secret as a last path segment:
// /intake/sendgrid/<name>/<url_secret>).
type InboundWebhook struct {
	// Name identifies the endpoint in its path, source keys, logs and
	// rules (as a mailbox's name does).
	Name string `yaml:"name"`
	// Provider: mailgun, sendgrid or postmark.
	Provider string `yaml:"provider"`
	// SigningKey is Mailgun's HTTP webhook signing key (mailgun: required).
	SigningKey string `yaml:"signing_key"`
	// URLSecret authenticates SendGrid Inbound Parse posts by the last
	// segment of the URL (sendgrid: this, or basic auth, or both).
	URLSecret string `yaml:"url_secret"`
	// Username and Password are HTTP basic-auth credentials in the URL
	// given to the provider, https://user:pass@host/... (postmark:
	// required; sendgrid: optional; mailgun: optional, on top of the
	// signature).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Intent of the mail: case or order. Default case.
	Intent string `yaml:"intent"`
	// Queue for its work; default the endpoint's name.
	Queue string `yaml:"queue"`
	// MaxBodyBytes bounds one post, attachments included; default 40 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ReplayWindow (mailgun) is how old the signature's timestamp may be;
	// one more than 5 minutes ahead of our clock is always refused.
	// Default 9h: Mailgun retries a post it got no 2xx for during 8
	// hours, and its retries may carry the first attempt's signature, so
	// a shorter window would refuse every retry after a 503 and lose the
	// mail. A replayed token is answered as a duplicate whatever the
	// window; the window only limits how long a captured signature can
	// post a message Frontdesk has not accepted.
	ReplayWindow time.Duration `yaml:"replay_window"`
}

// Bounds of inbound_webhooks[].replay_window.
const (
	DefaultReplayWindow = 9 * time.Hour
	MinReplayWindow     = 5 * time.Minute
	MaxReplayWindow     = 24 * time.Hour
)

func (w *InboundWebhook) webhookDefaults() {
	if w.Intent == "" {
		w.Intent = string(message.IntentCase)
	}
	if w.Queue == "" {
		w.Queue = w.Name
	}
	if w.MaxBodyBytes == 0 {
		w.MaxBodyBytes = 40 << 20
	}
	if w.ReplayWindow == 0 && w.Provider == ProviderMailgun {
		w.ReplayWindow = DefaultReplayWindow
	}
}

func (c *Config) validateWebhooks(v *validator) {
	names := map[string]int{}
	for i, w := range c.InboundWebhooks {
		p := fmt.Sprintf("inbound_webhooks[%d]", i)
		v.name(p+".name", w.Name)
		v.unique(names, "inbound_webhooks", i, w.Provider+"/"+w.Name)
		v.oneOf(p+".provider", w.Provider, ProviderMailgun, ProviderSendGrid, ProviderPostmark)
		if (w.Username == "") != (w.Password == "") {
			v.add(p+".password", "username and password go together")
		}
		if w.Password != "" && len(w.Password) < MinSecretLen {
			v.add(p+".password", "shorter than %d characters", MinSecretLen)
		}
		switch w.Provider {
		case ProviderMailgun:
			if w.SigningKey == "" {
				v.add(p+".signing_key", "required for mailgun (or set FRONTDESK_INBOUND_WEBHOOKS_%d_SIGNING_KEY or ..._FILE)", i)
			}
		case ProviderSendGrid:
			if w.URLSecret == "" && w.Username == "" {
				v.add(p+".url_secret", "sendgrid needs url_secret or username/password (it signs nothing)")
			}
			if s := w.URLSecret; s != "" && len(s) < MinSecretLen {
				v.add(p+".url_secret", "shorter than %d characters", MinSecretLen)
			}
		case ProviderPostmark:
			if w.Username == "" {
				v.add(p+".username", "postmark needs username/password (basic auth in the webhook URL)")
			}
		}
		if w.Provider != ProviderMailgun && w.SigningKey != "" {
			v.add(p+".signing_key", "only mailgun signs its posts")
		}
		if w.Provider == ProviderMailgun && (w.ReplayWindow < MinReplayWindow || w.ReplayWindow > MaxReplayWindow) {
			v.add(p+".replay_window", "must be between %s and %s, got %s", MinReplayWindow, MaxReplayWindow, w.ReplayWindow)
		}
		if w.Provider != ProviderMailgun && w.ReplayWindow != 0 {
			v.add(p+".replay_window", "only mailgun signs with a timestamp")
		}
		if w.Provider != ProviderSendGrid && w.URLSecret != "" {
			v.add(p+".url_secret", "only for sendgrid")
		}
		v.oneOf(p+".intent", w.Intent, string(message.IntentCase), string(message.IntentOrder))
		v.name(p+".queue", w.Queue)
		if w.MaxBodyBytes < 1 || w.MaxBodyBytes > MaxWebhookBodyBytes {
			v.add(p+".max_body_bytes", "must be between 1 and %d, got %d", int64(MaxWebhookBodyBytes), w.MaxBodyBytes)
		}
	}
}
