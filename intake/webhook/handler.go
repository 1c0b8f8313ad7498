package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/message"
)

// Acceptor is the shared accept step (intake.Acceptor).
type Acceptor interface {
	Accept(ctx context.Context, s intake.Submission) (intake.Result, error)
}

// FormConfig is one form as the handler uses it.
type FormConfig struct {
	Name    string
	Keys    [][]byte // signing keys (several during a rotation); see Key
	Mapping Mapping
	Intent  message.Intent
	Queue   string
	Limits  Limits
	// MaxBodyBytes bounds the request body; default 10 MiB.
	MaxBodyBytes int64
}

// FormHandler serves POST /intake/forms/{form}: a signed submission is
// parsed, rendered as a message and accepted durably before it is
// answered 202 (DESIGN.md invariant 1); the webhook id is its idempotency
// key, so a re-post is answered 202 again and is still one case
// (invariant 2). Bad input gets a 4xx naming the problem; a store or
// Redis outage gets 503 with Retry-After, so that senders retry — never a
// code that makes a provider give up.
type FormHandler struct {
	Forms    map[string]*FormConfig
	Acceptor Acceptor
	Domain   string // our Message-ID domain
	// Tolerance is the replay window (default DefaultTolerance).
	Tolerance time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// Register adds the handler's route to mux.
func (h *FormHandler) Register(mux *http.ServeMux) {
	mux.Handle("POST /intake/forms/{form}", h)
}

// answer is the JSON body of every reply.
type answer struct {
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	Field     string `json:"field,omitempty"`
	InboundID int64  `json:"inbound_id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

func (h *FormHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("form")
	form, ok := h.Forms[name]
	if !ok {
		h.reply(w, r, name, http.StatusNotFound, answer{Status: "refused", Error: "no such form"})
		return
	}
	limit := form.MaxBodyBytes
	if limit <= 0 {
		limit = 10 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.reply(w, r, name, http.StatusRequestEntityTooLarge, answer{Status: "refused", Error: fmt.Sprintf("body over %d bytes", limit)})
		return
	case err != nil:
		h.reply(w, r, name, http.StatusBadRequest, answer{Status: "refused", Error: "unreadable body"})
		return
	}
	tol := h.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	id, err := Verify(r.Header, body, h.Now(), tol, form.Keys...)
	if err != nil {
		h.reply(w, r, name, http.StatusUnauthorized, answer{Status: "refused", Error: err.Error()})
		return
	}
	ct := r.Header.Get("Content-Type")
	f, err := ParseForm(ct, body, form.Limits)
	if err != nil {
		h.refuse(w, r, name, err)
		return
	}
	raw, err := ToMessage(f, form.Mapping, Envelope{Form: name, Key: id, Received: h.Now(), Domain: h.Domain, ContentType: ct, Payload: body})
	if err != nil {
		h.refuse(w, r, name, err)
		return
	}
	sum := sha256.Sum256([]byte(id))
	res, err := h.Acceptor.Accept(r.Context(), intake.Submission{
		Channel:   message.ChannelForm,
		Source:    "form:" + name,
		SourceKey: "form:" + name + ":" + hex.EncodeToString(sum[:16]),
		Intent:    form.Intent,
		Queue:     form.Queue,
		Raw:       raw,
	})
	switch {
	case errors.Is(err, intake.ErrTooLarge):
		h.reply(w, r, name, http.StatusRequestEntityTooLarge, answer{Status: "refused", Error: err.Error()})
	case err != nil:
		// Not accepted: the sender must keep it and try again.
		h.Log.Warn("form submission not accepted; asked to retry", "form", name, "webhook_id", id, "err", err)
		w.Header().Set("Retry-After", "30")
		h.reply(w, r, name, http.StatusServiceUnavailable, answer{Status: "retry", Error: "temporarily unable to accept; retry later"})
	default:
		h.reply(w, r, name, http.StatusAccepted, answer{Status: "accepted", InboundID: res.InboundID, Duplicate: res.Duplicate})
	}
}

// refuse answers a submission's own fault: 400, 413 or 415.
func (h *FormHandler) refuse(w http.ResponseWriter, r *http.Request, form string, err error) {
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		h.reply(w, r, form, http.StatusBadRequest, answer{Status: "refused", Error: fe.Reason, Field: fe.Field})
	case errors.Is(err, ErrTooLarge):
		h.reply(w, r, form, http.StatusRequestEntityTooLarge, answer{Status: "refused", Error: err.Error()})
	case errors.Is(err, ErrUnsupportedType):
		h.reply(w, r, form, http.StatusUnsupportedMediaType, answer{Status: "refused", Error: err.Error()})
	default:
		h.reply(w, r, form, http.StatusBadRequest, answer{Status: "refused", Error: err.Error()})
	}
}

// reply writes a JSON answer and logs every refusal with its reason.
func (h *FormHandler) reply(w http.ResponseWriter, r *http.Request, form string, code int, a answer) {
	if code >= 400 {
		h.Log.LogAttrs(r.Context(), slog.LevelInfo, "form submission refused",
			slog.String("form", form), slog.Int("status", code), slog.String("reason", a.Error),
			slog.String("field", a.Field), slog.String("remote", r.RemoteAddr))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(a)
}
