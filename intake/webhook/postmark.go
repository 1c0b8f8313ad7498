package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
)

// postmarkInbound is the part of Postmark's inbound webhook JSON we read
// (https://postmarkapp.com/developer/webhooks/inbound-webhook).
type postmarkInbound struct {
	MessageID string
	Date      string
	Subject   string
	FromFull  postmarkAddr
	ToFull    []postmarkAddr
	CcFull    []postmarkAddr
	ReplyTo   string
	Headers   []struct{ Name, Value string }
	TextBody  string
	HtmlBody  string
	RawEmail  string
	// Attachments carry their bytes in Content (documented) or Data (seen
	// in older payloads).
	Attachments []struct {
		Name, ContentType, Content, Data, ContentID string
	}
}

type postmarkAddr struct{ Email, Name string }

// structural are header fields the rendered message sets itself.
var structural = map[string]bool{
	"content-type": true, "content-transfer-encoding": true, "mime-version": true,
	"from": true, "to": true, "cc": true, "subject": true, "date": true, "reply-to": true,
}

// PostmarkMessage turns a Postmark inbound webhook body into the raw
// message to accept and its idempotency key (Postmark's MessageID). With
// RawEmail (the "include raw email" option) the raw message is Postmark's
// copy of the original, verbatim; without it the message is rebuilt from
// the parsed fields, keeping every original header (Message-ID, In-Reply-To,
// References, Auto-Submitted... — threading and loop protection depend on
// them), the text and HTML bodies and the attachments. Bad JSON or a
// payload without a sender is a *FieldError.
func PostmarkMessage(body []byte) (raw []byte, key string, err error) {
	var p postmarkInbound
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, "", &FieldError{Field: "(body)", Reason: "not Postmark inbound JSON: " + err.Error()}
	}
	key = p.MessageID
	if key == "" {
		return nil, "", &FieldError{Field: "MessageID", Reason: "required"}
	}
	if p.RawEmail != "" {
		return []byte(p.RawEmail), key, nil
	}
	if p.FromFull.Email == "" {
		return nil, "", &FieldError{Field: "FromFull.Email", Reason: "required"}
	}
	var h gomail.Header
	for _, f := range p.Headers {
		name := strings.TrimSpace(f.Name)
		if !fieldName(name) || structural[strings.ToLower(name)] {
			continue
		}
		h.Add(name, flat(f.Value))
	}
	h.SetAddressList("From", []*gomail.Address{{Name: flat(p.FromFull.Name), Address: flat(p.FromFull.Email)}})
	if to := addrs(p.ToFull); len(to) > 0 {
		h.SetAddressList("To", to)
	}
	if cc := addrs(p.CcFull); len(cc) > 0 {
		h.SetAddressList("Cc", cc)
	}
	if p.ReplyTo != "" {
		h.Set("Reply-To", flat(p.ReplyTo))
	}
	h.SetSubject(flat(p.Subject))
	if t, err := netmail.ParseDate(p.Date); err == nil {
		h.SetDate(t)
	} else {
		h.SetDate(time.Unix(0, 0).UTC())
	}

	var buf bytes.Buffer
	w, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, "", err
	}
	if err := writeBodies(w, p.TextBody, p.HtmlBody); err != nil {
		return nil, "", err
	}
	for i, a := range p.Attachments {
		enc := a.Content
		if enc == "" {
			enc = a.Data
		}
		data, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, "", &FieldError{Field: fmt.Sprintf("Attachments[%d].Content", i), Reason: "not base64"}
		}
		if err := attach(w, flat(a.Name), a.ContentType, data); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), key, nil
}

func addrs(list []postmarkAddr) []*gomail.Address {
	var out []*gomail.Address
	for _, a := range list {
		if a.Email != "" {
			out = append(out, &gomail.Address{Name: flat(a.Name), Address: flat(a.Email)})
		}
	}
	return out
}

// flat keeps a header value on one line, of at most maxHeaderValue bytes
// (go-message folds long values in quadratic time).
func flat(s string) string {
	return clip(strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " "), maxHeaderValue)
}

// fieldName reports whether s is a header field name (RFC 5322 §3.6.8:
// printable ASCII but colon).
func fieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return s != ""
}
