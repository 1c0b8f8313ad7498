package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/mail"
	"sort"
	"strings"

	gomail "github.com/emersion/go-message/mail"
)

// SendGrid Inbound Parse posts multipart/form-data
// (https://www.twilio.com/docs/sendgrid/for-developers/parsing-email/setting-up-the-inbound-parse-webhook):
// in raw mode the field "email" is the whole message; in the default
// (parsed) mode "headers" is the original header block and "text", "html",
// "from", "to", "cc" and "subject" are posted as they were in the message's
// own charsets, named by the JSON field "charsets"; uploads are
// attachment1..N, described by the JSON field "attachment-info".
// "envelope" is the SMTP envelope as JSON; "SPF", "dkim" and "spam_score"
// are SendGrid's verdicts.

// sendgridVerdicts are the verdict fields kept as X-Frontdesk-* header
// fields of a rebuilt message.
var sendgridVerdicts = []struct{ field, header string }{
	{"SPF", "X-Frontdesk-Sendgrid-Spf"},
	{"dkim", "X-Frontdesk-Sendgrid-Dkim"},
	{"spam_score", "X-Frontdesk-Sendgrid-Spam-Score"},
}

// rebuilt are the header fields of the original message that a rebuilt
// message replaces with its own MIME structure.
var rebuilt = map[string]bool{
	"content-type": true, "content-transfer-encoding": true, "mime-version": true, "content-disposition": true,
}

// fromFields are the header fields the posted fields stand in for when
// the header block lacks them (or has them empty).
var fromFields = map[string]bool{"from": true, "to": true, "cc": true, "subject": true, "return-path": true}

// sendgridAttachment is one entry of "attachment-info".
type sendgridAttachment struct {
	Filename  string `json:"filename"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	ContentID string `json:"content-id"`
}

// SendGridMessage turns the fields of a SendGrid Inbound Parse post (read
// with the handler's form reader, or ParseForm) into the raw message to
// accept and its idempotency key: the message's Message-ID, else a hash of
// the post (SendGrid sends no id of its own).
//
// In raw mode the message is the "email" field verbatim; only a
// Return-Path taken from the envelope is put in front when the message has
// none, as the final delivery agent does (RFC 5321 §4.4), so that a bounce
// (null reverse path) is known as one. In parsed mode the message is
// rebuilt: every header field of "headers" but the MIME structure
// (Message-ID, In-Reply-To, References, Auto-Submitted... — threading and
// loop protection depend on them), From, To, Cc and Subject from their
// fields when the header block lacks them, the text and HTML bodies
// decoded from their charsets, and the uploads as attachments named as
// "attachment-info" says. A post without a sender is a *FieldError.
func SendGridMessage(f *Form) (raw []byte, key string, err error) {
	returnPath, hasEnvelope := sendgridReturnPath(f.Value("envelope"))
	if email, ok := sendgridRaw(f); ok {
		head := parseHeaderBlock(headerBlock(email))
		key = keyOf("", fieldOf(head, "message-id"), email, nil)
		if hasEnvelope && fieldOf(head, "return-path") == "" {
			email = prependField(email, "Return-Path", returnPath)
		}
		return email, key, nil
	}

	var charsets map[string]string
	_ = json.Unmarshal([]byte(f.Value("charsets")), &charsets) // absent or broken: UTF-8
	field := func(name string) string {
		v := f.Fields[name]
		if len(v) == 0 {
			return ""
		}
		return decodeText(v[0], charsets[name])
	}

	var h gomail.Header
	has := map[string]bool{}
	pairs := parseHeaderBlock(firstValue(f, "headers"))
	for i := len(pairs) - 1; i >= 0; i-- { // go-message writes the last added first
		name, value := pairs[i][0], pairs[i][1]
		lower := strings.ToLower(name)
		if rebuilt[lower] || strings.HasPrefix(lower, "x-frontdesk-") || (value == "" && fromFields[lower]) {
			continue
		}
		has[lower] = true
		h.Add(name, value)
	}
	if !has["from"] {
		from := strings.TrimSpace(field("from"))
		if from == "" {
			return nil, "", &FieldError{Field: "from", Reason: "required (no From in headers either), or the raw message in email"}
		}
		setAddresses(&h, "From", clip(from, maxHeaderValue))
	}
	for _, name := range []string{"To", "Cc"} {
		if v := strings.TrimSpace(field(strings.ToLower(name))); !has[strings.ToLower(name)] && v != "" {
			setAddresses(&h, name, clip(v, maxHeaderValue))
		}
	}
	if s := clip(headerValue(field("subject")), maxHeaderValue); !has["subject"] && s != "" {
		h.SetSubject(s)
	}
	if hasEnvelope && !has["return-path"] {
		h.Set("Return-Path", returnPath)
	}
	for _, v := range sendgridVerdicts {
		if s := oneLine(headerValue(f.Value(v.field)), 200); s != "" {
			h.Set(v.header, s)
		}
	}

	var buf bytes.Buffer
	w, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, "", err
	}
	if err := writeBodies(w, field("text"), field("html")); err != nil {
		return nil, "", err
	}
	var info map[string]sendgridAttachment
	_ = json.Unmarshal([]byte(f.Value("attachment-info")), &info) // absent or broken: the uploads' own names
	for _, file := range f.Files {
		if file.Field == "email" {
			continue
		}
		a := info[file.Field]
		name := oneLine(firstNonEmpty(a.Filename, a.Name, file.Name, file.Field), 255)
		if err := attachFile(w, name, firstNonEmpty(a.Type, file.ContentType), a.ContentID, file.Data); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	// Not a hash of the rendered message: its boundaries are random.
	return buf.Bytes(), keyOf("", strings.TrimSpace(h.Get("Message-Id")), nil, f), nil
}

// formHash is a hash of everything a post holds, the same for the same
// post whatever the order of its parts (and whatever multipart boundary a
// client drew).
func formHash(f *Form) string {
	names := make([]string, 0, len(f.Fields))
	for name := range f.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	h := sha256.New()
	put := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, name := range names {
		put(name)
		for _, v := range f.Fields[name] {
			put(v)
		}
	}
	for _, file := range f.Files {
		put(file.Field)
		put(file.Name)
		put(file.ContentType)
		put(string(file.Data))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sendgridRaw returns the raw message of a raw-mode post: the "email"
// field, or an upload of that name.
func sendgridRaw(f *Form) ([]byte, bool) {
	if v := f.Fields["email"]; len(v) > 0 && strings.TrimSpace(v[0]) != "" {
		return []byte(v[0]), true
	}
	for _, file := range f.Files {
		if file.Field == "email" && len(bytes.TrimSpace(file.Data)) > 0 {
			return file.Data, true
		}
	}
	return nil, false
}

// sendgridReturnPath reads the envelope's sender as a Return-Path value:
// "<addr>", or "<>" for the null reverse path of a bounce. ok is false
// when the envelope is absent, not JSON or has no sender field.
func sendgridReturnPath(envelope string) (string, bool) {
	var env struct {
		From *string `json:"from"`
	}
	if envelope == "" || json.Unmarshal([]byte(envelope), &env) != nil {
		return "", false
	}
	if env.From == nil {
		// "from": null is the null reverse path; no "from" at all says nothing.
		return "<>", strings.Contains(envelope, `"from"`)
	}
	addr := strings.Trim(headerValue(*env.From), "<> \t")
	if strings.ContainsAny(addr, "<>\" \t,;") {
		return "", false
	}
	return "<" + addr + ">", true
}

// decodeText converts s, posted in the named charset, to UTF-8. Text that
// is valid UTF-8 with non-ASCII characters but labelled with a single-byte
// charset is taken as the UTF-8 it is (a mislabel: Latin-1 text is almost
// never valid UTF-8). ISO-8859-1 is read as Windows-1252, as mail readers
// and browsers do. An unknown charset leaves UTF-8 as it is and reads
// anything else as Windows-1252; undecodable bytes become U+FFFD.
func decodeText(s, label string) string {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	switch l {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		if validUTF8(s) {
			return s
		}
		l = "windows-1252"
	}
	enc := lookupCharset(l)
	switch {
	case enc == nil && validUTF8(s):
		return s
	case enc == nil:
		enc = lookupCharset("windows-1252")
	case singleByte(enc) && !isASCII(s) && validUTF8(s):
		return s
	}
	out, err := enc.NewDecoder().String(s)
	if err != nil {
		out = s
	}
	return strings.TrimPrefix(strings.ToValidUTF8(out, "\uFFFD"), "\ufeff")
}

// setAddresses sets an address field from a decoded value: as an address
// list when it parses as one, else as text.
func setAddresses(h *gomail.Header, key, v string) {
	v = headerValue(v)
	if list, err := mail.ParseAddressList(v); err == nil && len(list) > 0 {
		addrs := make([]*gomail.Address, len(list))
		for i, a := range list {
			addrs[i] = (*gomail.Address)(a)
		}
		h.SetAddressList(key, addrs)
		return
	}
	h.SetText(key, v)
}

// attachFile adds an attachment; only the media type and charset of
// contentType are kept, and the Content-ID when there is one.
func attachFile(w *gomail.Writer, name, contentType, contentID string, data []byte) error {
	var ah gomail.AttachmentHeader
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.Contains(mt, "/") {
		mt, params = "application/octet-stream", nil
	}
	kept := map[string]string{}
	if cs := params["charset"]; cs != "" && isToken(cs) {
		kept["charset"] = cs
	}
	ah.SetContentType(mt, kept)
	if name != "" {
		ah.SetFilename(name)
	}
	if id := strings.Trim(headerValue(contentID), "<> "); msgIDText(id) && len(id) < 900 {
		ah.Set("Content-Id", "<"+id+">")
	}
	aw, err := w.CreateAttachment(ah)
	if err != nil {
		return err
	}
	if _, err := aw.Write(data); err != nil {
		return err
	}
	return aw.Close()
}

func firstValue(f *Form, name string) string {
	if v := f.Fields[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
