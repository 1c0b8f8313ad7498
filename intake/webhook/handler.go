package webhook

import (
	"context"
	"fmt"
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
	// AllowedOrigins are the web origins ("https://www.example.com") whose
	// pages may post the form from a browser, unsigned, with a token from
	// GET /intake/forms/{form}/token (see browser.go). Empty: signed posts
	// only.
	AllowedOrigins []string
}

// FormHandler serves POST /intake/forms/{form}: a signed submission —
// or, for a form with allowed origins, an unsigned one from a browser on
// one of them with a valid token (browser.go) — is parsed, rendered as a message and accepted durably before it is
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

// Register adds the handler's routes to mux: the form posts, the browser
// token (GET /intake/forms/{form}/token) and the CORS preflights of both.
func (h *FormHandler) Register(mux *http.ServeMux) {
	mux.Handle("POST /intake/forms/{form}", h)
	mux.HandleFunc("GET /intake/forms/{form}/token", h.serveToken)
	mux.HandleFunc("OPTIONS /intake/forms/{form}", h.servePreflight)
	mux.HandleFunc("OPTIONS /intake/forms/{form}/token", h.servePreflight)
}

func (h *FormHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := h.responder()
	name := r.PathValue("form")
	form, ok := h.form(w, r, p, name)
	if !ok {
		return
	}
	// Signed posts are taken from anywhere, as ever; an unsigned post with
	// an Origin is a browser's, for a form that takes them; any other
	// unsigned post is refused before its body is read.
	origin, allowed := cors(w, r, form)
	browser := !signed(r.Header) && form.browser() && origin != ""
	switch {
	case browser && !checkBrowser(w, r, p, name, form, origin, allowed):
		return
	case !browser && !signed(r.Header):
		msg := ErrMissingHeaders.Error()
		if form.browser() {
			msg = "unsigned post without an Origin header: sign it (webhook-id, webhook-timestamp, webhook-signature) or post it from a page of an allowed origin"
		}
		p.refused(w, r, name, http.StatusUnauthorized, ReasonSignature, msg)
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
	ct := r.Header.Get("Content-Type")
	var (
		f       *Form
		id      string
		payload = body
	)
	if browser {
		if f, id, payload, ok = h.browserSubmission(w, r, p, name, form, origin, body); !ok {
			return
		}
	} else {
		tol := h.Tolerance
		if tol <= 0 {
			tol = DefaultTolerance
		}
		var err error
		if id, err = Verify(r.Header, body, h.Now(), tol, form.Keys...); err != nil {
			p.refused(w, r, name, http.StatusUnauthorized, ReasonSignature, err.Error())
			return
		}
		if f, err = ParseForm(ct, body, form.Limits); err != nil {
			p.refuse(w, r, name, err)
			return
		}
	}
	raw, err := ToMessage(f, form.Mapping, Envelope{Form: name, Key: id, Received: h.Now(), Domain: h.Domain, ContentType: ct, Payload: payload})
	if err != nil {
		p.refuse(w, r, name, err)
		return
	}
	p.accept(w, r, name, h.Acceptor, intake.Submission{
		Channel:   message.ChannelForm,
		Source:    "form:" + name,
		SourceKey: sourceKey("form:"+name, id),
		Intent:    form.Intent,
		Queue:     form.Queue,
		Reserve:   true, // the 202 tells the submitter the case or order number
		Raw:       raw,
	})
}

// signed tells whether a request carries any Standard Webhooks header:
// then it is a signed post, checked as such whatever its origin.
func signed(h http.Header) bool {
	return h.Get(HeaderID) != "" || h.Get(HeaderTimestamp) != "" || h.Get(HeaderSignature) != ""
}

// unknownForm is the endpoint label of requests for a form we do not
// have: the name is the client's to choose, so it goes into the error,
// not into the counters' labels.
const unknownForm = "(unknown)"

// form finds the form called name, or answers 404.
func (h *FormHandler) form(w http.ResponseWriter, r *http.Request, p *responder, name string) (*FormConfig, bool) {
	form, ok := h.Forms[name]
	if !ok {
		p.refused(w, r, unknownForm, http.StatusNotFound, ReasonNotFound, fmt.Sprintf("no such form: %q", name))
	}
	return form, ok
}

func (h *FormHandler) responder() *responder {
	return &responder{channel: "form", log: h.Log, counters: h.Counters}
}
