package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/frontdesk/frontdesk/store"
)

// listQueues answers the caller's queues with their depth: every queue of
// a CSR's list (zeros when empty), or every queue with items for callers
// who see all.
func (s *server) listQueues(w http.ResponseWriter, r *http.Request, p *principal) {
	stats, err := s.store.Queues(r.Context(), s.now())
	if err != nil {
		s.storeError(w, r, err, "queues", "")
		return
	}
	byName := make(map[string]store.QueueStats, len(stats))
	for _, q := range stats {
		byName[q.Queue] = q
	}
	names := p.queueList
	if p.queues == nil {
		names = make([]string, 0, len(stats))
		for _, q := range stats {
			names = append(names, q.Queue)
		}
	}
	names = slices.Clone(names)
	slices.Sort(names)
	out := make([]queueJSON, 0, len(names))
	for _, n := range names {
		q := byName[n]
		out = append(out, queueJSON{Name: n, Open: q.Open, Claimed: q.Claimed, OldestAgeSeconds: int64(q.OldestAge.Seconds())})
	}
	writeJSON(w, http.StatusOK, map[string][]queueJSON{"queues": out})
}

// claim leases the next item of a queue to the caller: 200 with the item
// and what it points at, 204 when nothing is claimable, 403 for a queue
// the caller may not work.
func (s *server) claim(w http.ResponseWriter, r *http.Request, p *principal) {
	queue := r.PathValue("queue")
	if strings.TrimSpace(queue) == "" {
		writeError(w, http.StatusBadRequest, "queue name required")
		return
	}
	if !p.mayQueue(queue) {
		writeError(w, http.StatusForbidden, "queue "+queue+" is not one of yours")
		return
	}
	item, err := s.store.Claim(r.Context(), queue, p.name, s.now(), s.lease)
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		s.storeError(w, r, err, "claim", "claim conflict; retry")
		return
	}
	writeJSON(w, http.StatusOK, s.workView(r, item))
}
