package webhook_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/frontdesk/frontdesk/intake/webhook"
)

// reply is an answer as a test reads it.
type reply struct {
	code int
	body map[string]any
	hdr  http.Header
}

// do sends one request to the rig with headers hdr.
func (r *rig) do(t *testing.T, method, path string, hdr map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return reply{resp.StatusCode, out, resp.Header}
}

// token fetches a browser token for form as a page of origin would.
func (r *rig) token(t *testing.T, form, origin string) string {
	t.Helper()
	a := r.do(t, http.MethodGet, "/intake/forms/"+form+"/token", map[string]string{"Origin": origin, "Sec-Fetch-Site": "cross-site"}, "")
	tok, _ := a.body["token"].(string)
	if a.code != http.StatusOK || tok == "" {
		t.Fatalf("token for %s from %s: %d %v", form, origin, a.code, a.body)
	}
	return tok
}

// browserPost posts body to form as a page of origin would: unsigned,
// with the token in header X-Frontdesk-Token unless headerToken is "".
func (r *rig) browserPost(t *testing.T, form, origin, ct, body, headerToken string) reply {
	t.Helper()
	hdr := map[string]string{"Content-Type": ct, "Sec-Fetch-Site": "cross-site"}
	if origin != "" {
		hdr["Origin"] = origin
	}
	if headerToken != "" {
		hdr[webhook.HeaderToken] = headerToken
	}
	return r.do(t, http.MethodPost, "/intake/forms/"+form, hdr, body)
}

// urlencoded is a contact submission as an HTML form posts it.
func urlencoded(token, msg string) string {
	v := url.Values{"email": {"ann@example.net"}, "name": {"Ann"}, "message": {msg}, "order": {"A-17"}}
	if token != "" {
		v.Set(webhook.TokenField, token)
	}
	return v.Encode()
}

// decoded is the header and every decoded part of a raw message.
func decoded(t *testing.T, raw []byte) string {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for k, v := range mr.Header.Map() {
		fmt.Fprintf(&b, "%s: %s\n", k, v)
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p.Body)
		b.Write(body)
		b.WriteString("\n")
	}
}

func inboundID(t *testing.T, a reply) int64 {
	t.Helper()
	id, ok := a.body["inbound_id"].(float64)
	if a.code != http.StatusAccepted || !ok {
		t.Fatalf("not accepted: %d %v", a.code, a.body)
	}
	return int64(id)
}

func TestBrowserFlow(t *testing.T) {
	r := newRig(t)
	const form = "application/x-www-form-urlencoded"

	a := r.do(t, http.MethodGet, "/intake/forms/web/token", map[string]string{"Origin": originWWW}, "")
	if a.code != http.StatusOK || a.hdr.Get("Cache-Control") != "no-store" ||
		a.hdr.Get("Access-Control-Allow-Origin") != originWWW || !strings.Contains(strings.Join(a.hdr.Values("Vary"), ","), "Origin") {
		t.Fatalf("token answer: %d %v %v", a.code, a.body, a.hdr)
	}
	if exp := a.body["expires"]; exp != r.now.Add(2*time.Hour).Format(time.RFC3339) {
		t.Errorf("expires %v, want two hours on", exp)
	}
	tok := a.body["token"].(string)

	// An HTML form: the token in field _token, Origin set by the browser.
	body := urlencoded(tok, "The lid cracked.")
	a = r.browserPost(t, "web", originWWW, form, body, "")
	first := inboundID(t, a)
	if a.body["duplicate"] == true || a.hdr.Get("Access-Control-Allow-Origin") != originWWW {
		t.Fatalf("first post: %v %v", a.body, a.hdr)
	}
	in, err := r.db.Inbound(t.Context(), first)
	if err != nil || in.Source != "form:web" {
		t.Fatalf("ledger row %+v %v", in, err)
	}
	raw, err := r.blobs.Get(t.Context(), in.Blob)
	if err != nil {
		t.Fatal(err)
	}
	text := decoded(t, raw)
	if strings.Contains(text, webhook.TokenField) || strings.Contains(text, tok) {
		t.Errorf("the token is in the stored message:\n%s", text)
	}
	if !strings.Contains(text, "order: A-17") || !strings.Contains(text, "message=The+lid+cracked.") {
		t.Errorf("the other fields or the payload are missing:\n%s", text)
	}

	// A double click: the same token and content are the same case.
	a = r.browserPost(t, "web", originWWW, form, body, "")
	if inboundID(t, a) != first || a.body["duplicate"] != true {
		t.Fatalf("double click: %v", a.body)
	}
	// The same content with the token in the header instead: still one.
	a = r.browserPost(t, "web", originWWW, form, urlencoded("", "The lid cracked."), tok)
	if inboundID(t, a) != first {
		t.Fatalf("token as header: %v", a.body)
	}
	// Something else written with the same token is a new case.
	second := inboundID(t, r.browserPost(t, "web", originWWW, form, urlencoded(tok, "And the handle."), ""))
	if second == first {
		t.Fatal("a different submission with the same token was taken as a duplicate")
	}

	// fetch() with JSON and the token in the header.
	tok2 := r.token(t, "web", originShop)
	third := inboundID(t, r.browserPost(t, "web", originShop, "application/json",
		`{"email":"bob@example.net","message":"Where is my order?"}`, tok2))
	if third == second {
		t.Fatal("JSON post not a new case")
	}

	// Multipart from a browser: every post has a new boundary, yet a
	// double click is one case.
	var ids []int64
	for range 2 {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("email", "cy@example.net")
		_ = mw.WriteField("message", "Photo attached.")
		_ = mw.WriteField(webhook.TokenField, tok2)
		fw, _ := mw.CreateFormFile("photo", "lid.jpg")
		_, _ = fw.Write([]byte("\xff\xd8\xff not really a jpeg"))
		_ = mw.Close()
		ids = append(ids, inboundID(t, r.browserPost(t, "web", originShop, mw.FormDataContentType(), b.String(), "")))
	}
	if ids[0] != ids[1] || ids[0] == third {
		t.Fatalf("multipart double click: inbound ids %v (JSON post was %d)", ids, third)
	}

	if got := r.counters.Count("form", "web", http.StatusOK, webhook.ReasonToken); got != 2 {
		t.Errorf("tokens counted %v, want 2", got)
	}
	if got := r.counters.Count("form", "web", http.StatusAccepted, webhook.ReasonDuplicate); got != 3 {
		t.Errorf("duplicates counted %v, want 3", got)
	}
}

func TestBrowserRefusals(t *testing.T) {
	r := newRig(t)
	const form = "application/x-www-form-urlencoded"
	good := r.token(t, "web", originWWW)
	shop := r.token(t, "web", originShop)
	tamperedOrigin := func() string {
		// The token of originShop with its origin bytes rewritten to
		// originWWW's (same length): valid base64, MAC no longer matches.
		b, _ := base64.RawURLEncoding.DecodeString(shop)
		b = bytes.Replace(b, []byte("shop.example.com"), []byte("www.example.comm"), 1)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	flip := []byte(good)
	flip[len(flip)/2] ^= 1

	for _, c := range []struct {
		name, origin, token, secFetch string
		code                          int
		reason, msg                   string
	}{
		{"origin not allowed", "https://evil.example", good, "", http.StatusForbidden, webhook.ReasonOrigin, "may not post"},
		{"origin allowed elsewhere only", "https://www.example.com:8443", good, "", http.StatusForbidden, webhook.ReasonOrigin, "may not post"},
		{"no origin", "", good, "", http.StatusUnauthorized, webhook.ReasonSignature, "Origin"},
		{"not from a page", originWWW, good, "none", http.StatusForbidden, webhook.ReasonOrigin, "Sec-Fetch-Site"},
		{"no token", originWWW, "", "", http.StatusForbidden, webhook.ReasonCSRF, "no browser token"},
		{"expired", originWWW, newToken(r.key, "web", originWWW, r.now.Add(-webhook.BrowserTokenTTL)), "", http.StatusForbidden, webhook.ReasonCSRF, "expired"},
		{"from the future", originWWW, newToken(r.key, "web", originWWW, r.now.Add(time.Hour)), "", http.StatusForbidden, webhook.ReasonCSRF, "further ahead"},
		{"another form", originWWW, newToken(r.key, "rotated", originWWW, r.now), "", http.StatusForbidden, webhook.ReasonCSRF, "another form"},
		{"another origin", originWWW, shop, "", http.StatusForbidden, webhook.ReasonCSRF, "another origin"},
		{"tampered origin", originWWW, tamperedOrigin(), "", http.StatusForbidden, webhook.ReasonCSRF, "not ours"},
		{"flipped bit", originWWW, string(flip), "", http.StatusForbidden, webhook.ReasonCSRF, "browser token"},
		{"another key", originWWW, newToken([]byte("a different key, 32 bytes long!!"), "web", originWWW, r.now), "", http.StatusForbidden, webhook.ReasonCSRF, "not ours"},
		{"garbage", originWWW, "not a token", "", http.StatusForbidden, webhook.ReasonCSRF, "malformed"},
	} {
		for _, inHeader := range []bool{false, true} {
			body, hdrTok := urlencoded(c.token, "hello"), ""
			if inHeader {
				body, hdrTok = urlencoded("", "hello"), c.token
			}
			hdr := map[string]string{"Content-Type": form}
			if c.origin != "" {
				hdr["Origin"] = c.origin
			}
			if c.secFetch != "" {
				hdr["Sec-Fetch-Site"] = c.secFetch
			}
			if hdrTok != "" {
				hdr[webhook.HeaderToken] = hdrTok
			}
			a := r.do(t, http.MethodPost, "/intake/forms/web", hdr, body)
			msg, _ := a.body["error"].(string)
			if a.code != c.code || a.body["reason"] != c.reason || !strings.Contains(msg, c.msg) {
				t.Errorf("%s (token in header %v): %d %v, want %d %s %q", c.name, inHeader, a.code, a.body, c.code, c.reason, c.msg)
			}
			if c.reason == webhook.ReasonOrigin && a.hdr.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s: CORS allowed to a refused origin", c.name)
			}
		}
	}

	// The token endpoint serves allowed origins only.
	for _, c := range []struct {
		name, form, origin string
		code               int
	}{
		{"origin not allowed", "web", "https://evil.example", http.StatusForbidden},
		{"no origin", "web", "", http.StatusForbidden},
		{"signed-only form", "contact", originWWW, http.StatusForbidden},
		{"no such form", "nope", originWWW, http.StatusNotFound},
	} {
		hdr := map[string]string{}
		if c.origin != "" {
			hdr["Origin"] = c.origin
		}
		a := r.do(t, http.MethodGet, "/intake/forms/"+c.form+"/token", hdr, "")
		if a.code != c.code || a.body["token"] != nil || a.hdr.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("token, %s: %d %v %v", c.name, a.code, a.body, a.hdr)
		}
	}

	// A form without allowed origins takes no browser posts at all.
	a := r.browserPost(t, "contact", originWWW, form, urlencoded(good, "hello"), "")
	if a.code != http.StatusUnauthorized || a.body["reason"] != webhook.ReasonSignature {
		t.Errorf("unsigned post to a signed-only form: %d %v", a.code, a.body)
	}

	// Nothing was stored: the next accepted submission is the first row.
	if id := inboundID(t, r.browserPost(t, "web", originWWW, form, urlencoded(good, "hello"), "")); id != 1 {
		t.Errorf("first accepted row is %d: refused posts were stored", id)
	}
}

// newToken is a token issued at now.
func newToken(key []byte, form, origin string, now time.Time) string {
	tok, _ := webhook.NewBrowserToken(key, form, origin, now)
	return tok
}

func TestBrowserTokenRotation(t *testing.T) {
	r := newRig(t)
	const form = "application/x-www-form-urlencoded"
	// Issued under the current key...
	tok := r.token(t, "rotated", originWWW)
	if _, err := webhook.VerifyBrowserToken(tok, "rotated", originWWW, r.now, r.newKey); err != nil {
		t.Fatalf("a new token is not under the current key: %v", err)
	}
	if _, err := webhook.VerifyBrowserToken(tok, "rotated", originWWW, r.now, r.key); err == nil {
		t.Fatal("a new token verifies under the old key")
	}
	inboundID(t, r.browserPost(t, "rotated", originWWW, form, urlencoded(tok, "new key"), ""))
	// ...and one issued under the old key before the rotation still works.
	inboundID(t, r.browserPost(t, "rotated", originWWW, form, urlencoded(newToken(r.key, "rotated", originWWW, r.now.Add(-time.Hour)), "old key"), ""))
	// Once the old secret is gone (form "web" knows only key), tokens
	// under another key are refused.
	a := r.browserPost(t, "web", originWWW, form, urlencoded(newToken(r.newKey, "web", originWWW, r.now), "x"), "")
	if a.code != http.StatusForbidden || a.body["reason"] != webhook.ReasonCSRF {
		t.Fatalf("token under a key the form does not have: %d %v", a.code, a.body)
	}
}

func TestBrowserPreflight(t *testing.T) {
	r := newRig(t)
	for _, path := range []string{"/intake/forms/web", "/intake/forms/web/token"} {
		a := r.do(t, http.MethodOptions, path, map[string]string{
			"Origin": originShop, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "content-type,x-frontdesk-token",
		}, "")
		h := a.hdr
		if a.code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != originShop ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "GET") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), webhook.HeaderToken) ||
			h.Get("Access-Control-Max-Age") == "" || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") ||
			h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight %s: %d %v", path, a.code, h)
		}
	}
	for _, c := range []struct {
		name, path, origin string
		code               int
	}{
		{"origin not allowed", "/intake/forms/web", "https://evil.example", http.StatusForbidden},
		{"null origin", "/intake/forms/web/token", "null", http.StatusForbidden},
		{"no origin", "/intake/forms/web", "", http.StatusForbidden},
		{"signed-only form", "/intake/forms/contact", originWWW, http.StatusForbidden},
		{"no such form", "/intake/forms/nope", originWWW, http.StatusNotFound},
	} {
		hdr := map[string]string{"Access-Control-Request-Method": "POST"}
		if c.origin != "" {
			hdr["Origin"] = c.origin
		}
		a := r.do(t, http.MethodOptions, c.path, hdr, "")
		if a.code != c.code || a.hdr.Get("Access-Control-Allow-Origin") != "" || a.hdr.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight, %s: %d %v", c.name, a.code, a.hdr)
		}
	}
	if got := r.counters.Count("form", "(unknown)", http.StatusNotFound, webhook.ReasonNotFound); got != 1 {
		t.Errorf("unknown form counted %v under (unknown), want 1", got)
	}
	if got := r.counters.Count("form", "web", http.StatusNoContent, webhook.ReasonPreflight); got != 2 {
		t.Errorf("preflights counted %v, want 2", got)
	}
}

// A signed post is taken from any origin, or none, also on a form that
// takes browser posts; a browser token is no signature.
func TestBrowserFormSignedPosts(t *testing.T) {
	r := newRig(t)
	const good = `{"email":"ann@example.net","message":"Signed."}`
	for i, origin := range []string{"", "https://evil.example", originWWW} {
		id := "msg_signed_" + strconv.Itoa(i)
		hdr := map[string]string{
			"Content-Type": "application/json", webhook.HeaderID: id,
			webhook.HeaderTimestamp: strconv.FormatInt(r.now.Unix(), 10),
			webhook.HeaderSignature: webhook.Sign(r.key, id, r.now, []byte(good)),
		}
		if origin != "" {
			hdr["Origin"] = origin
		}
		if a := r.do(t, http.MethodPost, "/intake/forms/web", hdr, good); a.code != http.StatusAccepted {
			t.Errorf("signed post from %q: %d %v", origin, a.code, a.body)
		}
	}
	// A post with webhook headers is judged by its signature alone.
	tok := r.token(t, "web", originWWW)
	a := r.do(t, http.MethodPost, "/intake/forms/web", map[string]string{
		"Content-Type": "application/json", "Origin": originWWW, webhook.HeaderToken: tok,
		webhook.HeaderID: "msg_x", webhook.HeaderTimestamp: strconv.FormatInt(r.now.Unix(), 10), webhook.HeaderSignature: "v1,AAAA",
	}, good)
	if a.code != http.StatusUnauthorized || a.body["reason"] != webhook.ReasonSignature {
		t.Errorf("bad signature with a good token: %d %v", a.code, a.body)
	}
}

func TestVerifyBrowserToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	tok, exp := webhook.NewBrowserToken(key, "web", originWWW, now)
	if !exp.Equal(now.Add(webhook.BrowserTokenTTL)) {
		t.Errorf("expires %v", exp)
	}
	n1, err := webhook.VerifyBrowserToken(tok, "web", originWWW, now.Add(webhook.BrowserTokenTTL-time.Second), key)
	if err != nil || len(n1) == 0 {
		t.Fatalf("valid token: %v", err)
	}
	if _, err := webhook.VerifyBrowserToken(tok, "web", originWWW, now.Add(webhook.BrowserTokenTTL), key); err == nil {
		t.Error("token valid at its expiry")
	}
	tok2, _ := webhook.NewBrowserToken(key, "web", originWWW, now)
	n2, _ := webhook.VerifyBrowserToken(tok2, "web", originWWW, now, key)
	if tok2 == tok || bytes.Equal(n1, n2) {
		t.Error("two tokens share a nonce")
	}
	// Every truncation is refused.
	for i := range len(tok) {
		if _, err := webhook.VerifyBrowserToken(tok[:i], "web", originWWW, now, key); err == nil {
			t.Fatalf("token cut to %d chars accepted", i)
		}
	}
}

func FuzzVerifyBrowserToken(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	tok, _ := webhook.NewBrowserToken(key, "web", originWWW, now)
	want, _ := base64.RawURLEncoding.DecodeString(tok)
	f.Add(tok)
	f.Add("")
	f.Add("AQ")
	f.Add(tok[:len(tok)-4])
	f.Fuzz(func(t *testing.T, s string) {
		_, err := webhook.VerifyBrowserToken(s, "web", originWWW, now, key)
		if err != nil {
			return
		}
		// Only the nonce may differ from the token issued here (each
		// fuzzing process issues its own, under the same key).
		fixed := len(want) - 16 - 32
		if got, _ := base64.RawURLEncoding.DecodeString(s); len(got) != len(want) || !bytes.Equal(got[:fixed], want[:fixed]) {
			t.Fatalf("forged token accepted: %q", s)
		}
	})
}
