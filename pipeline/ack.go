package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/frontdesk/frontdesk/mailer"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/templates"
)

// Sender delivers one e-mail: over SMTP or into the outbox directory.
// Errors for which mailer.IsPermanent is true are not retried.
type Sender interface {
	Send(ctx context.Context, o mailer.Outgoing) error
}

// MessageIDMinter makes our Message-IDs and recognises them.
type MessageIDMinter interface {
	MessageIDs
	New(kind string, inboundID int64) string
	LoopID() string
}

// Acknowledger owns the acknowledgement policy and its dependencies.
type Acknowledger struct {
	// Enabled turns acknowledgements on; when off every one is suppressed
	// (and recorded as such).
	Enabled   bool
	Sender    Sender
	Templates *templates.Set
	IDs       MessageIDMinter
	Domain    string // our Message-ID domain
	From      string
	ReplyTo   string
	Company   string
	// Followups also acknowledges replies that join an existing case.
	Followups bool
	// Loop caps (invariant 3): at most PerRecipient acknowledgements to one
	// address and PerCase for one case or order within Window.
	PerRecipient int
	PerCase      int
	Window       time.Duration
	// Own are our addresses, never acknowledged.
	Own []string

	// trouble is when a send last failed (unix ns; 0: the last one
	// worked): inline acknowledgements wait for the peer to recover.
	trouble atomic.Int64
}

// Reasons an acknowledgement is not sent.
const (
	SuppressAutomated = "automated"
	SuppressFollowup  = "follow-up"
	SuppressFailing   = "address-failing"
	SuppressRate      = "rate-limit"
	SuppressOwn       = "own-address"
	SuppressNoAddress = "no-address"
	SuppressDisabled  = "disabled"
)

// inlineAfterTrouble is how long after a failed SMTP send acknowledgements
// skip the inline attempt and go straight to their own task, so that a
// dead or hanging peer does not hold up registration and routing.
const inlineAfterTrouble = 30 * time.Second

// errDeferAck says an inline acknowledgement belongs to its own task.
var errDeferAck = errors.New("acknowledgement deferred to its own task")

// sendTrouble marks an error of the SMTP peer (as opposed to the store's).
type sendTrouble struct{ err error }

func (e *sendTrouble) Error() string { return e.err.Error() }
func (e *sendTrouble) Unwrap() error { return e.err }

// HandleAck sends the acknowledgement of one inbound message that could not
// be sent inline, once. The outbound record and its Message-ID are fixed
// before the first attempt, so a retry re-sends the same message and a
// finished one is never sent again.
func (h *Handlers) HandleAck(ctx context.Context, t *asynq.Task) error {
	in, err := h.load(ctx, t)
	if err != nil {
		return err
	}
	if in.Status != store.StatusRegistered || in.AckDone {
		return nil
	}
	err = h.ack(ctx, &job{in: in}, false)
	h.noteSend(err)
	return err
}

// ackInline is HandleProcess's acknowledgement step: the first attempt,
// made at once while the SMTP peer is healthy. Anything else — a peer in
// trouble, an earlier attempt (a re-run after a crash), a failed send —
// goes to the acknowledgement's own task, and the step is over.
func (h *Handlers) ackInline(ctx context.Context, j *job) error {
	var err error
	if h.smtpTrouble() {
		err = errDeferAck
	} else {
		err = h.ack(ctx, j, true)
		h.noteSend(err)
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, errDeferAck) {
		h.Log.Warn("acknowledgement not sent inline; retrying in its own task", "inbound_id", j.in.ID, "err", err)
	}
	if err := h.Tasks.Enqueue(ctx, TypeAck, j.in.ID); err != nil {
		return err
	}
	j.ackDeferred = true
	return nil
}

// smtpTrouble says a send failed within inlineAfterTrouble.
func (h *Handlers) smtpTrouble() bool {
	last := h.Acks.trouble.Load()
	return last != 0 && h.Now().Sub(time.Unix(0, last)) < inlineAfterTrouble
}

// noteSend records the outcome of a send for smtpTrouble.
func (h *Handlers) noteSend(err error) {
	var st *sendTrouble
	switch {
	case err == nil:
		h.Acks.trouble.Store(0)
	case errors.As(err, &st):
		h.Acks.trouble.Store(h.Now().UnixNano())
	}
}

// ack sends the acknowledgement of j's message, once. inline refuses
// (errDeferAck) when an earlier attempt left a send record: that record
// belongs to the acknowledgement's own task, which alone resends.
func (h *Handlers) ack(ctx context.Context, j *job, inline bool) error {
	in := j.in
	if in.Automated != "" {
		// Automated mail is never acknowledged (invariant 3); a re-run
		// after a crash in registerAutomated lands here.
		return h.ackDone(ctx, in)
	}
	m, err := j.message(ctx, h.Store)
	if err != nil {
		return fmt.Errorf("pipeline: ack inbound %d: %w", in.ID, err)
	}
	ref, number, kind, subject, priority, created, err := h.ackTarget(ctx, j)
	if err != nil {
		return err
	}
	a := h.Acks
	rcpt := replyAddress(m)
	rcpt.Addr = strings.ToLower(strings.TrimSpace(rcpt.Addr))

	if rcpt.Addr == "" {
		h.Log.Info("acknowledgement suppressed", "inbound_id", in.ID, "reason", SuppressNoAddress)
		h.event(ctx, in, ref, "ack.suppressed", SuppressNoAddress)
		return h.ackDone(ctx, in)
	}
	o := &store.Outbound{
		InboundID: in.ID, Kind: "ack", Ref: ref,
		MessageID: a.IDs.New("ack", in.ID),
		Recipient: rcpt.Addr, Template: "ack_" + kind,
		State: store.OutPending,
	}
	reason, err := h.suppress(ctx, in, rcpt.Addr, ref, created)
	if err != nil {
		return err
	}
	if reason != "" {
		o.State, o.Reason = store.OutSuppressed, reason
	}
	isNew, err := h.Store.CreateOutbound(ctx, o)
	if err != nil {
		return fmt.Errorf("pipeline: ack inbound %d: %w", in.ID, err)
	}
	if inline && !isNew {
		return errDeferAck
	}
	if !isNew && o.State == store.OutPending && reason != "" && reason != SuppressRate {
		// A record from an earlier attempt; a later suppression reason (the
		// address began failing) still applies.
		o.State, o.Reason = store.OutSuppressed, reason
		if err := h.Store.UpdateOutbound(ctx, o); err != nil {
			return fmt.Errorf("pipeline: ack inbound %d: %w", in.ID, err)
		}
	}
	if o.State == store.OutCommitting {
		// An earlier attempt stopped after everything but SMTP's final dot
		// was written (or got no reply to it): the peer may hold the
		// message. It is sent again with the same Message-ID, which the
		// recipient's mail system collapses into one; losing the customer's
		// acknowledgement would be worse (RELIABILITY F2).
		h.Log.Warn("acknowledgement may have been delivered before; resending with the same Message-ID",
			"inbound_id", in.ID, "message_id", o.MessageID)
		h.event(ctx, in, ref, "ack.resent", o.MessageID)
		o.State = store.OutPending
	}
	if o.State != store.OutPending {
		if isNew && o.State == store.OutSuppressed {
			h.Log.Info("acknowledgement suppressed", "inbound_id", in.ID, "reason", o.Reason)
		}
		return h.ackDone(ctx, in)
	}

	r, err := a.Templates.RenderAck(templates.AckData{
		Kind: kind, Number: number, CustomerName: rcpt.Name, Subject: subject,
		Priority: string(priority), ExpectBy: h.dueAt(priority), ExpectWithin: templates.HumanDuration(slaFor(h.SLA, priority)),
		CardWarning: m.CardsMasked > 0 || in.CardsMasked > 0, Company: a.Company,
	})
	if err != nil {
		return fmt.Errorf("pipeline: render ack for inbound %d: %w", in.ID, err)
	}
	out := mailer.Outgoing{
		MessageID: o.MessageID, From: a.From, ReplyTo: a.ReplyTo, To: rcpt,
		Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		InReplyTo: m.MessageID, References: references(m), LoopID: a.IDs.LoopID(),
	}
	o.Subject = r.Subject
	o.Attempts++
	// Two-phase send: the record says "committing" before SMTP's final dot,
	// so a retry knows whether the peer may already hold the message.
	out.BeforeCommit = func(ctx context.Context) error {
		c := *o
		c.State = store.OutCommitting
		return h.Store.UpdateOutbound(ctx, &c)
	}
	sendErr := a.Sender.Send(ctx, out)
	switch {
	case sendErr == nil:
		o.State, o.SentAt, o.LastError = store.OutSent, h.Now(), ""
	case mailer.AfterCommit(sendErr):
		// The dot went out but no reply came: the outcome is unknown. The
		// record stays "committing" and the retry resends the same message.
		o.State, o.LastError = store.OutCommitting, sendErr.Error()
	case mailer.IsPermanent(sendErr):
		o.State, o.LastError = store.OutFailed, sendErr.Error()
	default:
		o.State, o.LastError = store.OutPending, sendErr.Error()
	}
	// Record the outcome even if the task's context ended during the send
	// (a lease lost to a Redis outage).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if o.State != store.OutSent && o.State != store.OutFailed {
		if err := h.Store.UpdateOutbound(rctx, o); err != nil {
			return fmt.Errorf("pipeline: record ack of inbound %d: %w", in.ID, err)
		}
		return fmt.Errorf("pipeline: send ack of inbound %d (attempt %d): %w", in.ID, o.Attempts, &sendTrouble{sendErr})
	}
	// The outcome and the finished step in one write.
	if err := h.Store.FinishAck(rctx, o); err != nil {
		return fmt.Errorf("pipeline: record ack of inbound %d: %w", in.ID, err)
	}
	in.AckDone = true
	if o.State == store.OutSent {
		h.Log.Info("acknowledgement sent", "inbound_id", in.ID, "ref", number, "message_id", o.MessageID)
	} else {
		h.Log.Warn("acknowledgement refused", "inbound_id", in.ID, "ref", number, "err", sendErr)
	}
	return nil
}

func (h *Handlers) ackDone(ctx context.Context, in *store.Inbound) error {
	if err := h.Store.SetAckDone(ctx, in.ID); err != nil {
		return fmt.Errorf("pipeline: ack inbound %d: %w", in.ID, err)
	}
	in.AckDone = true
	return nil
}

// ackTarget returns the case or order inbound in belongs to and whether in
// opened it.
func (h *Handlers) ackTarget(ctx context.Context, j *job) (ref store.Ref, number, kind, subject string, p store.Priority, opened bool, err error) {
	in := j.in
	switch {
	case in.CaseID != 0:
		c, err := j.caseRecord(ctx, h.Store)
		if err != nil {
			return ref, "", "", "", "", false, fmt.Errorf("pipeline: ack inbound %d: %w", in.ID, err)
		}
		return store.Ref{CaseID: c.ID}, c.Number, "case", c.Subject, c.Priority, c.InboundID == in.ID, nil
	case in.OrderID != 0:
		o, err := j.orderRecord(ctx, h.Store)
		if err != nil {
			return ref, "", "", "", "", false, fmt.Errorf("pipeline: ack inbound %d: %w", in.ID, err)
		}
		return store.Ref{OrderID: o.ID}, o.Number, "order", o.Subject, o.Priority, o.InboundID == in.ID, nil
	}
	return ref, "", "", "", "", false, fmt.Errorf("pipeline: ack inbound %d: registered without case or order: %w", in.ID, asynq.SkipRetry)
}

// suppress says why the acknowledgement must not be sent, or "".
func (h *Handlers) suppress(ctx context.Context, in *store.Inbound, rcpt string, ref store.Ref, opened bool) (string, error) {
	a := h.Acks
	switch {
	case !a.Enabled:
		return SuppressDisabled, nil
	case in.Automated != "":
		return SuppressAutomated, nil
	case !opened && !a.Followups:
		return SuppressFollowup, nil
	case rcpt == "":
		return SuppressNoAddress, nil
	}
	for _, own := range a.Own {
		if strings.EqualFold(own, rcpt) {
			return SuppressOwn, nil
		}
	}
	failing, err := h.Store.AddressFailing(ctx, rcpt)
	if err != nil {
		return "", fmt.Errorf("pipeline: ack inbound %d: %w", in.ID, err)
	}
	if failing {
		return SuppressFailing, nil
	}
	toRcpt, forRef, err := h.Store.CountSent(ctx, rcpt, ref, h.Now().Add(-a.Window))
	if err != nil {
		return "", fmt.Errorf("pipeline: ack inbound %d: %w", in.ID, err)
	}
	if (a.PerRecipient > 0 && toRcpt >= a.PerRecipient) || (a.PerCase > 0 && forRef >= a.PerCase) {
		return SuppressRate, nil
	}
	return "", nil
}

// references is the References list of a reply to m (RFC 5322 §3.6.4).
func references(m *message.Message) []string {
	refs := append([]string(nil), m.References...)
	if len(refs) == 0 && len(m.InReplyTo) == 1 {
		refs = append(refs, m.InReplyTo[0])
	}
	if m.MessageID != "" {
		refs = append(refs, m.MessageID)
	}
	return refs
}
