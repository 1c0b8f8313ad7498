package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Browser posts. A web page cannot hold a form's signing secret, so a
// form with allowed origins also takes unsigned posts from a browser when
// the Origin header is exactly one of them and the post carries a token
// the page fetched from GET /intake/forms/{form}/token. The token is an
// HMAC under a key derived from the form's signing key, bound to the form
// and the origin, valid for BrowserTokenTTL; it proves that the post
// comes from a page of an allowed origin that asked for it (another
// site's page can neither read a token — the token endpoint answers CORS
// only to allowed origins — nor forge one), and its nonce makes a double
// click one case. Bots can fetch tokens like pages do: the per-client
// rate limit, not the token, is the defence against floods.

// BrowserTokenTTL is how long a browser token is valid.
const BrowserTokenTTL = 2 * time.Hour

// HeaderToken and TokenField carry a browser token: as a header (fetch
// with JSON), or as a form field (an HTML form's hidden input). The field
// is removed before the submission is rendered.
const (
	HeaderToken = "X-Frontdesk-Token"
	TokenField  = "_token"
)

// Reasons of the browser endpoints' successful answers.
const (
	ReasonToken     = "token_issued"
	ReasonPreflight = "preflight"
)

// Errors of browser token verification; each is answered 403 with
// ReasonCSRF (the page fetches a new token and posts again).
var (
	ErrTokenMissing   = errors.New("webhook: no browser token: fetch one from GET /intake/forms/{form}/token and send it as header X-Frontdesk-Token or field _token")
	ErrTokenMalformed = errors.New("webhook: browser token malformed")
	ErrTokenSignature = errors.New("webhook: browser token not ours (tampered, or the key changed)")
	ErrTokenExpired   = errors.New("webhook: browser token expired: fetch a new one")
	ErrTokenForm      = errors.New("webhook: browser token is for another form")
	ErrTokenOrigin    = errors.New("webhook: browser token is for another origin")
)

// Token layout, before base64url: version, form name (1-byte length),
// origin (2-byte length), expiry (unix seconds, 8 bytes), nonce, then the
// HMAC-SHA256 of all that.
const (
	tokenVersion  = 1
	nonceLen      = 16
	maxTokenChars = 2048
	tokenKeyLabel = "frontdesk browser token v1"
)

// tokenKey derives the browser-token key from a form's signing key, so
// that a token's MAC can never be mistaken for a webhook signature.
func tokenKey(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenKeyLabel))
	return m.Sum(nil)
}

// NewBrowserToken issues a token for posting form from origin, signed
// under the form's signing key, and returns it with its expiry
// (now + BrowserTokenTTL, whole seconds).
func NewBrowserToken(key []byte, form, origin string, now time.Time) (token string, expires time.Time) {
	form, origin = form[:min(len(form), 255)], origin[:min(len(origin), 1024)]
	expires = now.Add(BrowserTokenTTL).Truncate(time.Second)
	b := make([]byte, 0, 1+1+len(form)+2+len(origin)+8+nonceLen+sha256.Size)
	b = append(b, tokenVersion, byte(len(form)))
	b = append(b, form...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(origin)))
	b = append(b, origin...)
	b = binary.BigEndian.AppendUint64(b, uint64(expires.Unix()))
	nonce := make([]byte, nonceLen)
	_, _ = rand.Read(nonce) // never fails (crypto/rand since Go 1.24)
	b = append(b, nonce...)
	m := hmac.New(sha256.New, tokenKey(key))
	m.Write(b)
	b = m.Sum(b)
	return base64.RawURLEncoding.EncodeToString(b), expires
}

// VerifyBrowserToken checks token for a post to form from origin at now,
// under any of the form's keys (several during a rotation: tokens issued
// under the old secret stay good), in constant time, and returns its
// nonce. A token whose expiry is further ahead than BrowserTokenTTL is
// refused too.
func VerifyBrowserToken(token, form, origin string, now time.Time, keys ...[]byte) (nonce []byte, err error) {
	if token == "" {
		return nil, ErrTokenMissing
	}
	if len(token) > maxTokenChars {
		return nil, ErrTokenMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+1+2+8+nonceLen+sha256.Size || b[0] != tokenVersion {
		return nil, ErrTokenMalformed
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	rest := body[1:]
	fl := int(rest[0])
	if len(rest) < 1+fl+2 {
		return nil, ErrTokenMalformed
	}
	tForm, rest := rest[1:1+fl], rest[1+fl:]
	ol := int(binary.BigEndian.Uint16(rest))
	if len(rest) != 2+ol+8+nonceLen {
		return nil, ErrTokenMalformed
	}
	tOrigin, rest := rest[2:2+ol], rest[2+ol:]
	exp := int64(binary.BigEndian.Uint64(rest))
	nonce = rest[8:]
	valid := false
	for _, key := range keys {
		m := hmac.New(sha256.New, tokenKey(key))
		m.Write(body)
		if hmac.Equal(m.Sum(nil), sum) {
			valid = true
			break
		}
	}
	switch {
	case !valid:
		return nil, ErrTokenSignature
	case string(tForm) != form:
		return nil, ErrTokenForm
	case string(tOrigin) != origin:
		return nil, ErrTokenOrigin
	case now.Unix() >= exp:
		return nil, ErrTokenExpired
	case exp-now.Unix() > int64(BrowserTokenTTL/time.Second):
		return nil, fmt.Errorf("%w (its expiry is further ahead than our clock allows)", ErrTokenExpired)
	}
	return slices.Clone(nonce), nil
}

// browser tells whether form takes browser posts.
func (form *FormConfig) browser() bool {
	return len(form.AllowedOrigins) > 0 && len(form.Keys) > 0
}

// allows tells whether origin is one of the form's allowed origins: an
// exact match, but for the case of scheme and host, which browsers send
// in lower case whatever the configuration says.
func (form *FormConfig) allows(origin string) bool {
	return slices.ContainsFunc(form.AllowedOrigins, func(o string) bool { return strings.EqualFold(o, origin) })
}

// cors sets the CORS headers of an answer about form: Vary: Origin when
// the form takes browser posts, and Access-Control-Allow-Origin (the
// request's exact origin) when the request comes from an allowed origin.
// It returns the request's origin and whether it is allowed.
func cors(w http.ResponseWriter, r *http.Request, form *FormConfig) (origin string, allowed bool) {
	origin = r.Header.Get("Origin")
	if !form.browser() {
		return origin, false
	}
	w.Header().Add("Vary", "Origin")
	if origin == "" || !form.allows(origin) {
		return origin, false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
	return origin, true
}

// checkBrowser refuses, 403 with ReasonOrigin, a browser request to form
// that does not come from an allowed origin. Sec-Fetch-Site is a second
// signal where a browser sends it: "none" means no page made the request.
func checkBrowser(w http.ResponseWriter, r *http.Request, p *responder, name string, form *FormConfig, origin string, allowed bool) bool {
	var msg string
	switch {
	case !form.browser():
		msg = "this form takes signed posts only"
	case origin == "":
		msg = "no Origin header"
	case !allowed:
		msg = fmt.Sprintf("origin %q may not post this form", origin)
	case r.Header.Get("Sec-Fetch-Site") == "none":
		msg = "not a request from a web page (Sec-Fetch-Site: none)"
	default:
		return true
	}
	w.Header().Del("Access-Control-Allow-Origin")
	w.Header().Del("Access-Control-Expose-Headers")
	p.refused(w, r, name, http.StatusForbidden, ReasonOrigin, msg)
	return false
}

// browserRequest finds the form of a token fetch or preflight and checks
// its origin (setting the CORS headers); on failure it has answered.
func (h *FormHandler) browserRequest(w http.ResponseWriter, r *http.Request) (p *responder, name string, form *FormConfig, origin string, ok bool) {
	p = h.responder()
	name = r.PathValue("form")
	if form, ok = h.form(w, r, p, name); !ok {
		return p, name, nil, "", false
	}
	origin, allowed := cors(w, r, form)
	return p, name, form, origin, checkBrowser(w, r, p, name, form, origin, allowed)
}

// serveToken serves GET /intake/forms/{form}/token to pages of the form's
// allowed origins: {"token": "...", "expires": RFC 3339}, never cached.
func (h *FormHandler) serveToken(w http.ResponseWriter, r *http.Request) {
	p, name, form, origin, ok := h.browserRequest(w, r)
	if !ok {
		return
	}
	token, expires := NewBrowserToken(form.Keys[0], name, origin, h.Now())
	p.counters.add(p.channel, name, http.StatusOK, ReasonToken)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(struct {
		Token   string `json:"token"`
		Expires string `json:"expires"`
	}{token, expires.UTC().Format(time.RFC3339)})
}

// servePreflight answers the CORS preflight (OPTIONS) of the form and
// token routes: 204 with the allowed methods and headers for an allowed
// origin, 403 otherwise.
func (h *FormHandler) servePreflight(w http.ResponseWriter, r *http.Request) {
	p, name, _, _, ok := h.browserRequest(w, r)
	if !ok {
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Methods", "GET, POST")
	hd.Set("Access-Control-Allow-Headers", "Content-Type, "+HeaderToken)
	hd.Set("Access-Control-Max-Age", "7200")
	p.counters.add(p.channel, name, http.StatusNoContent, ReasonPreflight)
	w.WriteHeader(http.StatusNoContent)
}

// browserSubmission checks and parses an unsigned post from an allowed
// origin (already checked): the token (header, else field) must be valid
// for this form and origin. It returns the form without the token field,
// the idempotency key and the payload to keep (without the token); on
// failure it has answered.
//
// The idempotency key of a browser post is the token's nonce together
// with a hash of the submission's content — its fields (by name, values
// in order, without the token) and files — rather than of the raw bytes,
// whose multipart boundary a browser draws anew for every post. So a
// double click, or a retry after a lost answer, posting the same form
// with the same token is one case (answered 202 with duplicate:true); a
// different submission with the same token, or the same one with a new
// token (a page loaded again), is a new case.
func (h *FormHandler) browserSubmission(w http.ResponseWriter, r *http.Request, p *responder, name string, form *FormConfig, origin string, body []byte) (f *Form, key string, payload []byte, ok bool) {
	now := h.Now()
	// verify checks a token; on failure it has answered.
	verify := func(token string) ([]byte, bool) {
		nonce, err := VerifyBrowserToken(token, name, origin, now, form.Keys...)
		if err != nil {
			p.refused(w, r, name, http.StatusForbidden, ReasonCSRF, err.Error())
			return nil, false
		}
		return nonce, true
	}
	var nonce []byte
	if token := r.Header.Get(HeaderToken); token != "" { // checked before the body is parsed
		if nonce, ok = verify(token); !ok {
			return nil, "", nil, false
		}
	}
	ct := r.Header.Get("Content-Type")
	f, err := ParseForm(ct, body, form.Limits)
	if err != nil {
		p.refuse(w, r, name, err)
		return nil, "", nil, false
	}
	fieldToken := takeToken(f)
	if nonce == nil {
		if nonce, ok = verify(fieldToken); !ok {
			return nil, "", nil, false
		}
	}
	return f, browserKey(nonce, f), withoutToken(ct, body), true
}

// takeToken removes the token field from f and returns its first value.
func takeToken(f *Form) string {
	vals, ok := f.Fields[TokenField]
	if !ok {
		return ""
	}
	delete(f.Fields, TokenField)
	f.Order = slices.DeleteFunc(f.Order, func(n string) bool { return n == TokenField })
	if len(vals) == 0 {
		return ""
	}
	return strings.TrimSpace(vals[0])
}

// browserKey is the idempotency key of a browser post: its token's nonce
// and a hash of its content (see browserSubmission).
func browserKey(nonce []byte, f *Form) string {
	return "browser:" + base64.RawURLEncoding.EncodeToString(nonce) + ":" + formHash(f)
}

// withoutToken is a URL-encoded or JSON payload without its token field
// (the rest of a URL-encoded body verbatim; a JSON object re-encoded with
// its keys sorted and its values verbatim), kept as the message's copy of
// the submission; other payloads as they are.
func withoutToken(contentType string, body []byte) []byte {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		pairs := strings.Split(string(body), "&")
		kept := pairs[:0]
		for _, pair := range pairs {
			k, _, _ := strings.Cut(pair, "=")
			if name, err := url.QueryUnescape(k); err == nil && name == TokenField {
				continue
			}
			kept = append(kept, pair)
		}
		return []byte(strings.Join(kept, "&"))
	case "application/json":
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return body
		}
		if _, ok := obj[TokenField]; !ok {
			return body
		}
		delete(obj, TokenField)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(obj) != nil {
			return body
		}
		return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	return body
}
