package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/frontdesk/frontdesk/store"
)

// errorBody is the shape of every error response.
type errorBody struct {
	Error string `json:"error"`
}

// setHeaders marks a response as JSON that must not be cached, sniffed,
// framed or rendered as a page.
func setHeaders(h http.Header) {
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error (an unsupported type) gets here.
		code, body = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	body = append(body, '\n')
	setHeaders(w.Header())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeError writes {"error": msg} with status code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// temporary is what retryable store errors implement.
type temporary interface{ Temporary() bool }

// storeError answers a failed store call: 404 for ErrNotFound, 409 for
// ErrConflict (with conflict as the message), 503 with Retry-After for a
// temporary error, 500 otherwise; 5xx causes are logged, never sent.
func (s *server) storeError(w http.ResponseWriter, r *http.Request, err error, what, conflict string) {
	var t temporary
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, what+" not found")
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, conflict)
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
	case errors.As(err, &t) && t.Temporary():
		s.log.WarnContext(r.Context(), "store unavailable", "op", what, "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "store temporarily unavailable; retry later")
	default:
		s.log.ErrorContext(r.Context(), "store error", "op", what, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// decodeBody reads a JSON request body of at most MaxBodyBytes into v,
// rejecting other media types, unknown fields and trailing data. On error
// it has answered the request.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBodyBytes))
		} else {
			writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		}
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid JSON body: more than one value")
		return false
	}
	return true
}
