package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/templates"
)

// Flags set on thread messages that are attached but marked.
const (
	FlagSenderNotOnCase = "sender-not-on-case"
	FlagForgedReference = "forged-reference"
	FlagDeliveryFailure = "delivery-failure"
)

// MessageIDs recognises our own Message-IDs by their HMAC token
// (invariant 4).
type MessageIDs interface {
	Verify(id string) (kind string, inboundID int64, ok bool)
}

// thread is where a message belongs and how it is marked there.
type thread struct {
	ref    store.Ref
	number string
	flag   string
}

// register registers a new case or order for the message, or attaches it
// to the case or order it follows up. Automated mail is attached to its
// case when it refers to one and otherwise shown to a person; it never
// opens a case and is never acknowledged (invariant 3).
func (h *Handlers) register(ctx context.Context, j *job) error {
	in := j.in
	m, err := j.message(ctx, h.Store)
	if err != nil {
		return fmt.Errorf("pipeline: register inbound %d: %w", in.ID, err)
	}
	cl, err := j.classification(ctx, h.Store)
	if err != nil {
		return fmt.Errorf("pipeline: register inbound %d: %w", in.ID, err)
	}
	var th thread
	if in.Reserved.IsZero() {
		if th, err = h.findThread(ctx, m); err != nil {
			return fmt.Errorf("pipeline: register inbound %d: %w", in.ID, err)
		}
	}

	// A row with a reserved number (its sender was told it at accept)
	// opens exactly that case or order: no thread is looked up (th stays
	// zero), and automation signals do not stop it.
	switch sig, automated := m.Automated(); {
	case automated && in.Reserved.IsZero():
		err = h.registerAutomated(ctx, in, m, th, sig)
	case !th.ref.IsZero():
		if err = h.Store.AttachInbound(ctx, in.ID, th.ref, th.flag); err != nil {
			err = permanentIfConflict(fmt.Errorf("pipeline: attach inbound %d: %w", in.ID, err))
		} else {
			h.Log.Info("follow-up attached", "inbound_id", in.ID, "ref", th.number, "flag", th.flag)
		}
	default:
		if !in.Reserved.IsZero() {
			reserved := *cl
			reserved.Intent = message.IntentCase
			if in.Reserved.OrderID != 0 {
				reserved.Intent = message.IntentOrder
			}
			cl = &reserved
		}
		if err = h.registerNew(ctx, j, m, cl); err == nil && (j.c != nil || j.o != nil) {
			// Registered by this run: the row is what RegisterCase or
			// RegisterOrder made it, and the next steps use the record.
			in.Status = store.StatusRegistered
			if j.c != nil {
				in.CaseID = j.c.ID
			} else {
				in.OrderID = j.o.ID
			}
			return nil
		}
	}
	if err != nil {
		return err
	}
	// The store set the case or order and, for filed mail, the final
	// state: read the row back rather than mirror those rules here.
	fresh, err := h.Store.Inbound(ctx, in.ID)
	if err != nil {
		return fmt.Errorf("pipeline: register inbound %d: %w", in.ID, err)
	}
	*in = *fresh
	return nil
}

// registerNew opens a case or order for j's message; when this run made
// it, j.c or j.o holds the record.
func (h *Handlers) registerNew(ctx context.Context, j *job, m *message.Message, cl *store.Classification) error {
	in := j.in
	customer := strings.ToLower(replyAddress(m).Addr)
	if cl.Intent == message.IntentOrder {
		o, created, err := h.Store.RegisterOrder(ctx, store.NewOrder{
			InboundID: in.ID, Priority: cl.Priority, Queue: cl.Queue,
			Channel: in.Channel, Customer: customer, Subject: m.Subject,
		})
		if err != nil {
			return permanentIfConflict(fmt.Errorf("pipeline: register order for inbound %d: %w", in.ID, err))
		}
		if created {
			h.Log.Info("order registered", "inbound_id", in.ID, "order", o.Number, "queue", o.Queue)
			j.o = o
		}
		return nil
	}
	c, created, err := h.Store.RegisterCase(ctx, store.NewCase{
		InboundID: in.ID, Kind: caseKind(*cl), Category: cl.Category, Priority: cl.Priority,
		Queue: cl.Queue, Channel: in.Channel, Customer: customer, Subject: m.Subject,
	})
	if err != nil {
		return permanentIfConflict(fmt.Errorf("pipeline: register case for inbound %d: %w", in.ID, err))
	}
	if created {
		h.Log.Info("case registered", "inbound_id", in.ID, "case", c.Number, "queue", c.Queue)
		j.c = c
	}
	return nil
}

func caseKind(cl store.Classification) string {
	switch cl.Priority {
	case store.PriorityUrgent, store.PriorityHigh:
		return "incident"
	}
	return "inquiry"
}

// registerAutomated files automated mail: attached to its case when it
// refers to one, shown in the automated queue otherwise. A hard bounce of
// one of our messages marks the recipient's address as failing.
func (h *Handlers) registerAutomated(ctx context.Context, in *store.Inbound, m *message.Message, th thread, sig message.Signal) error {
	flag := "automated:" + sig.Rule
	if m.Report != nil && m.Report.Permanent && h.ours(m.Report.OriginalMessageID) {
		flag = FlagDeliveryFailure
		// Only the recipient of the bounced message of ours can be marked:
		// anyone holding one of our Message-IDs can forge a report naming
		// other addresses.
		o, err := h.Store.OutboundByMessageID(ctx, m.Report.OriginalMessageID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fmt.Errorf("pipeline: bounce of inbound %d: %w", in.ID, err)
		case containsFold(m.Report.FailedRecipients, o.Recipient):
			if err := h.Store.MarkAddressFailing(ctx, o.Recipient, "hard bounce: "+m.Subject); err != nil {
				return fmt.Errorf("pipeline: mark %s failing: %w", o.Recipient, err)
			}
			h.Log.Warn("address marked failing", "inbound_id", in.ID, "rule", sig.Rule)
			h.event(ctx, in, th.ref, "address.failing", "hard bounce of our message "+m.Report.OriginalMessageID)
		}
	}
	if !th.ref.IsZero() {
		if err := h.Store.AttachInbound(ctx, in.ID, th.ref, flag); err != nil {
			return fmt.Errorf("pipeline: attach automated inbound %d: %w", in.ID, err)
		}
	} else {
		w := &store.WorkItem{
			Queue: QueueAutomated, InboundID: in.ID, Priority: store.PriorityLow,
			DueAt: h.dueAt(store.PriorityLow), Reason: flag,
		}
		if _, err := h.Store.EnsureWorkItem(ctx, w); err != nil {
			return fmt.Errorf("pipeline: route automated inbound %d: %w", in.ID, err)
		}
		if err := h.Store.FileInbound(ctx, in.ID); err != nil {
			return fmt.Errorf("pipeline: file automated inbound %d: %w", in.ID, err)
		}
	}
	h.Log.Info("automated mail filed", "inbound_id", in.ID, "rule", sig.Rule, "value", sig.Value, "attached", !th.ref.IsZero())
	// Never acknowledged; nothing more to route.
	if err := h.Store.SetAckDone(ctx, in.ID); err != nil {
		return fmt.Errorf("pipeline: inbound %d: %w", in.ID, err)
	}
	if err := h.Store.SetRouteDone(ctx, in.ID); err != nil {
		return fmt.Errorf("pipeline: inbound %d: %w", in.ID, err)
	}
	return nil
}

// findThread looks for the case or order m follows up: first by the subject
// tag, then by the Message-IDs it refers to (for a report, the reported
// message's id). A reference that claims to be ours but fails the HMAC
// check is ignored. A match from a sender who is not the customer is
// attached but flagged.
func (h *Handlers) findThread(ctx context.Context, m *message.Message) (thread, error) {
	sender := strings.ToLower(replyAddress(m).Addr)
	from := strings.ToLower(m.From.Addr)
	if kind, number, ok := templates.ParseTag(m.Subject); ok {
		th, customer, err := h.byNumber(ctx, kind, number)
		switch {
		case err == nil:
			if customer != sender && customer != from {
				th.flag = FlagSenderNotOnCase
			}
			return th, nil
		case !errors.Is(err, store.ErrNotFound):
			return thread{}, err
		}
	}
	ids := m.ThreadIDs()
	if m.MessageID != "" {
		// The same message delivered to two of our mailboxes (To support@,
		// Cc orders@) joins the first copy's case instead of opening another.
		ids = append([]string{m.MessageID}, ids...)
	}
	if m.Report != nil && m.Report.OriginalMessageID != "" {
		ids = append(ids, m.Report.OriginalMessageID)
	}
	var candidates []string
	forged := false
	for _, id := range ids {
		if h.looksOurs(id) && !h.ours(id) {
			forged = true
			continue
		}
		candidates = append(candidates, id)
	}
	if len(candidates) == 0 {
		return thread{}, nil
	}
	ref, err := h.Store.FindThread(ctx, candidates)
	if errors.Is(err, store.ErrNotFound) {
		return thread{}, nil
	}
	if err != nil {
		return thread{}, err
	}
	th := thread{ref: ref}
	customer, number, err := h.customerOf(ctx, ref)
	if err != nil {
		return thread{}, err
	}
	th.number = number
	switch {
	case customer != sender && customer != from:
		th.flag = FlagSenderNotOnCase
	case forged:
		th.flag = FlagForgedReference
	}
	return th, nil
}

func (h *Handlers) byNumber(ctx context.Context, kind, number string) (thread, string, error) {
	if kind == "order" {
		o, err := h.Store.OrderByNumber(ctx, number)
		if err != nil {
			return thread{}, "", err
		}
		return thread{ref: store.Ref{OrderID: o.ID}, number: o.Number}, o.Customer, nil
	}
	c, err := h.Store.CaseByNumber(ctx, number)
	if err != nil {
		return thread{}, "", err
	}
	return thread{ref: store.Ref{CaseID: c.ID}, number: c.Number}, c.Customer, nil
}

func (h *Handlers) customerOf(ctx context.Context, ref store.Ref) (customer, number string, err error) {
	if ref.OrderID != 0 {
		o, err := h.Store.Order(ctx, ref.OrderID)
		if err != nil {
			return "", "", err
		}
		return o.Customer, o.Number, nil
	}
	c, err := h.Store.Case(ctx, ref.CaseID)
	if err != nil {
		return "", "", err
	}
	return c.Customer, c.Number, nil
}

// ours reports whether id is one of our Message-IDs with a valid token.
func (h *Handlers) ours(id string) bool {
	if id == "" || h.Acks == nil {
		return false
	}
	_, _, ok := h.Acks.IDs.Verify(id)
	return ok
}

// looksOurs reports whether id claims our domain.
func (h *Handlers) looksOurs(id string) bool {
	return h.Acks != nil && h.Acks.Domain != "" && strings.HasSuffix(strings.ToLower(id), "@"+strings.ToLower(h.Acks.Domain))
}

// permanentIfConflict stops retries of a state the store refuses (a
// message already registered elsewhere): retrying cannot change it, and the
// failure goes to a person at once.
func permanentIfConflict(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
	}
	return err
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}

// replyAddress is where a reply to m goes: its first Reply-To, else From.
func replyAddress(m *message.Message) message.Address {
	if len(m.ReplyTo) > 0 && m.ReplyTo[0].Addr != "" {
		return m.ReplyTo[0]
	}
	return m.From
}

func (h *Handlers) event(ctx context.Context, in *store.Inbound, ref store.Ref, kind, detail string) {
	err := h.Store.AddEvent(ctx, store.Event{At: h.Now(), Actor: "system", Kind: kind, Ref: ref, InboundID: in.ID, Detail: detail})
	if err != nil {
		h.Log.Warn("audit event not recorded", "inbound_id", in.ID, "kind", kind, "err", err)
	}
}
