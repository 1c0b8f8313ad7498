package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	mailgunKey     = "key-mailgun-signing-0123456789"
	sendgridSecret = "sendgrid-url-secret-0123456789"
	postmarkPass   = "postmark-pass-0123456789"
)

// TestProviderWebhooks posts mail through the Mailgun, SendGrid and Postmark
// endpoints of a running daemon: it becomes cases exactly like IMAP mail —
// acknowledged once (also when posted twice), a reply threaded to the case
// by its In-Reply-To and not acknowledged again, an auto-reply never
// acknowledged — and posts with bad credentials or a stale signature (older
// than Mailgun's 8 hours of retries) are refused 401 with nothing stored.
func TestProviderWebhooks(t *testing.T) {
	d := newDesk(t, true, "inbound_webhooks:\n"+
		"  - {name: support-mime, provider: mailgun, signing_key: "+mailgunKey+"}\n"+
		"  - {name: support, provider: sendgrid, url_secret: "+sendgridSecret+"}\n"+
		"  - {name: support, provider: postmark, username: postmark, password: "+postmarkPass+"}\n")
	d.start()
	base := "http://" + d.httpAddr + "/intake/"
	do := func(req *http.Request) (int, map[string]any) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	mailgun := func(token string, at time.Time, raw string) (int, map[string]any) {
		t.Helper()
		ts := strconv.FormatInt(at.Unix(), 10)
		m := hmac.New(sha256.New, []byte(mailgunKey))
		m.Write([]byte(ts + token))
		form := url.Values{"timestamp": {ts}, "token": {token}, "signature": {hex.EncodeToString(m.Sum(nil))},
			"recipient": {"support@desk.example.test"}, "sender": {"ann@customer.example"}, "body-mime": {raw}}
		req, _ := http.NewRequest(http.MethodPost, base+"mailgun/support-mime", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return do(req)
	}
	sendgrid := func(secret string, fields map[string]string) (int, map[string]any) {
		t.Helper()
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		_ = w.Close()
		req, _ := http.NewRequest(http.MethodPost, base+"sendgrid/support/"+secret, &b)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return do(req)
	}
	postmark := func(pass string, payload map[string]any) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(payload)
		req, _ := http.NewRequest(http.MethodPost, base+"postmark/support", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("postmark", pass)
		return do(req)
	}

	// A new message through Mailgun, posted twice (Mailgun retries).
	first := "From: Ann <ann@customer.example>\r\nTo: support@desk.example.test\r\nSubject: Broken kettle\r\n" +
		"Message-ID: <kettle-1@customer.example>\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\n\r\nMy kettle is broken.\r\n"
	now := time.Now()
	for i, want := range []bool{false, true} {
		code, out := mailgun("tok-1", now, first)
		if code != http.StatusAccepted || out["duplicate"] == true != want {
			t.Fatalf("mailgun post %d: %d %v", i+1, code, out)
		}
	}
	acks := d.smtp.WaitFor(1, time.Minute)
	if len(acks) != 1 || acks[0].To[0] != "ann@customer.example" {
		t.Fatalf("acknowledgements: %+v", acks)
	}
	ackID := acks[0].MessageID

	// Her reply through Postmark (RawEmail) joins the case; an auto-reply
	// through SendGrid (parsed mode) is not acknowledged.
	reply := "From: Ann <ann@customer.example>\r\nTo: support@desk.example.test\r\nSubject: Re: Broken kettle\r\n" +
		"Message-ID: <kettle-2@customer.example>\r\nIn-Reply-To: <" + ackID + ">\r\nDate: Thu, 26 Nov 2026 09:05:00 +0000\r\n\r\nStill broken.\r\n"
	if code, out := postmark(postmarkPass, map[string]any{"MessageID": "pm-1", "RawEmail": reply,
		"FromFull": map[string]string{"Email": "ann@customer.example"}}); code != http.StatusAccepted {
		t.Fatalf("postmark: %d %v", code, out)
	}
	if code, out := sendgrid(sendgridSecret, map[string]string{
		"headers": "From: Bo <bo@customer.example>\nTo: support@desk.example.test\nSubject: Out of office\n" +
			"Message-ID: <ooo-1@customer.example>\nAuto-Submitted: auto-replied\n",
		"from": "Bo <bo@customer.example>", "to": "support@desk.example.test", "subject": "Out of office",
		"text": "I am away until Monday.", "charsets": `{"text":"UTF-8","subject":"UTF-8"}`,
	}); code != http.StatusAccepted {
		t.Fatalf("sendgrid: %d %v", code, out)
	}

	// Refused, nothing stored.
	if code, _ := mailgun("tok-2", now.Add(-10*time.Hour), first); code != http.StatusUnauthorized {
		t.Fatalf("stale mailgun signature: %d, want 401", code)
	}
	if code, _ := sendgrid("wrong-secret-0123456789abcdef", map[string]string{"email": first}); code != http.StatusUnauthorized {
		t.Fatalf("wrong sendgrid secret: %d, want 401", code)
	}
	if code, _ := postmark("wrong-pass-0123456789", map[string]any{"MessageID": "pm-2", "RawEmail": first}); code != http.StatusUnauthorized {
		t.Fatalf("wrong postmark password: %d, want 401", code)
	}
	// No forms are configured here: a post to one is still a JSON 404.
	req, _ := http.NewRequest(http.MethodPost, base+"forms/contact", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if code, out := do(req); code != http.StatusNotFound || out["reason"] != "not_found" {
		t.Fatalf("post to a form that does not exist: %d %v; want a JSON 404", code, out)
	}

	db := d.ledger()
	d.waitSettled(db, 3, time.Minute)
	time.Sleep(time.Second) // a wrong acknowledgement would have come by now
	if n := d.smtp.Count(); n != 1 {
		t.Fatalf("%d acknowledgements; want 1 (the reply and the auto-reply get none)", n)
	}
	var ids [3]int64
	for i := range ids {
		in, err := db.Inbound(t.Context(), int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = in.CaseID
		if i == 2 && in.Automated == "" {
			t.Errorf("the auto-reply is not marked automated: %+v", in)
		}
	}
	if ids[0] == 0 || ids[1] != ids[0] {
		t.Fatalf("the reply joined case %d, the first message opened %d", ids[1], ids[0])
	}
}
