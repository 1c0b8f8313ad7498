package web

import (
	"context"
	"net/http"
)

type statusJSON struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// healthz is liveness: the process serves HTTP. No auth.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, statusJSON{Status: "ok"})
}

// readyz is readiness: Ready passes within readyTimeout; otherwise 503
// with the reason ("degraded"). No auth.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, statusJSON{Status: "degraded", Error: err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, statusJSON{Status: "ok"})
}
