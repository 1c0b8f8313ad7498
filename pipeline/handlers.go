package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// Store is what the pipeline needs of the system of record.
type Store interface {
	Inbound(ctx context.Context, id int64) (*store.Inbound, error)
	SaveNormalised(ctx context.Context, id int64, m *message.Message) error
	Normalised(ctx context.Context, id int64) (*message.Message, error)
	FailInbound(ctx context.Context, id int64, reason string) error
	SaveClassification(ctx context.Context, id int64, c store.Classification) error
	Classification(ctx context.Context, id int64) (store.Classification, error)
	RegisterCase(ctx context.Context, nc store.NewCase) (*store.Case, bool, error)
	RegisterOrder(ctx context.Context, no store.NewOrder) (*store.Order, bool, error)
	AttachInbound(ctx context.Context, id int64, ref store.Ref, flag string) error
	FindThread(ctx context.Context, messageIDs []string) (store.Ref, error)
	Case(ctx context.Context, id int64) (*store.Case, error)
	CaseByNumber(ctx context.Context, number string) (*store.Case, error)
	Order(ctx context.Context, id int64) (*store.Order, error)
	OrderByNumber(ctx context.Context, number string) (*store.Order, error)
	CreateOutbound(ctx context.Context, o *store.Outbound) (bool, error)
	UpdateOutbound(ctx context.Context, o *store.Outbound) error
	OutboundByMessageID(ctx context.Context, messageID string) (*store.Outbound, error)
	CountSent(ctx context.Context, recipient string, ref store.Ref, since time.Time) (int, int, error)
	MarkAddressFailing(ctx context.Context, addr, reason string) error
	AddressFailing(ctx context.Context, addr string) (bool, error)
	SetAckDone(ctx context.Context, id int64) error
	SetRouteDone(ctx context.Context, id int64) error
	SetAutomated(ctx context.Context, id int64, rule string) error
	FileInbound(ctx context.Context, id int64) error
	EnsureWorkItem(ctx context.Context, w *store.WorkItem) (bool, error)
	AddEvent(ctx context.Context, e store.Event) error
}

// Blobs reads raw messages back, verifying their hash, and moves damaged
// ones aside.
type Blobs interface {
	Get(ctx context.Context, hash string) ([]byte, error)
	Quarantine(hash, reason string) error
}

// Normaliser parses a raw message of a channel into its normalised form.
// Errors for which message.IsPermanent is true are bad input.
type Normaliser interface {
	Parse(ctx context.Context, channel message.Channel, raw []byte) (*message.Message, error)
}

// Tasks enqueues follow-on steps.
type Tasks interface {
	Enqueue(ctx context.Context, typ string, inboundID int64) error
}

// Human queues for work that has no case or order behind it.
const (
	QueueIntakeFailures = "intake-failures"
	QueueAutomated      = "automated"
)

// Handlers runs the pipeline steps. Construct it with every field set.
type Handlers struct {
	Store      Store
	Blobs      Blobs
	Normaliser Normaliser
	Tasks      Tasks
	Classifier *Classifier
	Acks       *Acknowledger
	SLA        config.SLA
	Log        *slog.Logger
	Now        func() time.Time
}

// Register adds every step's handler to mux.
func (h *Handlers) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeNormalise, h.HandleNormalise)
	mux.HandleFunc(TypeClassify, h.HandleClassify)
	mux.HandleFunc(TypeRegister, h.HandleRegister)
	mux.HandleFunc(TypeAck, h.HandleAck)
	mux.HandleFunc(TypeRoute, h.HandleRoute)
}

// next enqueues the steps due for a row in status s. Every handler calls it
// for rows already past its own step, so a re-run after a crash between
// commit and enqueue still moves the message on; the Sweeper uses it too.
func next(ctx context.Context, t Tasks, in *store.Inbound) error {
	var types []string
	switch in.Status {
	case store.StatusAccepted:
		types = []string{TypeNormalise}
	case store.StatusNormalised:
		types = []string{TypeClassify}
	case store.StatusClassified:
		types = []string{TypeRegister}
	case store.StatusRegistered:
		if !in.AckDone {
			types = append(types, TypeAck)
		}
		if !in.RouteDone {
			types = append(types, TypeRoute)
		}
	}
	for _, typ := range types {
		if err := t.Enqueue(ctx, typ, in.ID); err != nil {
			return err
		}
	}
	return nil
}

// load reads the inbound row of a task.
func (h *Handlers) load(ctx context.Context, t *asynq.Task) (*store.Inbound, error) {
	id, err := inboundID(t)
	if err != nil {
		return nil, err
	}
	in, err := h.Store.Inbound(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("pipeline: %s: inbound %d does not exist: %w", t.Type(), id, asynq.SkipRetry)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: load inbound %d: %w", t.Type(), id, err)
	}
	return in, nil
}

// fail records a permanent failure of inbound in: it is kept with the reason
// and routed to a person (invariant 5).
func (h *Handlers) fail(ctx context.Context, in *store.Inbound, reason string) error {
	w := &store.WorkItem{
		Queue:     QueueIntakeFailures,
		Ref:       store.Ref{CaseID: in.CaseID, OrderID: in.OrderID},
		InboundID: in.ID,
		Priority:  store.PriorityHigh,
		DueAt:     h.Now().Add(h.SLA.High),
		Reason:    reason,
	}
	if _, err := h.Store.EnsureWorkItem(ctx, w); err != nil {
		return fmt.Errorf("pipeline: route failed inbound %d: %w", in.ID, err)
	}
	if err := h.Store.FailInbound(ctx, in.ID, reason); err != nil {
		return fmt.Errorf("pipeline: mark inbound %d failed: %w", in.ID, err)
	}
	h.Log.Warn("inbound failed", "inbound_id", in.ID, "channel", in.Channel, "reason", reason)
	return nil
}

func (h *Handlers) dueAt(p store.Priority) time.Time {
	return h.Now().Add(slaFor(h.SLA, p))
}

func slaFor(s config.SLA, p store.Priority) time.Duration {
	return s.For(string(p))
}
