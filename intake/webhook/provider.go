package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/message"
)

// Inbound-mail providers: ProviderConfig.Provider, the first segment of
// an endpoint's path after /intake/, and its channel in counters.
const (
	ProviderMailgun  = "mailgun"
	ProviderSendGrid = "sendgrid"
	ProviderPostmark = "postmark"
)

// DefaultProviderBodyBytes bounds one provider post when the endpoint sets
// no MaxBodyBytes (the providers stop at 25–35 MB per message).
const DefaultProviderBodyBytes = 40 << 20

// unknownEndpoint is the endpoint label of a post to a path that names no
// endpoint: the path is the sender's, and labels must stay few.
const unknownEndpoint = "(unknown)"

// ProviderConfig is one endpoint an inbound-mail provider posts received
// mail to (config.InboundWebhook as the handler uses it).
type ProviderConfig struct {
	Name     string
	Provider string // ProviderMailgun, ProviderSendGrid or ProviderPostmark
	// SigningKey is Mailgun's HTTP webhook signing key (mailgun: required).
	SigningKey []byte
	// URLSecret is the last path segment SendGrid posts to,
	// /intake/sendgrid/<name>/<secret> (sendgrid: this, basic auth or both).
	URLSecret string
	// Username and Password are HTTP basic-auth credentials (postmark:
	// required; sendgrid: optional; mailgun: optional, on top of the
	// signature). When both a URL secret and basic auth are set, a post
	// needs both.
	Username, Password string
	Intent             message.Intent
	Queue              string
	// MaxBodyBytes bounds one post, attachments included; default
	// DefaultProviderBodyBytes.
	MaxBodyBytes int64
	// Limits bound the fields and files of a form post; zero fields
	// default to what MaxBodyBytes allows (one field or file may be the
	// whole post: a raw message, a large attachment), 1000 fields and 100
	// files.
	Limits Limits
	// ReplayWindow is how old a Mailgun signature's timestamp may be
	// (one ahead of our clock by more than DefaultTolerance is always
	// refused); 0 means the handler's MaxAge.
	ReplayWindow time.Duration
}

// Check reports a configuration the handler would refuse every post of,
// or would leave open: endpoints fail closed, but start-up should say so.
func (c *ProviderConfig) Check() error {
	var problems []error
	if c.Name == "" {
		problems = append(problems, errors.New("no name"))
	}
	if (c.Username == "") != (c.Password == "") {
		problems = append(problems, errors.New("username and password go together"))
	}
	switch c.Provider {
	case ProviderMailgun:
		if len(c.SigningKey) == 0 {
			problems = append(problems, errors.New("mailgun needs its signing key"))
		}
	case ProviderSendGrid:
		if c.URLSecret == "" && c.Username == "" {
			problems = append(problems, errors.New("sendgrid needs a URL secret or basic auth (it signs nothing)"))
		}
	case ProviderPostmark:
		if c.Username == "" {
			problems = append(problems, errors.New("postmark needs basic auth"))
		}
	default:
		problems = append(problems, fmt.Errorf("unknown provider %q", c.Provider))
	}
	if c.Intent != "" && !c.Intent.Valid() {
		problems = append(problems, fmt.Errorf("unknown intent %q", c.Intent))
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("webhook: endpoint %s/%s: %w", c.Provider, c.Name, err)
	}
	return nil
}

func (c *ProviderConfig) maxBody() int64 {
	if c.MaxBodyBytes > 0 {
		return c.MaxBodyBytes
	}
	return DefaultProviderBodyBytes
}

func (c *ProviderConfig) limits() Limits {
	l, body := c.Limits, c.maxBody()
	if l.MaxFields <= 0 {
		l.MaxFields = 1000
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = int(min(body, 1<<30))
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 100
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = body
	}
	return l
}

// ProviderKey is the key of an endpoint in ProviderHandler.Endpoints.
func ProviderKey(provider, name string) string { return provider + "/" + name }

// ProviderHandler serves the inbound-mail providers' endpoints:
//
//	POST /intake/mailgun/{name}            Mailgun route forward() (signed form post)
//	POST /intake/sendgrid/{name}[/{secret}] SendGrid Inbound Parse (multipart)
//	POST /intake/postmark/{name}           Postmark inbound webhook (JSON, basic auth)
//
// A post is authenticated, rendered as an RFC 5322 message and accepted
// durably before it is answered 202 (DESIGN.md invariant 1). Its
// idempotency key — Mailgun's token, Postmark's MessageID, the message's
// Message-ID for SendGrid, else a hash of the message — makes a re-post 202
// duplicate and still one case (invariant 2). A bad or missing credential
// is 401, bad input 400/413/415, an unknown endpoint 404, a store or Redis
// outage 503 with Retry-After: never 403 or 406, which make a provider
// drop the mail.
type ProviderHandler struct {
	// Endpoints are keyed by ProviderKey(provider, name); see Add.
	Endpoints map[string]*ProviderConfig
	Acceptor  Acceptor
	// MaxAge is how old a Mailgun signature may be unless an endpoint
	// says otherwise (default MailgunMaxAge).
	MaxAge   time.Duration
	Now      func() time.Time // default time.Now
	Log      *slog.Logger     // default: discard
	Counters *Counters        // may be nil
}

// Add checks c and adds it to the endpoints; an empty Intent is
// message.IntentCase and an empty Queue the endpoint's name.
func (h *ProviderHandler) Add(c ProviderConfig) error {
	if err := c.Check(); err != nil {
		return err
	}
	if c.Intent == "" {
		c.Intent = message.IntentCase
	}
	if c.Queue == "" {
		c.Queue = c.Name
	}
	key := ProviderKey(c.Provider, c.Name)
	if _, dup := h.Endpoints[key]; dup {
		return fmt.Errorf("webhook: endpoint %s defined twice", key)
	}
	if h.Endpoints == nil {
		h.Endpoints = map[string]*ProviderConfig{}
	}
	h.Endpoints[key] = &c
	return nil
}

// Register adds the handler's routes to mux.
func (h *ProviderHandler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /intake/mailgun/{name}", h.serve(ProviderMailgun, h.mailgun))
	mux.HandleFunc("POST /intake/sendgrid/{name}", h.serve(ProviderSendGrid, h.sendgrid))
	mux.HandleFunc("POST /intake/sendgrid/{name}/{secret}", h.serve(ProviderSendGrid, h.sendgrid))
	mux.HandleFunc("POST /intake/postmark/{name}", h.serve(ProviderPostmark, h.postmark))
}

// render authenticates what it must of a post's body and renders it as a
// message with its idempotency key; on failure it has answered.
type render func(w http.ResponseWriter, r *http.Request, p *responder, ep *ProviderConfig, body []byte) (raw []byte, key string, ok bool)

func (h *ProviderHandler) serve(provider string, rend render) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		log := h.Log
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		p := &responder{channel: provider, log: log, counters: h.Counters}
		ep := h.Endpoints[ProviderKey(provider, r.PathValue("name"))]
		if ep == nil || ep.Provider != provider {
			p.refused(w, r, unknownEndpoint, http.StatusNotFound, ReasonNotFound, "no such endpoint")
			return
		}
		name := ep.Name // never the path: it may hold the URL secret
		if !h.authorised(w, r, p, ep) {
			return
		}
		body, ok := p.readBody(w, r, name, ep.maxBody())
		if !ok {
			return
		}
		raw, key, ok := rend(w, r, p, ep, body)
		if !ok {
			return
		}
		p.accept(w, r, name, h.Acceptor, intake.Submission{
			Channel:   message.ChannelWebhook,
			Source:    provider + ":" + name,
			SourceKey: sourceKey(provider+":"+name, key),
			Intent:    ep.Intent,
			Queue:     ep.Queue,
			Raw:       raw,
		})
	}
}

// authorised checks the credentials carried outside the body: the URL
// secret and basic auth, each when configured (an endpoint with neither
// where its provider needs one refuses everything). On failure it has
// answered 401, with a Basic challenge when basic auth is configured.
func (h *ProviderHandler) authorised(w http.ResponseWriter, r *http.Request, p *responder, ep *ProviderConfig) bool {
	ok := true
	switch ep.Provider {
	case ProviderSendGrid:
		if ep.URLSecret != "" || r.PathValue("secret") != "" {
			ok = ep.URLSecret != "" && equalSecret(r.PathValue("secret"), ep.URLSecret)
		}
		ok = ok && (ep.URLSecret != "" || ep.Username != "")
	case ProviderPostmark:
		ok = ep.Username != ""
	}
	if ep.Username != "" {
		user, pass, given := r.BasicAuth()
		// Both compared every time: how far a guess got takes no longer.
		u, pw := equalSecret(user, ep.Username), equalSecret(pass, ep.Password)
		ok = ok && given && u && pw && ep.Password != ""
	}
	if ok {
		return true
	}
	if ep.Username != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="frontdesk"`)
	}
	p.refused(w, r, ep.Name, http.StatusUnauthorized, ReasonAuth, "missing or wrong credentials")
	return false
}

// equalSecret compares a given secret with the configured one in time
// that depends on neither (hashes first: ConstantTimeCompare returns early
// on a length mismatch).
func equalSecret(given, want string) bool {
	g, w := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// mailgun reads a route post (parsed or raw MIME; multipart when there are
// attachments, else URL encoded) and checks its signature: HMAC of its
// timestamp and token under the signing key, the timestamp within the
// replay window. The signature covers no content, so the token is the
// key: a replayed token is the same submission.
func (h *ProviderHandler) mailgun(w http.ResponseWriter, r *http.Request, p *responder, ep *ProviderConfig, body []byte) ([]byte, string, bool) {
	f, err := readProviderForm(r.Header.Get("Content-Type"), body, ep.limits(), "body-mime", "message-mime")
	if err != nil {
		p.refuse(w, r, ep.Name, err)
		return nil, "", false
	}
	maxAge := ep.ReplayWindow
	if maxAge <= 0 {
		maxAge = h.MaxAge
	}
	if maxAge <= 0 {
		maxAge = MailgunMaxAge
	}
	err = ErrSecret
	if len(ep.SigningKey) > 0 {
		now := time.Now
		if h.Now != nil {
			now = h.Now
		}
		err = VerifyMailgun(ep.SigningKey, f.Value("timestamp"), f.Value("token"), f.Value("signature"), now(), maxAge)
	}
	if err != nil {
		p.refused(w, r, ep.Name, http.StatusUnauthorized, ReasonSignature, err.Error())
		return nil, "", false
	}
	raw, key, err := MailgunMessage(f)
	if err != nil {
		p.refuse(w, r, ep.Name, err)
		return nil, "", false
	}
	return raw, key, true
}

// sendgrid reads an Inbound Parse post (multipart, parsed or raw mode).
func (h *ProviderHandler) sendgrid(w http.ResponseWriter, r *http.Request, p *responder, ep *ProviderConfig, body []byte) ([]byte, string, bool) {
	f, err := readProviderForm(r.Header.Get("Content-Type"), body, ep.limits(), "email")
	if err == nil {
		var raw []byte
		var key string
		if raw, key, err = SendGridMessage(f); err == nil {
			return raw, key, true
		}
	}
	p.refuse(w, r, ep.Name, err)
	return nil, "", false
}

// postmark reads an inbound webhook post (JSON, with or without RawEmail).
func (h *ProviderHandler) postmark(w http.ResponseWriter, r *http.Request, p *responder, ep *ProviderConfig, body []byte) ([]byte, string, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			p.refuse(w, r, ep.Name, fmt.Errorf("%w: %q", ErrUnsupportedType, ct))
			return nil, "", false
		}
	}
	raw, key, err := PostmarkMessage(body)
	if err != nil {
		p.refuse(w, r, ep.Name, err)
		return nil, "", false
	}
	return raw, key, true
}
