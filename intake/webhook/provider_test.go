package webhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontdesk/frontdesk/intake/webhook"
	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/message"
)

const (
	mailgunKey = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
	urlSecret  = "sg-url-secret-5b1c0e7d9a"
	user       = "frontdesk"
	pass       = "correct horse battery staple"
)

// providerRig serves every provider endpoint on a real accept step.
type providerRig struct {
	*acceptRig
	srv      *httptest.Server
	now      time.Time
	counters *webhook.Counters
}

func newProviderRig(t *testing.T) *providerRig {
	t.Helper()
	r := &providerRig{acceptRig: newAcceptRig(t), now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	counters, err := webhook.NewCounters(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r.counters = counters
	h := &webhook.ProviderHandler{
		Acceptor: r.acc,
		Now:      func() time.Time { return r.now },
		Log:      r.log,
		Counters: counters,
	}
	for _, c := range []webhook.ProviderConfig{
		{Name: "support", Provider: webhook.ProviderMailgun, SigningKey: []byte(mailgunKey), Intent: message.IntentCase, Queue: "support"},
		{Name: "locked", Provider: webhook.ProviderMailgun, SigningKey: []byte(mailgunKey), Username: user, Password: pass, Intent: message.IntentCase, Queue: "support"},
		{Name: "parse", Provider: webhook.ProviderSendGrid, URLSecret: urlSecret, Intent: message.IntentOrder, Queue: "orders"},
		{Name: "basic", Provider: webhook.ProviderSendGrid, Username: user, Password: pass, Intent: message.IntentCase, Queue: "support"},
		{Name: "both", Provider: webhook.ProviderSendGrid, URLSecret: urlSecret, Username: user, Password: pass, Intent: message.IntentCase, Queue: "support"},
		{Name: "small", Provider: webhook.ProviderSendGrid, URLSecret: urlSecret, MaxBodyBytes: 1024, Intent: message.IntentCase, Queue: "support"},
		{Name: "inbox", Provider: webhook.ProviderPostmark, Username: user, Password: pass, Intent: message.IntentCase, Queue: "support"},
	} {
		if err := h.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	h.Register(mux)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

type answer struct {
	code   int
	body   map[string]any
	header http.Header
}

func (a answer) id() int64 {
	f, _ := a.body["inbound_id"].(float64)
	return int64(f)
}

// send posts body to path, with basic auth when creds has two elements.
func (r *providerRig) send(t *testing.T, path, ct string, body []byte, creds ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if len(creds) == 2 {
		req.SetBasicAuth(creds[0], creds[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("%s: answer not JSON: %q", path, b)
	}
	return a
}

// mailgunForm is a Mailgun route post: fields in order, signed at ts
// unless the caller sets the signature fields itself.
func mailgunForm(fields [][2]string, ts time.Time, token string) string {
	v := make([]string, 0, len(fields)+3)
	for _, f := range fields {
		switch f[0] {
		case "timestamp", "token", "signature":
			continue
		}
		v = append(v, url.QueryEscape(f[0])+"="+url.QueryEscape(f[1]))
	}
	stamp := strconv.FormatInt(ts.Unix(), 10)
	v = append(v, "timestamp="+stamp, "token="+token, "signature="+mailgunSign(mailgunKey, stamp, token))
	return strings.Join(v, "&")
}

func mailgunSign(key, ts, token string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + token))
	return hex.EncodeToString(m.Sum(nil))
}

const formCT = "application/x-www-form-urlencoded"

func TestProviderMailgun(t *testing.T) {
	r := newProviderRig(t)
	corpora := filepath.Join(testenv.Corpora(t), "webhooks")
	sample := webhook.OrderedFields(t, filepath.Join(corpora, "django-inbound-email", "inbound_email", "tests", "test_files", "mailgun_post.test_inbound_payload.json"))
	const token = "4166ec05b27b5d3c024252ad43df47865128c8fcde47dfea6b"

	a := r.send(t, "/intake/mailgun/support", formCT, []byte(mailgunForm(sample, r.now, token)))
	if a.code != http.StatusAccepted || a.body["status"] != "accepted" || a.id() == 0 {
		t.Fatalf("sample post: %d %v", a.code, a.body)
	}
	in, _, m := r.stored(t, a.id())
	if in.Channel != message.ChannelWebhook || in.Source != "mailgun:support" || in.Queue != "support" || !strings.HasPrefix(in.SourceKey, "mailgun:support:") {
		t.Fatalf("row %+v", in)
	}
	if m.From.Addr != "bob@sandbox085a3b878a964897b9b9efb2395a1f5a.mailgun.org" || m.Subject != "Re: Sample POST request" || len(m.InReplyTo) != 1 {
		t.Fatalf("stored message: from %+v subject %q in-reply-to %v", m.From, m.Subject, m.InReplyTo)
	}

	// The same token again, even signed at another time: the same row.
	r.now = r.now.Add(time.Minute)
	again := r.send(t, "/intake/mailgun/support", formCT, []byte(mailgunForm(sample, r.now, token)))
	if again.code != http.StatusAccepted || again.body["duplicate"] != true || again.id() != a.id() {
		t.Fatalf("re-post: %d %v", again.code, again.body)
	}

	// A raw MIME route (URL ending in "mime") posts body-mime, which is
	// kept byte for byte, 8-bit Latin-1 and all, as multipart.
	mimeMsg := "From: Ann <ann@example.net>\r\nTo: desk@example.test\r\nSubject: kettle\r\nMessage-ID: <raw.1@example.net>\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nLe couvercle est cass\xe9.\r\n"
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	stamp := strconv.FormatInt(r.now.Unix(), 10)
	for _, f := range [][2]string{{"recipient", "desk@example.test"}, {"body-mime", mimeMsg}, {"timestamp", stamp}, {"token", "tok-raw-1"}, {"signature", mailgunSign(mailgunKey, stamp, "tok-raw-1")}} {
		mw.WriteField(f[0], f[1])
	}
	mw.Close()
	raw := r.send(t, "/intake/mailgun/support", mw.FormDataContentType(), mp.Bytes())
	if raw.code != http.StatusAccepted {
		t.Fatalf("raw MIME post: %d %v", raw.code, raw.body)
	}
	if _, b, m := r.stored(t, raw.id()); string(b) != mimeMsg || !strings.Contains(m.Text, "Le couvercle est cassé.") {
		t.Fatalf("raw MIME not kept verbatim:\n%q\ntext %q", b, m.Text)
	}

	// django-anymail's Mailgun payloads are event and attachment
	// notifications, not mail: refused 400, never stored, never 5xx.
	for _, name := range []string{"mailgun-inbound-1.json", "mailgun-inbound-2.json", "mailgun-inbound-3.json"} {
		fields := webhook.OrderedFields(t, filepath.Join(corpora, "django-anymail", "tests", "payloads", name))
		a := r.send(t, "/intake/mailgun/support", formCT, []byte(mailgunForm(fields, r.now, "tok-"+name)))
		if a.code != http.StatusBadRequest || a.body["field"] != "from" {
			t.Errorf("%s: %d %v, want 400 naming from", name, a.code, a.body)
		}
	}

	good := mailgunForm(sample, r.now, "tok-2")
	stale := mailgunForm(sample, r.now.Add(-webhook.MailgunMaxAge-time.Minute), "tok-3")
	future := mailgunForm(sample, r.now.Add(10*time.Minute), "tok-4")
	forged := strings.Replace(good, "&signature=", "&signature=00", 1)
	otherKey := strings.Replace(good, "&signature="+mailgunSign(mailgunKey, strconv.FormatInt(r.now.Unix(), 10), "tok-2"),
		"&signature="+mailgunSign("some-other-signing-key", strconv.FormatInt(r.now.Unix(), 10), "tok-2"), 1)
	unsigned := "from=a%40b.example&body-plain=hi&token=tok-5"
	for _, c := range []struct {
		name, path, ct, body string
		creds                []string
		code                 int
		reason               string
	}{
		{"forged signature", "/intake/mailgun/support", formCT, forged, nil, 401, webhook.ReasonSignature},
		{"other key", "/intake/mailgun/support", formCT, otherKey, nil, 401, webhook.ReasonSignature},
		{"stale timestamp", "/intake/mailgun/support", formCT, stale, nil, 401, webhook.ReasonSignature},
		{"future timestamp", "/intake/mailgun/support", formCT, future, nil, 401, webhook.ReasonSignature},
		{"unsigned", "/intake/mailgun/support", formCT, unsigned, nil, 401, webhook.ReasonSignature},
		{"json", "/intake/mailgun/support", "application/json", `{"token":"x"}`, nil, 415, webhook.ReasonContentType},
		{"basic auth missing", "/intake/mailgun/locked", formCT, good, nil, 401, webhook.ReasonAuth},
		{"basic auth wrong", "/intake/mailgun/locked", formCT, good, []string{user, "wrong"}, 401, webhook.ReasonAuth},
		{"unknown endpoint", "/intake/mailgun/nope", formCT, good, nil, 404, webhook.ReasonNotFound},
		{"sendgrid name at mailgun", "/intake/mailgun/parse", formCT, good, nil, 404, webhook.ReasonNotFound},
	} {
		a := r.send(t, c.path, c.ct, []byte(c.body), c.creds...)
		if a.code != c.code || a.body["reason"] != c.reason || a.body["error"] == "" {
			t.Errorf("%s: %d %v, want %d %s", c.name, a.code, a.body, c.code, c.reason)
		}
	}
	if a := r.send(t, "/intake/mailgun/locked", formCT, []byte(good), user, pass); a.code != http.StatusAccepted {
		t.Fatalf("signed, with basic auth: %d %v", a.code, a.body)
	}
	// A retry hours later carrying the first attempt's signature (as
	// Mailgun's may) is taken: its token keeps it one message.
	if a := r.send(t, "/intake/mailgun/support", formCT, []byte(mailgunForm(sample, r.now.Add(-4*time.Hour), "tok-6"))); a.code != http.StatusAccepted {
		t.Fatalf("a retry signed 4 h ago: %d %v", a.code, a.body)
	}
	if n := len(r.rows(t)); n != 4 {
		t.Fatalf("%d inbound rows, want 4 (sample, raw MIME, locked, retry)", n)
	}
	if got := r.counters.Count("mailgun", "support", 401, webhook.ReasonSignature); got != 5 {
		t.Errorf("counted %v bad signatures, want 5", got)
	}
}

// sendgridBody is SendGrid's own parsed-mode sample post.
func sendgridBody(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Corpora(t), "webhooks", "sendgrid-python", "sendgrid", "helpers", "inbound", "sample_data", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const sgCT = "multipart/form-data; boundary=xYzZY"

func TestProviderSendGrid(t *testing.T) {
	r := newProviderRig(t)
	body := sendgridBody(t, "default_data.txt")
	secretPath := "/intake/sendgrid/parse/" + urlSecret

	a := r.send(t, secretPath, sgCT, body)
	if a.code != http.StatusAccepted || a.body["status"] != "accepted" {
		t.Fatalf("sample post: %d %v", a.code, a.body)
	}
	in, _, m := r.stored(t, a.id())
	if in.Source != "sendgrid:parse" || in.Intent != message.IntentOrder || in.Queue != "orders" || m.Subject != "Inbound Parse Test Data" || m.From.Addr != "test@example.com" {
		t.Fatalf("row %+v message from %+v subject %q", in, m.From, m.Subject)
	}
	// SendGrid's retry of the same post (no Message-ID: its content) is
	// the same row.
	if again := r.send(t, secretPath, sgCT, body); again.code != http.StatusAccepted || again.body["duplicate"] != true || again.id() != a.id() {
		t.Fatalf("re-post: %d %v", again.code, again.body)
	}
	rawMode := r.send(t, secretPath, sgCT, sendgridBody(t, "raw_data_with_attachments.txt"))
	if rawMode.code != http.StatusAccepted {
		t.Fatalf("raw mode: %d %v", rawMode.code, rawMode.body)
	}
	if _, _, m := r.stored(t, rawMode.id()); len(m.Attachments) != 1 || m.Attachments[0].Filename != "SendGrid.jpg" {
		t.Fatalf("raw mode attachments %+v", m.Attachments)
	}

	// Each accepted once, on the endpoints that take these credentials.
	other := []byte(strings.ReplaceAll(string(body), "Inbound Parse Test Data", "Another test"))
	for _, c := range []struct {
		name, path string
		creds      []string
	}{
		{"basic auth", "/intake/sendgrid/basic", []string{user, pass}},
		{"secret and basic auth", "/intake/sendgrid/both/" + urlSecret, []string{user, pass}},
	} {
		if a := r.send(t, c.path, sgCT, other, c.creds...); a.code != http.StatusAccepted || a.body["duplicate"] == true {
			t.Errorf("%s: %d %v", c.name, a.code, a.body)
		}
	}

	for _, c := range []struct {
		name, path string
		ct         string
		body       []byte
		creds      []string
		code       int
		reason     string
		challenge  bool
	}{
		{"wrong secret", "/intake/sendgrid/parse/" + urlSecret + "x", sgCT, body, nil, 401, webhook.ReasonAuth, false},
		{"no secret", "/intake/sendgrid/parse", sgCT, body, nil, 401, webhook.ReasonAuth, false},
		{"secret in basic auth instead", "/intake/sendgrid/parse", sgCT, body, []string{user, urlSecret}, 401, webhook.ReasonAuth, false},
		{"basic: none", "/intake/sendgrid/basic", sgCT, body, nil, 401, webhook.ReasonAuth, true},
		{"basic: wrong password", "/intake/sendgrid/basic", sgCT, body, []string{user, pass + "x"}, 401, webhook.ReasonAuth, true},
		{"basic: wrong user", "/intake/sendgrid/basic", sgCT, body, []string{"admin", pass}, 401, webhook.ReasonAuth, true},
		{"basic: a URL secret it has not", "/intake/sendgrid/basic/" + urlSecret, sgCT, body, []string{user, pass}, 401, webhook.ReasonAuth, true},
		{"both: secret only", "/intake/sendgrid/both/" + urlSecret, sgCT, body, nil, 401, webhook.ReasonAuth, true},
		{"both: basic only", "/intake/sendgrid/both", sgCT, body, []string{user, pass}, 401, webhook.ReasonAuth, true},
		{"unknown endpoint", "/intake/sendgrid/nope/" + urlSecret, sgCT, body, nil, 404, webhook.ReasonNotFound, false},
		{"oversized", "/intake/sendgrid/small/" + urlSecret, sgCT, body, nil, 413, webhook.ReasonTooLarge, false},
		{"not multipart", secretPath, "text/plain", body, nil, 415, webhook.ReasonContentType, false},
		{"no sender", secretPath, formCT, []byte("text=hello"), nil, 400, webhook.ReasonBadField, false},
		{"broken multipart", secretPath, sgCT, body[:200], nil, 400, webhook.ReasonBadField, false},
	} {
		a := r.send(t, c.path, c.ct, c.body, c.creds...)
		challenge := a.header.Get("WWW-Authenticate") == `Basic realm="frontdesk"`
		if a.code != c.code || a.body["reason"] != c.reason || challenge != c.challenge {
			t.Errorf("%s: %d %v (challenge %v), want %d %s (challenge %v)", c.name, a.code, a.body, challenge, c.code, c.reason, c.challenge)
		}
	}
	if n := len(r.rows(t)); n != 4 {
		t.Fatalf("%d inbound rows, want 4", n)
	}
	// The URL secret is in no log line and no counter label.
	if logs := r.logs.String(); strings.Contains(logs, urlSecret) || !strings.Contains(logs, "endpoint=parse") {
		t.Fatalf("logs hold the URL secret, or not the endpoint name:\n%s", logs)
	}
	if got := r.counters.Count("sendgrid", "parse", 401, webhook.ReasonAuth); got != 3 {
		t.Errorf("counted %v refusals on parse, want 3", got)
	}
}

func TestProviderPostmark(t *testing.T) {
	r := newProviderRig(t)
	dir := filepath.Join(testenv.Corpora(t), "webhooks", "django-anymail", "tests")
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const jsonCT = "application/json"
	plain := r.send(t, "/intake/postmark/inbox", jsonCT, read("test_files/postmark-inbound-test-payload.json"), user, pass)
	if plain.code != http.StatusAccepted {
		t.Fatalf("payload: %d %v", plain.code, plain.body)
	}
	if _, _, m := r.stored(t, plain.id()); m.From.Addr != "support@postmarkapp.com" || m.Subject != "Test subject" || len(m.Attachments) != 1 {
		t.Fatalf("stored: from %+v subject %q attachments %+v", m.From, m.Subject, m.Attachments)
	}
	// The same Postmark MessageID with RawEmail: the same message.
	withRaw := r.send(t, "/intake/postmark/inbox", jsonCT+"; charset=utf-8", read("test_files/postmark-inbound-test-payload-with-raw.json"), user, pass)
	if withRaw.code != http.StatusAccepted || withRaw.body["duplicate"] != true || withRaw.id() != plain.id() {
		t.Fatalf("with raw: %d %v", withRaw.code, withRaw.body)
	}
	other := r.send(t, "/intake/postmark/inbox", jsonCT, read("payloads/postmark-inbound-1.json"), user, pass)
	if other.code != http.StatusAccepted || other.body["duplicate"] == true {
		t.Fatalf("anymail payload: %d %v", other.code, other.body)
	}
	if _, _, m := r.stored(t, other.id()); m.From.Addr != "from+test@example.org" || m.MessageID != "CAEPk3R+4Zr@mail.example.org" || m.Text != "Test body plain" {
		t.Fatalf("stored: from %+v message id %q text %q", m.From, m.MessageID, m.Text)
	}

	body := read("test_files/postmark-inbound-test-payload.json")
	for _, c := range []struct {
		name   string
		ct     string
		body   []byte
		creds  []string
		code   int
		reason string
	}{
		{"no auth", jsonCT, body, nil, 401, webhook.ReasonAuth},
		{"wrong password", jsonCT, body, []string{user, "nope"}, 401, webhook.ReasonAuth},
		{"form", formCT, body, []string{user, pass}, 415, webhook.ReasonContentType},
		{"not json", jsonCT, []byte(`{"MessageID":`), []string{user, pass}, 400, webhook.ReasonBadField},
	} {
		a := r.send(t, "/intake/postmark/inbox", c.ct, c.body, c.creds...)
		if a.code != c.code || a.body["reason"] != c.reason {
			t.Errorf("%s: %d %v, want %d %s", c.name, a.code, a.body, c.code, c.reason)
		}
		if c.code == 401 && a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no challenge", c.name)
		}
	}
	if n := len(r.rows(t)); n != 2 {
		t.Fatalf("%d inbound rows, want 2", n)
	}

	// Redis down: not accepted, and the provider is told to retry — 503
	// with Retry-After, never a code that makes it drop the mail.
	if err := r.redis.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	a := r.send(t, "/intake/postmark/inbox", jsonCT, []byte(`{"MessageID":"pm-outage-1","FromFull":{"Email":"ann@example.net"},"TextBody":"hi"}`), user, pass)
	if a.code != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || a.body["status"] != "retry" {
		t.Fatalf("with Redis down: %d %v %v", a.code, a.body, a.header)
	}
}

// A provider endpoint whose configuration would leave it open or useless
// is refused at Add.
func TestProviderConfigCheck(t *testing.T) {
	for name, c := range map[string]webhook.ProviderConfig{
		"mailgun without key":   {Name: "a", Provider: webhook.ProviderMailgun},
		"sendgrid without auth": {Name: "a", Provider: webhook.ProviderSendGrid},
		"postmark without auth": {Name: "a", Provider: webhook.ProviderPostmark},
		"user without password": {Name: "a", Provider: webhook.ProviderSendGrid, Username: "u"},
		"unknown provider":      {Name: "a", Provider: "mandrill", Username: "u", Password: "p"},
		"no name":               {Provider: webhook.ProviderPostmark, Username: "u", Password: "p"},
		"unknown intent":        {Name: "a", Provider: webhook.ProviderPostmark, Username: "u", Password: "p", Intent: "refund"},
	} {
		var h webhook.ProviderHandler
		if err := h.Add(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var h webhook.ProviderHandler
	ok := webhook.ProviderConfig{Name: "a", Provider: webhook.ProviderPostmark, Username: "u", Password: "p"}
	if err := h.Add(ok); err != nil {
		t.Fatal(err)
	}
	if err := h.Add(ok); err == nil {
		t.Error("the same endpoint twice: accepted")
	}
	if ep := h.Endpoints[webhook.ProviderKey(webhook.ProviderPostmark, "a")]; ep == nil || ep.Intent != message.IntentCase || ep.Queue != "a" {
		t.Errorf("keyed by ProviderKey, with defaults: %+v", ep)
	}
}
