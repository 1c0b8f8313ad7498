// Package message holds the normalised form of everything a customer sends us,
// whatever the channel: the one leaf type that intake, pipeline, store and web
// all share. It imports nothing of the project.
package message

import (
	"time"
)

// Channel names the way a message reached us.
type Channel string

const (
	ChannelIMAP    Channel = "imap"
	ChannelWebhook Channel = "webhook"
	ChannelForm    Channel = "form"
	ChannelDrop    Channel = "drop"
)

// Intent says what a message asks for: a support case or a customer order.
type Intent string

const (
	IntentCase  Intent = "case"
	IntentOrder Intent = "order"
)

// Valid reports whether i is one of the known intents.
func (i Intent) Valid() bool { return i == IntentCase || i == IntentOrder }

// Address is a decoded mailbox: display name and addr-spec.
type Address struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"addr"`
}

// Attachment is one attachment or inline part, stored as a blob.
type Attachment struct {
	// Filename is the decoded, display-safe file name (never a path); it is
	// shown escaped and never used to build a file path.
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// Blob is the sha256 (hex) of the content in the blob store.
	Blob   string `json:"blob"`
	Inline bool   `json:"inline,omitempty"`
}

// Signal is one automation rule that matched (RFC 3834 and de-facto headers,
// see DESIGN.md invariant 3). Rule is a stable identifier such as
// "auto-submitted" or "null-return-path"; Value is what matched.
type Signal struct {
	Rule  string `json:"rule"`
	Value string `json:"value,omitempty"`
	// Weak marks a supporting signal (a subject phrase) that alone does not
	// make a message automated.
	Weak bool `json:"weak,omitempty"`
}

// Report carries what a delivery or disposition report (DSN, MDN, ARF) says
// about the message it reports on.
type Report struct {
	Type              string   `json:"type"` // "delivery-status", "disposition-notification", "feedback-report"
	OriginalMessageID string   `json:"original_message_id,omitempty"`
	FailedRecipients  []string `json:"failed_recipients,omitempty"`
	// Permanent is true when the report says delivery failed for good
	// (DSN Action: failed with a 5.x.x status).
	Permanent bool `json:"permanent,omitempty"`
}

// Message is the normalised content of one inbound message.
type Message struct {
	Channel Channel `json:"channel"`

	MessageID  string   `json:"message_id,omitempty"` // without angle brackets
	InReplyTo  []string `json:"in_reply_to,omitempty"`
	References []string `json:"references,omitempty"`

	From       Address   `json:"from"`
	ReplyTo    []Address `json:"reply_to,omitempty"`
	To         []Address `json:"to,omitempty"`
	Cc         []Address `json:"cc,omitempty"`
	ReturnPath string    `json:"return_path,omitempty"` // "" when absent; "<>" for the null path
	Subject    string    `json:"subject"`
	Date       time.Time `json:"date,omitempty"`

	// Text is the plain-text body (derived from HTML when there is no text part).
	Text string `json:"text"`
	// HTML is the sanitised HTML body, if any.
	HTML        string       `json:"html,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`

	// Automation lists every automation rule that matched; see Automated.
	Automation []Signal `json:"automation,omitempty"`
	Report     *Report  `json:"report,omitempty"`

	// Phone and OrderLines come from forms; empty for e-mail.
	Phone string `json:"phone,omitempty"`

	// CardsMasked counts card numbers masked in this message (invariant 6).
	CardsMasked int `json:"cards_masked,omitempty"`
	// Warnings are non-fatal problems met while normalising (an unknown
	// charset kept raw, a part over a limit skipped...).
	Warnings []string `json:"warnings,omitempty"`
}

// Automated returns the first strong automation signal, or false when the
// message is from a person (weak signals alone do not count).
func (m *Message) Automated() (Signal, bool) {
	for _, s := range m.Automation {
		if !s.Weak {
			return s, true
		}
	}
	return Signal{}, false
}

// ThreadIDs returns every Message-ID this message refers to, In-Reply-To first.
func (m *Message) ThreadIDs() []string {
	ids := make([]string, 0, len(m.InReplyTo)+len(m.References))
	seen := make(map[string]bool, cap(ids))
	for _, l := range [][]string{m.InReplyTo, m.References} {
		for _, id := range l {
			if id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}
