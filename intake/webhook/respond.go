package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/frontdesk/frontdesk/intake"
)

// Reasons of refusals, as answered in "reason" and counted; a fixed set,
// so that the counters stay small.
const (
	ReasonNotFound    = "not_found"
	ReasonBadBody     = "bad_body"
	ReasonBadField    = "bad_field"
	ReasonTooLarge    = "too_large"
	ReasonContentType = "content_type"
	ReasonSignature   = "bad_signature"
	ReasonAuth        = "bad_credentials"
	ReasonOrigin      = "origin"
	ReasonCSRF        = "bad_csrf_token"
	ReasonRate        = "rate_limited"
	ReasonUnavailable = "unavailable"
	ReasonAccepted    = "accepted"
	ReasonDuplicate   = "duplicate"
)

// Counters counts every answer of the intake endpoints by channel (form,
// mailgun, sendgrid, postmark), endpoint name, status code and reason.
// A nil *Counters counts nothing.
type Counters struct {
	answers *prometheus.CounterVec
}

// NewCounters registers the counters with reg as
// frontdesk_intake_http_answers_total{channel,endpoint,code,reason}.
func NewCounters(reg prometheus.Registerer) (*Counters, error) {
	c := &Counters{answers: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "frontdesk_intake_http_answers_total",
		Help: "Answers of the web form and inbound-mail webhook endpoints, by channel, endpoint, status code and reason.",
	}, []string{"channel", "endpoint", "code", "reason"})}
	if err := reg.Register(c.answers); err != nil {
		return nil, fmt.Errorf("webhook: register counters: %w", err)
	}
	return c, nil
}

// Count returns the count of one label set (for tests and reports).
func (c *Counters) Count(channel, endpoint string, code int, reason string) float64 {
	if c == nil {
		return 0
	}
	var m dto.Metric
	if err := c.answers.WithLabelValues(channel, endpoint, strconv.Itoa(code), reason).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

func (c *Counters) add(channel, endpoint string, code int, reason string) {
	if c == nil {
		return
	}
	c.answers.WithLabelValues(channel, endpoint, strconv.Itoa(code), reason).Inc()
}

// answer is the JSON body of every reply.
type answer struct {
	Status string `json:"status"` // accepted, refused, retry
	// Reason is one of the Reason constants.
	Reason string `json:"reason"`
	Error  string `json:"error,omitempty"`
	Field  string `json:"field,omitempty"`
	// Reference is the case or order number a form submission opened.
	Reference string `json:"reference,omitempty"`
	InboundID int64  `json:"inbound_id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// responder answers one channel's requests: JSON bodies, every refusal
// logged with its reason and every answer counted.
type responder struct {
	channel  string
	log      *slog.Logger
	counters *Counters
}

// refused answers a refusal with code, reason and a message for people.
func (p *responder) refused(w http.ResponseWriter, r *http.Request, endpoint string, code int, reason, msg string) {
	p.reply(w, r, endpoint, code, answer{Status: "refused", Reason: reason, Error: msg})
}

// reply writes a; refusals are logged with their reason.
func (p *responder) reply(w http.ResponseWriter, r *http.Request, endpoint string, code int, a answer) {
	p.counters.add(p.channel, endpoint, code, a.Reason)
	if code >= 400 {
		p.log.LogAttrs(r.Context(), slog.LevelInfo, p.channel+" submission refused",
			slog.String("endpoint", endpoint), slog.Int("status", code), slog.String("reason", a.Reason),
			slog.String("error", a.Error), slog.String("field", a.Field), slog.String("remote", r.RemoteAddr),
			// As sent: only the rate limiter decides whom to believe.
			slog.String("forwarded_for", r.Header.Get("X-Forwarded-For")))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(a)
}

// refuse answers a submission's own fault: 400 (naming the field where
// there is one), 413 or 415 — never 5xx.
func (p *responder) refuse(w http.ResponseWriter, r *http.Request, endpoint string, err error) {
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		p.reply(w, r, endpoint, http.StatusBadRequest, answer{Status: "refused", Reason: ReasonBadField, Error: fe.Reason, Field: fe.Field})
	case errors.Is(err, ErrTooLarge), errors.Is(err, intake.ErrTooLarge):
		p.refused(w, r, endpoint, http.StatusRequestEntityTooLarge, ReasonTooLarge, err.Error())
	case errors.Is(err, ErrUnsupportedType):
		p.refused(w, r, endpoint, http.StatusUnsupportedMediaType, ReasonContentType, err.Error())
	default:
		p.refused(w, r, endpoint, http.StatusBadRequest, ReasonBadBody, err.Error())
	}
}

// readBody reads the request body up to limit bytes; on failure it has
// answered (413 or 400) and returns false.
func (p *responder) readBody(w http.ResponseWriter, r *http.Request, endpoint string, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		p.refused(w, r, endpoint, http.StatusRequestEntityTooLarge, ReasonTooLarge, fmt.Sprintf("body over %d bytes", limit))
		return nil, false
	case err != nil:
		p.refused(w, r, endpoint, http.StatusBadRequest, ReasonBadBody, "unreadable body")
		return nil, false
	}
	return body, true
}

// sourceKey is the ledger's source key of a submission to source with
// idempotency key key: the source and a hash of the key (which may be
// long, or carry a sender's text), so the same submission is one row.
func sourceKey(source, key string) string {
	sum := sha256.Sum256([]byte(key))
	return source + ":" + hex.EncodeToString(sum[:16])
}

// accept hands s to the accept step and answers: 202 once it is durable
// (also for a duplicate), 413 for a message over the intake limit, and
// 503 with Retry-After for anything else — the sender keeps the
// submission and retries; no provider gives up on a 503.
func (p *responder) accept(w http.ResponseWriter, r *http.Request, endpoint string, acc Acceptor, s intake.Submission) {
	res, err := acc.Accept(r.Context(), s)
	switch {
	case errors.Is(err, intake.ErrTooLarge):
		p.refused(w, r, endpoint, http.StatusRequestEntityTooLarge, ReasonTooLarge, err.Error())
	case err != nil:
		p.log.Warn(p.channel+" submission not accepted; asked to retry", "endpoint", endpoint, "source_key", s.SourceKey, "err", err)
		w.Header().Set("Retry-After", "30")
		p.reply(w, r, endpoint, http.StatusServiceUnavailable, answer{Status: "retry", Reason: ReasonUnavailable, Error: "temporarily unable to accept; retry later"})
	default:
		reason := ReasonAccepted
		if res.Duplicate {
			reason = ReasonDuplicate
		}
		p.reply(w, r, endpoint, http.StatusAccepted, answer{Status: "accepted", Reason: reason, Reference: res.Reference, InboundID: res.InboundID, Duplicate: res.Duplicate})
	}
}
