package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
)

// Mapping names the fields of one form (per-form configuration); an empty
// name means the form has no such field.
type Mapping struct {
	Email      string // required in every submission
	Name       string
	Subject    string
	Message    string
	Phone      string
	OrderLines string
}

// Envelope is what the channel knows of a submission besides its fields.
type Envelope struct {
	Form     string    // the form's name
	Key      string    // idempotency key: the webhook id, or a hash of the content
	Received time.Time // when it arrived
	Domain   string    // our Message-ID domain
	// ContentType and Payload are the request as it came; a JSON or URL
	// encoded payload is kept verbatim as the message's last part (a
	// multipart one is the message: every field and file is in it).
	ContentType string
	Payload     []byte
}

// ToMessage renders a form submission as an RFC 5322 message, so that the
// pipeline reads, threads, classifies and acknowledges it like e-mail:
// From is the submitter, the text is the message field followed by the
// phone, order lines and every other field, uploads are attachments, and
// the Message-ID is derived from the idempotency key (the same submission
// twice is the same message). It fails with a *FieldError when the e-mail
// field is missing or not an address, or when there is nothing to say.
func ToMessage(f *Form, m Mapping, env Envelope) ([]byte, error) {
	email := f.Value(m.Email)
	if email == "" {
		return nil, &FieldError{Field: orName(m.Email, "email"), Reason: "required"}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || strings.ContainsAny(addr.Address, "\r\n") {
		return nil, &FieldError{Field: m.Email, Reason: "not an e-mail address"}
	}
	text, orders := f.Value(m.Message), f.Value(m.OrderLines)
	if text == "" && orders == "" {
		return nil, &FieldError{Field: orName(m.Message, "message"), Reason: "required"}
	}
	subject := oneLine(f.Value(m.Subject), 200)
	if subject == "" {
		subject = "Web form: " + env.Form
	}

	var h gomail.Header
	h.SetAddressList("From", []*gomail.Address{{Name: oneLine(f.Value(m.Name), 100), Address: addr.Address}})
	h.SetAddressList("To", []*gomail.Address{{Name: "Web form " + env.Form, Address: "forms@" + env.Domain}})
	h.SetSubject(subject)
	h.SetDate(env.Received)
	h.SetMessageID(FormMessageID(env.Form, env.Key, env.Domain))
	h.Set("X-Frontdesk-Form", env.Form)

	var buf bytes.Buffer
	w, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var ih gomail.InlineHeader
	ih.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	tw, err := w.CreateSingleInline(ih)
	if err != nil {
		return nil, err
	}
	if _, err := tw.Write([]byte(bodyText(f, m, text))); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	for _, file := range f.Files {
		if err := attach(w, file.Name, file.ContentType, file.Data); err != nil {
			return nil, err
		}
	}
	if mt, _, _ := mime.ParseMediaType(env.ContentType); mt != "multipart/form-data" && len(env.Payload) > 0 {
		name := "submission.json"
		if mt != "application/json" {
			name = "submission.txt"
		}
		if err := attach(w, name, env.ContentType, env.Payload); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// bodyText is the message's text: what the submitter wrote, then the
// other fields one per line.
func bodyText(f *Form, m Mapping, text string) string {
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("\n\n--\n")
	mapped := map[string]bool{m.Email: true, m.Name: true, m.Subject: true, m.Message: true}
	line := func(label string, vals []string) {
		fmt.Fprintf(&b, "%s: %s\n", label, strings.Join(vals, ", "))
	}
	if m.Phone != "" && f.Value(m.Phone) != "" {
		line("Phone", f.Fields[m.Phone])
		mapped[m.Phone] = true
	}
	if m.OrderLines != "" && f.Value(m.OrderLines) != "" {
		line("Order lines", f.Fields[m.OrderLines])
		mapped[m.OrderLines] = true
	}
	for _, name := range f.Order {
		if !mapped[name] {
			line(name, f.Fields[name])
		}
	}
	return b.String()
}

// writeBodies writes the text and HTML bodies of a message (either may be
// empty) as its inline part.
func writeBodies(w *gomail.Writer, text, html string) error {
	iw, err := w.CreateInline()
	if err != nil {
		return err
	}
	for _, part := range []struct{ ct, body string }{{"text/plain", text}, {"text/html", html}} {
		if part.body == "" {
			continue
		}
		var ih gomail.InlineHeader
		ih.SetContentType(part.ct, map[string]string{"charset": "utf-8"})
		pw, err := iw.CreatePart(ih)
		if err != nil {
			return err
		}
		if _, err := pw.Write([]byte(part.body)); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return iw.Close()
}

// attach adds data as an attachment. An upload declared as
// application/octet-stream (or not declared) gets the type its content
// shows (http.DetectContentType): a text file sent that way is then a
// text part, whose card numbers the raw copy's masking decodes and masks.
func attach(w *gomail.Writer, name, contentType string, data []byte) error {
	var ah gomail.AttachmentHeader
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt == "application/octet-stream" {
		mt, params, err = mime.ParseMediaType(http.DetectContentType(data))
		if err != nil {
			mt, params = "application/octet-stream", nil
		}
	}
	ah.SetContentType(mt, params)
	ah.SetFilename(name)
	aw, err := w.CreateAttachment(ah)
	if err != nil {
		return err
	}
	if _, err := aw.Write(data); err != nil {
		return err
	}
	return aw.Close()
}

// FormMessageID is the Message-ID (without angle brackets) of the message
// ToMessage renders for a submission to form with idempotency key key:
// the same submission is always the same message, and an
// acknowledgement's In-Reply-To names it.
func FormMessageID(form, key, domain string) string {
	sum := sha256.Sum256([]byte(form + "\x00" + key))
	return fmt.Sprintf("form.%s@%s", hex.EncodeToString(sum[:16]), domain)
}

// oneLine keeps s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n])
	}
	return s
}

func orName(field, fallback string) string {
	if field == "" {
		return fallback
	}
	return field
}
