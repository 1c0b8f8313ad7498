package pipeline

import (
	"context"
	"fmt"

	"github.com/frontdesk/frontdesk/store"
)

// route puts a work item for the message's case or order in its CSR
// queue, with the priority and the SLA due time, unless one is already open
// for that case or order.
func (h *Handlers) route(ctx context.Context, j *job) error {
	in := j.in
	if in.Automated == "" {
		cl, err := j.classification(ctx, h.Store)
		if err != nil {
			return fmt.Errorf("pipeline: route inbound %d: %w", in.ID, err)
		}
		w := &store.WorkItem{
			Queue:     cl.Queue,
			Ref:       store.Ref{CaseID: in.CaseID, OrderID: in.OrderID},
			InboundID: in.ID,
			Priority:  cl.Priority,
			DueAt:     h.dueAt(cl.Priority),
		}
		if err := h.routeTarget(ctx, j, w); err != nil {
			return fmt.Errorf("pipeline: route inbound %d: %w", in.ID, err)
		}
		// The work item and the finished step in one write.
		created, err := h.Store.RouteInbound(ctx, w)
		if err != nil {
			return fmt.Errorf("pipeline: route inbound %d: %w", in.ID, err)
		}
		if created {
			h.Log.Info("work routed", "inbound_id", in.ID, "queue", w.Queue, "priority", w.Priority, "work_id", w.ID)
		}
	} else if err := h.Store.SetRouteDone(ctx, in.ID); err != nil {
		// Filed by registerAutomated; a re-run after a crash lands here.
		return fmt.Errorf("pipeline: route inbound %d: %w", in.ID, err)
	}
	in.RouteDone = true
	return nil
}

// routeTarget sends follow-ups to the queue of the case or order they join,
// with its priority.
func (h *Handlers) routeTarget(ctx context.Context, j *job, w *store.WorkItem) error {
	switch {
	case w.Ref.CaseID != 0:
		c, err := j.caseRecord(ctx, h.Store)
		if err != nil {
			return err
		}
		if c.InboundID != w.InboundID {
			w.Queue, w.Priority, w.DueAt = c.Queue, c.Priority, h.dueAt(c.Priority)
		}
	case w.Ref.OrderID != 0:
		o, err := j.orderRecord(ctx, h.Store)
		if err != nil {
			return err
		}
		if o.InboundID != w.InboundID {
			w.Queue, w.Priority, w.DueAt = o.Queue, o.Priority, h.dueAt(o.Priority)
		}
	}
	return nil
}
