package web

import (
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// The JSON shapes of the API. Times are RFC 3339 in UTC; optional times
// are omitted when unset.

type queueJSON struct {
	Name             string `json:"name"`
	Open             int    `json:"open"`
	Claimed          int    `json:"claimed"`
	OldestAgeSeconds int64  `json:"oldest_age_seconds"`
}

type workItemJSON struct {
	ID           int64      `json:"id"`
	Queue        string     `json:"queue"`
	State        string     `json:"state"`
	Priority     string     `json:"priority"`
	DueAt        *time.Time `json:"due_at,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	LeaseOwner   string     `json:"lease_owner,omitempty"`
	LeaseExpires *time.Time `json:"lease_expires,omitempty"`
	CreatedAt    *time.Time `json:"created_at,omitempty"`
	CompletedAt  *time.Time `json:"completed_at,omitempty"`
	InboundID    int64      `json:"inbound_id,omitempty"`
}

// workView is a work item with a summary of what it points at: its case or
// order, or, for intake failures, the inbound message.
type workView struct {
	Item    workItemJSON `json:"item"`
	Case    *caseJSON    `json:"case,omitempty"`
	Order   *orderJSON   `json:"order,omitempty"`
	Inbound *inboundJSON `json:"inbound,omitempty"`
}

type caseJSON struct {
	Number    string     `json:"number"`
	Kind      string     `json:"kind,omitempty"`
	Category  string     `json:"category,omitempty"`
	Priority  string     `json:"priority"`
	Status    string     `json:"status"`
	Queue     string     `json:"queue"`
	Channel   string     `json:"channel"`
	Customer  string     `json:"customer"`
	Subject   string     `json:"subject"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

type orderJSON struct {
	Number    string     `json:"number"`
	Status    string     `json:"status"`
	Priority  string     `json:"priority"`
	Queue     string     `json:"queue"`
	Channel   string     `json:"channel"`
	Customer  string     `json:"customer"`
	Subject   string     `json:"subject"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

type inboundJSON struct {
	ID         int64      `json:"id"`
	Channel    string     `json:"channel"`
	Source     string     `json:"source"`
	Size       int64      `json:"size"`
	ReceivedAt *time.Time `json:"received_at,omitempty"`
	Status     string     `json:"status"`
	FailReason string     `json:"fail_reason,omitempty"`
	Automated  string     `json:"automated,omitempty"`
}

type attachmentJSON struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Inline      bool   `json:"inline,omitempty"`
}

type threadMessageJSON struct {
	ID          int64             `json:"id"`
	Direction   string            `json:"direction"`
	MessageID   string            `json:"message_id,omitempty"`
	From        message.Address   `json:"from"`
	To          []message.Address `json:"to,omitempty"`
	Cc          []message.Address `json:"cc,omitempty"`
	Subject     string            `json:"subject"`
	Date        *time.Time        `json:"date,omitempty"`
	Text        string            `json:"text"`
	HTML        string            `json:"html,omitempty"`
	Attachments []attachmentJSON  `json:"attachments,omitempty"`
	// Flags say why a message is attached but marked (an automation rule,
	// "sender-not-on-case", "delivery-failure"...).
	Flags       []string         `json:"flags,omitempty"`
	Automation  []message.Signal `json:"automation,omitempty"`
	CardsMasked int              `json:"cards_masked,omitempty"`
	Warnings    []string         `json:"warnings,omitempty"`
	CreatedAt   *time.Time       `json:"created_at,omitempty"`
}

type eventJSON struct {
	At        *time.Time `json:"at,omitempty"`
	Actor     string     `json:"actor"`
	Kind      string     `json:"kind"`
	InboundID int64      `json:"inbound_id,omitempty"`
	Detail    string     `json:"detail,omitempty"`
}

type caseView struct {
	Case   caseJSON            `json:"case"`
	Thread []threadMessageJSON `json:"thread"`
	Events []eventJSON         `json:"events"`
}

type orderView struct {
	Order  orderJSON           `json:"order"`
	Thread []threadMessageJSON `json:"thread"`
	Events []eventJSON         `json:"events"`
}

// utc returns t in UTC, or nil when t is zero.
func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func workItemOf(w *store.WorkItem) workItemJSON {
	return workItemJSON{
		ID: w.ID, Queue: w.Queue, State: string(w.State), Priority: string(w.Priority),
		DueAt: utc(w.DueAt), Reason: w.Reason, LeaseOwner: w.LeaseOwner,
		LeaseExpires: utc(w.LeaseExpires), CreatedAt: utc(w.CreatedAt), CompletedAt: utc(w.CompletedAt),
		InboundID: w.InboundID,
	}
}

func caseOf(c *store.Case) caseJSON {
	return caseJSON{
		Number: c.Number, Kind: c.Kind, Category: c.Category, Priority: string(c.Priority),
		Status: string(c.Status), Queue: c.Queue, Channel: string(c.Channel), Customer: c.Customer,
		Subject: c.Subject, CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt),
	}
}

func orderOf(o *store.Order) orderJSON {
	return orderJSON{
		Number: o.Number, Status: string(o.Status), Priority: string(o.Priority), Queue: o.Queue,
		Channel: string(o.Channel), Customer: o.Customer, Subject: o.Subject,
		CreatedAt: utc(o.CreatedAt), UpdatedAt: utc(o.UpdatedAt),
	}
}

func inboundOf(in *store.Inbound) inboundJSON {
	return inboundJSON{
		ID: in.ID, Channel: string(in.Channel), Source: in.Source, Size: in.Size,
		ReceivedAt: utc(in.ReceivedAt), Status: string(in.Status), FailReason: in.FailReason,
		Automated: in.Automated,
	}
}

func eventsOf(es []store.Event) []eventJSON {
	out := make([]eventJSON, 0, len(es))
	for _, e := range es {
		out = append(out, eventJSON{At: utc(e.At), Actor: e.Actor, Kind: e.Kind, InboundID: e.InboundID, Detail: e.Detail})
	}
	return out
}

// threadOf renders a thread; HTML bodies are sanitised again on the way
// out (see sanitizer).
func (s *server) threadOf(ms []store.ThreadMessage) []threadMessageJSON {
	out := make([]threadMessageJSON, 0, len(ms))
	for _, m := range ms {
		j := threadMessageJSON{
			ID: m.ID, Direction: string(m.Direction), MessageID: m.MessageID,
			From: message.Address{Addr: m.From}, Subject: m.Subject, CreatedAt: utc(m.CreatedAt),
		}
		if m.Flag != "" {
			j.Flags = []string{m.Flag}
		}
		if n := m.Message; n != nil {
			if n.From.Addr != "" {
				j.From = n.From
			}
			if n.Subject != "" {
				j.Subject = n.Subject
			}
			j.To, j.Cc, j.Date = n.To, n.Cc, utc(n.Date)
			j.Text = n.Text
			if n.HTML != "" {
				j.HTML = s.sanitize(n.HTML)
			}
			for _, a := range n.Attachments {
				j.Attachments = append(j.Attachments, attachmentJSON{
					Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, Inline: a.Inline,
				})
			}
			j.Automation, j.CardsMasked, j.Warnings = n.Automation, n.CardsMasked, n.Warnings
		}
		out = append(out, j)
	}
	return out
}
