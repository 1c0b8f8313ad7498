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
	SaveAnalysis(ctx context.Context, id int64, m *message.Message, c store.Classification, automatedRule string) error
	FinishAck(ctx context.Context, o *store.Outbound) error
	RouteInbound(ctx context.Context, w *store.WorkItem) (bool, error)
	AddEvent(ctx context.Context, e store.Event) error
}

// Blobs reads raw messages back, verifying their hash, and moves damaged
// ones aside.
type Blobs interface {
	Get(ctx context.Context, hash string) ([]byte, error)
	Quarantine(ctx context.Context, hash, reason string) error
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

// Register adds every task's handler to mux.
func (h *Handlers) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeProcess, h.HandleProcess)
	mux.HandleFunc(TypeAck, h.HandleAck)
}

// next enqueues the task due for a row in its state: the Sweeper uses it
// for rows whose task Redis lost, and handlers for rows another task owns.
func next(ctx context.Context, t Tasks, in *store.Inbound) error {
	switch {
	case in.Status == store.StatusAccepted, in.Status == store.StatusNormalised, in.Status == store.StatusClassified,
		in.Status == store.StatusRegistered && !in.RouteDone:
		return t.Enqueue(ctx, TypeProcess, in.ID)
	case in.Status == store.StatusRegistered && !in.AckDone:
		return t.Enqueue(ctx, TypeAck, in.ID)
	}
	return nil
}

// job is one inbound message going through the steps of HandleProcess;
// what a step computed is handed to the next without a round trip to the
// store.
type job struct {
	in *store.Inbound
	m  *message.Message
	cl *store.Classification
	// c or o is the case or order this run registered for the message.
	c *store.Case
	o *store.Order
	// ackDeferred says the acknowledgement went to its own task.
	ackDeferred bool
}

// message returns the normalised message, from the store when this run did
// not normalise it.
func (j *job) message(ctx context.Context, s Store) (*message.Message, error) {
	if j.m == nil {
		m, err := s.Normalised(ctx, j.in.ID)
		if err != nil {
			return nil, err
		}
		j.m = m
	}
	return j.m, nil
}

// classification returns the message's classification, from the store
// when this run did not classify it.
func (j *job) classification(ctx context.Context, s Store) (*store.Classification, error) {
	if j.cl == nil {
		cl, err := s.Classification(ctx, j.in.ID)
		if err != nil {
			return nil, err
		}
		j.cl = &cl
	}
	return j.cl, nil
}

// caseRecord returns the case of j's message, from the store when this run
// did not register it.
func (j *job) caseRecord(ctx context.Context, s Store) (*store.Case, error) {
	if j.c == nil || j.c.ID != j.in.CaseID {
		c, err := s.Case(ctx, j.in.CaseID)
		if err != nil {
			return nil, err
		}
		j.c = c
	}
	return j.c, nil
}

// orderRecord is caseRecord for orders.
func (j *job) orderRecord(ctx context.Context, s Store) (*store.Order, error) {
	if j.o == nil || j.o.ID != j.in.OrderID {
		o, err := s.Order(ctx, j.in.OrderID)
		if err != nil {
			return nil, err
		}
		j.o = o
	}
	return j.o, nil
}

// HandleProcess takes an accepted message through every step in one run:
// normalise, classify, register, acknowledge, route. Each step commits its
// result to the ledger before the next begins, so a re-run (asynq runs a
// task at least once) resumes after the last committed step and never does
// one twice (invariant 2). One task instead of one per step spares four
// queue hops — the acknowledgement's latency — and four task round trips
// to Redis. The acknowledgement, the only external side effect, is sent
// inline when the SMTP peer is healthy; when it is not, or the inline send
// fails, it moves to its own task (TypeAck) with its own retries, and the
// message is routed without waiting for it.
func (h *Handlers) HandleProcess(ctx context.Context, t *asynq.Task) error {
	in, err := h.load(ctx, t)
	if err != nil {
		return err
	}
	j := &job{in: in}
	for {
		before := progress(j)
		switch {
		case in.Status == store.StatusAccepted:
			err = h.analyse(ctx, j)
		case in.Status == store.StatusNormalised:
			err = h.classify(ctx, j)
		case in.Status == store.StatusClassified:
			err = h.register(ctx, j)
		case in.Status == store.StatusRegistered && !in.AckDone && !j.ackDeferred:
			err = h.ackInline(ctx, j)
		case in.Status == store.StatusRegistered && !in.RouteDone:
			err = h.route(ctx, j)
		default: // done, failed, or waiting for its acknowledgement task
			return nil
		}
		if err != nil {
			return err
		}
		if progress(j) == before {
			return fmt.Errorf("pipeline: inbound %d: a step in state %s made no progress: %w", in.ID, in.Status, asynq.SkipRetry)
		}
	}
}

// progress is the part of a job's state that every step advances.
func progress(j *job) [4]any {
	return [4]any{j.in.Status, j.in.AckDone, j.in.RouteDone, j.ackDeferred}
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
	if err := h.openReserved(ctx, in, reason); err != nil {
		return err
	}
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
	in.Status = store.StatusFailed
	h.Log.Warn("inbound failed", "inbound_id", in.ID, "channel", in.Channel, "reason", reason)
	return nil
}

// openReserved opens the case or order whose number the sender of a failed
// message was given at accept (a web form's 202), so that the number
// exists and the failure is filed under it; customer and subject are
// unknown, since the message could not be read.
func (h *Handlers) openReserved(ctx context.Context, in *store.Inbound, reason string) error {
	if in.Reserved.IsZero() || in.CaseID != 0 || in.OrderID != 0 {
		return nil
	}
	subject := "(could not be read: " + reason + ")"
	if in.Reserved.OrderID != 0 {
		o, _, err := h.Store.RegisterOrder(ctx, store.NewOrder{InboundID: in.ID, Priority: store.PriorityHigh,
			Queue: in.Queue, Channel: in.Channel, Subject: subject})
		if err != nil {
			return fmt.Errorf("pipeline: open reserved order of failed inbound %d: %w", in.ID, err)
		}
		in.OrderID = o.ID
		return nil
	}
	c, _, err := h.Store.RegisterCase(ctx, store.NewCase{InboundID: in.ID, Kind: "inquiry", Priority: store.PriorityHigh,
		Queue: in.Queue, Channel: in.Channel, Subject: subject})
	if err != nil {
		return fmt.Errorf("pipeline: open reserved case of failed inbound %d: %w", in.ID, err)
	}
	in.CaseID = c.ID
	return nil
}

func (h *Handlers) dueAt(p store.Priority) time.Time {
	return h.Now().Add(slaFor(h.SLA, p))
}

func slaFor(s config.SLA, p store.Priority) time.Duration {
	return s.For(string(p))
}
