package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	gomail "github.com/emersion/go-message/mail"
)

// MailgunMessage turns the fields of a Mailgun route post (parsed with
// ParseForm: Mailgun posts multipart or URL-encoded forms) into the raw
// message to accept and its idempotency key (the post's token, else the
// message's Message-Id, else a hash of the message). With the raw MIME field (body-mime, or message-mime for
// stored messages) the message is that, verbatim; otherwise it is rebuilt
// from message-headers (every original header but the MIME structure, so
// threading and loop protection behave as for IMAP mail), body-plain,
// body-html and the uploaded attachments.
func MailgunMessage(f *Form) (raw []byte, key string, err error) {
	key = f.Value("token")
	for _, name := range []string{"body-mime", "message-mime"} {
		if v := f.Fields[name]; len(v) > 0 && v[0] != "" {
			return []byte(v[0]), keyOf(key, messageIDOf(v[0]), []byte(v[0]), nil), nil
		}
	}
	pairs, ok := headerPairs(f)
	if !ok {
		return nil, "", &FieldError{Field: "message-headers", Reason: "not a JSON list of [name, value] pairs, and no header fields posted"}
	}
	var h gomail.Header
	hasFrom := false
	for _, p := range pairs {
		name := strings.TrimSpace(p[0])
		lower := strings.ToLower(name)
		if !fieldName(name) || lower == "content-type" || lower == "content-transfer-encoding" || lower == "mime-version" {
			continue
		}
		hasFrom = hasFrom || lower == "from"
		h.Add(name, flat(p[1]))
	}
	if !hasFrom {
		from := f.Value("from")
		if from == "" {
			from = f.Value("sender")
		}
		if from == "" {
			return nil, "", &FieldError{Field: "from", Reason: "required (no From in message-headers either)"}
		}
		h.Set("From", flat(from))
		if s := f.Value("subject"); s != "" {
			h.Set("Subject", flat(s))
		}
	}

	var buf bytes.Buffer
	w, err := gomail.CreateWriter(&buf, h)
	if err != nil {
		return nil, "", err
	}
	if err := writeBodies(w, strings.Join(f.Fields["body-plain"], ""), strings.Join(f.Fields["body-html"], "")); err != nil {
		return nil, "", err
	}
	for _, file := range f.Files {
		if err := attach(w, flat(file.Name), file.ContentType, file.Data); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	// Not a hash of the rendered message: its boundaries are random.
	return buf.Bytes(), keyOf(key, strings.TrimSpace(h.Get("Message-Id")), nil, f), nil
}

// keyOf is a post's idempotency key: its token, else the message's
// Message-ID, else a hash of the raw message as posted (raw), or of the
// post's fields and files (f) when the message was rebuilt from them.
func keyOf(token, messageID string, raw []byte, f *Form) string {
	switch {
	case token != "":
		return "token:" + token
	case messageID != "":
		return "message-id:" + messageID
	case f != nil:
		return "sha256:" + formHash(f)
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// headerPairs returns the original headers: message-headers when it is
// the JSON list Mailgun documents, else the post's capitalised fields,
// which Mailgun also posts one per header ("From", "In-Reply-To"...;
// its own fields are lower case). ok is false when neither is there.
func headerPairs(f *Form) (pairs [][2]string, ok bool) {
	mh := f.Value("message-headers")
	if mh != "" && json.Unmarshal([]byte(mh), &pairs) == nil {
		return pairs, true
	}
	pairs = nil
	for _, name := range f.Order {
		if name[0] >= 'A' && name[0] <= 'Z' && fieldName(name) {
			for _, v := range f.Fields[name] {
				pairs = append(pairs, [2]string{name, v})
			}
		}
	}
	return pairs, mh == "" || len(pairs) > 0
}

// messageIDOf returns the Message-ID field of a raw message's header, "" when
// there is none; enough for a key when a post has no token.
func messageIDOf(raw string) string {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	for _, line := range strings.Split(head, "\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "message-id") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
