package web

import (
	"net/http"

	"github.com/frontdesk/frontdesk/store"
)

// getCase answers a case with its thread and events; a CSR gets 404 for
// cases outside their queues.
func (s *server) getCase(w http.ResponseWriter, r *http.Request, p *principal) {
	c, ok := s.loadCase(w, r, p)
	if !ok {
		return
	}
	ref := store.Ref{CaseID: c.ID}
	thread, events, ok := s.threadAndEvents(w, r, ref)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, caseView{Case: caseOf(c), Thread: thread, Events: events})
}

// getOrder is getCase for orders.
func (s *server) getOrder(w http.ResponseWriter, r *http.Request, p *principal) {
	o, err := s.store.OrderByNumber(r.Context(), r.PathValue("number"))
	if err != nil {
		s.storeError(w, r, err, "order", "")
		return
	}
	if !p.mayQueue(o.Queue) {
		writeError(w, http.StatusNotFound, "order not found")
		return
	}
	thread, events, ok := s.threadAndEvents(w, r, store.Ref{OrderID: o.ID})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, orderView{Order: orderOf(o), Thread: thread, Events: events})
}

// loadCase loads the case of the {number} path value if p may see it. On
// failure it has answered the request.
func (s *server) loadCase(w http.ResponseWriter, r *http.Request, p *principal) (*store.Case, bool) {
	c, err := s.store.CaseByNumber(r.Context(), r.PathValue("number"))
	if err != nil {
		s.storeError(w, r, err, "case", "")
		return nil, false
	}
	if !p.mayQueue(c.Queue) {
		writeError(w, http.StatusNotFound, "case not found")
		return nil, false
	}
	return c, true
}

func (s *server) threadAndEvents(w http.ResponseWriter, r *http.Request, ref store.Ref) ([]threadMessageJSON, []eventJSON, bool) {
	thread, err := s.store.Thread(r.Context(), ref)
	if err != nil {
		s.storeError(w, r, err, "thread", "")
		return nil, nil, false
	}
	events, err := s.store.Events(r.Context(), ref)
	if err != nil {
		s.storeError(w, r, err, "events", "")
		return nil, nil, false
	}
	return s.threadOf(thread), eventsOf(events), true
}

type caseStatusRequest struct {
	Status string `json:"status"`
}

// setCaseStatus changes a case's status (open, waiting_customer, resolved,
// closed). The store records case.status; a case.status.set event names
// who asked.
func (s *server) setCaseStatus(w http.ResponseWriter, r *http.Request, p *principal) {
	c, ok := s.loadCase(w, r, p)
	if !ok {
		return
	}
	var req caseStatusRequest
	if !decodeBody(w, r, &req) {
		return
	}
	st := store.CaseStatus(req.Status)
	switch st {
	case store.CaseOpen, store.CaseWaitingCustomer, store.CaseResolved, store.CaseClosed:
	default:
		writeError(w, http.StatusBadRequest, "status must be open, waiting_customer, resolved or closed")
		return
	}
	if st != c.Status {
		if err := s.store.SetCaseStatus(r.Context(), c.ID, st); err != nil {
			s.storeError(w, r, err, "case", "case changed meanwhile; retry")
			return
		}
		s.audit(r, store.Event{At: s.now(), Actor: p.name, Kind: "case.status.set", Ref: store.Ref{CaseID: c.ID},
			Detail: string(c.Status) + " -> " + string(st)})
	}
	after, err := s.store.Case(r.Context(), c.ID)
	if err != nil {
		s.storeError(w, r, err, "case", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]caseJSON{"case": caseOf(after)})
}
