package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	Counters  *Counters // may be nil
}

// Register adds the handler's route to mux.
func (h *FormHandler) Register(mux *http.ServeMux) {
	mux.Handle("POST /intake/forms/{form}", h)
}

func (h *FormHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := h.responder()
	name := r.PathValue("form")
	form, ok := h.Forms[name]
	if !ok {
		p.refused(w, r, name, http.StatusNotFound, ReasonNotFound, "no such form")
		return
	}
	limit := form.MaxBodyBytes
	if limit <= 0 {
		limit = 10 << 20
	}
	body, ok := p.readBody(w, r, name, limit)
	if !ok {
		return
	}
	tol := h.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	id, err := Verify(r.Header, body, h.Now(), tol, form.Keys...)
	if err != nil {
		p.refused(w, r, name, http.StatusUnauthorized, ReasonSignature, err.Error())
		return
	}
	ct := r.Header.Get("Content-Type")
	f, err := ParseForm(ct, body, form.Limits)
	if err != nil {
		p.refuse(w, r, name, err)
		return
	}
	raw, err := ToMessage(f, form.Mapping, Envelope{Form: name, Key: id, Received: h.Now(), Domain: h.Domain, ContentType: ct, Payload: body})
	if err != nil {
		p.refuse(w, r, name, err)
		return
	}
	sum := sha256.Sum256([]byte(id))
	p.accept(w, r, name, h.Acceptor, intake.Submission{
		Channel:   message.ChannelForm,
		Source:    "form:" + name,
		SourceKey: "form:" + name + ":" + hex.EncodeToString(sum[:16]),
		Intent:    form.Intent,
		Queue:     form.Queue,
		Raw:       raw,
	})
}

func (h *FormHandler) responder() *responder {
	return &responder{channel: "form", log: h.Log, counters: h.Counters}
}
