package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

const notLeased = "you do not hold a live lease on this work item (claim it first; it may have expired)"

// workView loads the summary of what item points at. The item is the
// answer; a summary that cannot be loaded is logged and left out rather
// than failing a claim that has already happened.
func (s *server) workView(r *http.Request, item *store.WorkItem) workView {
	v := workView{Item: workItemOf(item)}
	ctx := r.Context()
	var err error
	switch {
	case item.Ref.CaseID != 0:
		var c *store.Case
		if c, err = s.store.Case(ctx, item.Ref.CaseID); err == nil {
			cj := caseOf(c)
			v.Case = &cj
		}
	case item.Ref.OrderID != 0:
		var o *store.Order
		if o, err = s.store.Order(ctx, item.Ref.OrderID); err == nil {
			oj := orderOf(o)
			v.Order = &oj
		}
	case item.InboundID != 0:
		var in *store.Inbound
		if in, err = s.store.Inbound(ctx, item.InboundID); err == nil {
			ij := inboundOf(in)
			v.Inbound = &ij
		}
	}
	if err != nil {
		s.log.WarnContext(ctx, "work item summary", "work_item", item.ID, "err", err)
	}
	return v
}

// loadWork loads the work item of the {id} path value and checks that p
// may see it; a CSR gets 404 for items outside their queues, as for items
// that do not exist. On failure it has answered the request.
func (s *server) loadWork(w http.ResponseWriter, r *http.Request, p *principal) (*store.WorkItem, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "work item not found")
		return nil, false
	}
	item, err := s.store.WorkItem(r.Context(), id)
	if err != nil {
		s.storeError(w, r, err, "work item", "")
		return nil, false
	}
	if !p.mayQueue(item.Queue) {
		writeError(w, http.StatusNotFound, "work item not found")
		return nil, false
	}
	return item, true
}

// getWork answers one work item.
func (s *server) getWork(w http.ResponseWriter, r *http.Request, p *principal) {
	item, ok := s.loadWork(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.workView(r, item))
}

// renew extends the caller's lease (409 when they do not hold a live
// one) and records a work.renewed event.
func (s *server) renew(w http.ResponseWriter, r *http.Request, p *principal) {
	item, ok := s.loadWork(w, r, p)
	if !ok {
		return
	}
	now := s.now()
	renewed, err := s.store.Renew(r.Context(), item.ID, p.name, now, s.lease)
	if err != nil {
		s.storeError(w, r, err, "work item", notLeased)
		return
	}
	s.audit(r, store.Event{
		At: now, Actor: p.name, Kind: "work.renewed", Ref: renewed.Ref, InboundID: renewed.InboundID,
		Detail: "until " + renewed.LeaseExpires.UTC().Format(time.RFC3339),
	})
	writeJSON(w, http.StatusOK, s.workView(r, renewed))
}

// release gives the item back to its queue; complete marks it done. Both
// answer 409 when the caller does not hold a live lease; the store records
// work.released and work.completed.
func (s *server) release(w http.ResponseWriter, r *http.Request, p *principal) {
	s.finish(w, r, p, s.store.Release)
}

func (s *server) complete(w http.ResponseWriter, r *http.Request, p *principal) {
	s.finish(w, r, p, s.store.Complete)
}

func (s *server) finish(w http.ResponseWriter, r *http.Request, p *principal,
	op func(ctx context.Context, id int64, owner string, now time.Time) error) {
	item, ok := s.loadWork(w, r, p)
	if !ok {
		return
	}
	if err := op(r.Context(), item.ID, p.name, s.now()); err != nil {
		s.storeError(w, r, err, "work item", notLeased)
		return
	}
	after, err := s.store.WorkItem(r.Context(), item.ID)
	if err != nil {
		s.storeError(w, r, err, "work item", "")
		return
	}
	writeJSON(w, http.StatusOK, s.workView(r, after))
}

// audit appends an event; the change it describes has happened, so a
// failure is logged rather than turned into an error answer.
func (s *server) audit(r *http.Request, e store.Event) {
	if err := s.store.AddEvent(r.Context(), e); err != nil {
		s.log.ErrorContext(r.Context(), "audit event lost", "kind", e.Kind, "actor", e.Actor, "err", err)
	}
}
