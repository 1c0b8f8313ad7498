package webhook

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/message"
)

// sendgridCorpus is where SendGrid's own Inbound Parse sample bodies are.
func sendgridCorpus(t *testing.T) string {
	return filepath.Join(testenv.Corpora(t), "webhooks", "sendgrid-python", "sendgrid", "helpers", "inbound", "sample_data")
}

// djangoInbound is where django-inbound-email's payloads (form fields
// saved as JSON) and upload files are.
func djangoInbound(t *testing.T) string {
	return filepath.Join(testenv.Corpora(t), "webhooks", "django-inbound-email", "inbound_email", "tests", "test_files")
}

// renderSendGrid reads a post as the handler does and renders it.
func renderSendGrid(t *testing.T, contentType string, body []byte) ([]byte, string, *message.Message) {
	t.Helper()
	f, err := readProviderForm(contentType, body, Limits{MaxFieldBytes: 1 << 20, MaxFileBytes: 1 << 20}, "email")
	if err != nil {
		t.Fatalf("read form: %v", err)
	}
	raw, key, err := SendGridMessage(f)
	if err != nil {
		t.Fatalf("SendGridMessage: %v", err)
	}
	m, err := newParser(t).Parse(t.Context(), message.ChannelWebhook, raw)
	if err != nil {
		t.Fatalf("normalise: %v\n%s", err, raw)
	}
	return raw, key, m
}

// SendGrid's sample bodies (LF line ends, boundary xYzZY), parsed and raw
// mode, become the mail that was sent.
func TestSendGridSamples(t *testing.T) {
	dir := sendgridCorpus(t)
	for _, c := range []struct {
		file, subject, keyPrefix string
		raw                      bool
		attachments              []string
	}{
		// The headers field is the original; its Subject wins over the
		// sample's edited subject field ("Testing non-raw").
		{"default_data.txt", "Inbound Parse Test Data", "sha256:", false, nil},
		{"raw_data.txt", "Inbound Parse Test Raw Data", "sha256:", true, nil},
		{"raw_data_with_attachments.txt", "Inbound Parse Test Raw Data with Attachment", "sha256:", true, []string{"SendGrid.jpg"}},
		{"default_data_with_attachments.txt", "", "", false, nil},
	} {
		t.Run(c.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(body) == 0 {
				t.Skip("empty in the corpus copy; TestSendGridDjangoSamples and TestSendGridCharsets post uploads")
			}
			raw, key, m := renderSendGrid(t, "multipart/form-data; boundary=xYzZY", body)
			if m.From.Addr != "test@example.com" || m.From.Name != "Example User" || m.Subject != c.subject {
				t.Fatalf("from %+v subject %q\n%s", m.From, m.Subject, raw)
			}
			if !strings.Contains(m.Text, "Hello Twilio SendGrid!") || !strings.Contains(m.HTML, "Hello Twilio SendGrid!") {
				t.Errorf("text %q html %q", m.Text, m.HTML)
			}
			if m.ReturnPath != "test@example.com" && m.ReturnPath != "<test@example.com>" {
				t.Errorf("return path %q, want the envelope's sender", m.ReturnPath)
			}
			if !strings.HasPrefix(key, c.keyPrefix) {
				t.Errorf("key %q", key)
			}
			var names []string
			for _, a := range m.Attachments {
				names = append(names, a.Filename)
			}
			if strings.Join(names, ",") != strings.Join(c.attachments, ",") {
				t.Errorf("attachments %q, want %q", names, c.attachments)
			}
			if c.raw {
				// Verbatim: the email field, behind the Return-Path the
				// envelope gave.
				f, _ := readProviderForm("multipart/form-data; boundary=xYzZY", body, Limits{MaxFieldBytes: 1 << 20}, "email")
				if want := "Return-Path: <test@example.com>\n" + f.Fields["email"][0]; string(raw) != want {
					t.Fatalf("raw mode not verbatim:\n%q\nwant\n%q", raw, want)
				}
			}
		})
	}
}

// multipartPost renders fields (in order) and uploads as SendGrid posts
// them.
func multipartPost(t *testing.T, fields [][2]string, files []File) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f.Field+`"; filename="`+f.Name+`"`)
		h.Set("Content-Type", f.ContentType)
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(f.Data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

// django-inbound-email's SendGrid payloads, posted as SendGrid posts them
// (as its tests did: the fields as multipart, the upload files as
// attachment1 and attachment2).
func TestSendGridDjangoSamples(t *testing.T) {
	dir := djangoInbound(t)
	jpg, err := os.ReadFile(filepath.Join(dir, "test_upload_file.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "test_upload_file.txt"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("utf-8 with uploads", func(t *testing.T) {
		fields := orderedFields(t, filepath.Join(dir, "sendgrid_post.test_inbound_payload.json"))
		ct, body := multipartPost(t, fields, []File{
			{Field: "attachment1", Name: "test_upload_file.jpg", ContentType: "image/jpeg", Data: jpg},
			{Field: "attachment2", Name: "test_upload_file.txt", ContentType: "text/plain", Data: txt},
		})
		raw, key, m := renderSendGrid(t, ct, body)
		if key != "message-id:<E31C8C77-1EE4-41C9-A503-2C028F224D7C@example.com>" {
			t.Errorf("key %q", key)
		}
		if m.From.Addr != "from@example.com" || m.From.Name != "Hugo Rodger-Brown" || m.Subject != "test" {
			t.Fatalf("from %+v subject %q", m.From, m.Subject)
		}
		if m.MessageID != "E31C8C77-1EE4-41C9-A503-2C028F224D7C@example.com" || !strings.HasPrefix(m.Text, "This is a message.") {
			t.Errorf("message id %q text %q", m.MessageID, m.Text)
		}
		if len(m.Cc) != 2 || m.Cc[0].Addr != "b@example.com" || len(m.To) != 1 || m.To[0].Addr != "to@example.com" {
			t.Errorf("to %+v cc %+v", m.To, m.Cc)
		}
		// attachment-info names attachment1 (the payload says a PNG
		// screenshot); attachment2 keeps its own name and type.
		if len(m.Attachments) != 2 || m.Attachments[0].Filename != "Screen Shot 2014-05-12 at 17.06.14.png" ||
			m.Attachments[1].Filename != "test_upload_file.txt" || m.Attachments[1].Size != int64(len(txt)) {
			t.Errorf("attachments %+v", m.Attachments)
		}
		head := headerBlock(raw)
		for _, want := range []string{"X-Mailer: Unibox (188)", "X-Frontdesk-Sendgrid-Spf: pass", "X-Frontdesk-Sendgrid-Spam-Score: 0.266", "Return-Path: <from@example.com>"} {
			if !strings.Contains(head, want) {
				t.Errorf("header lacks %q:\n%s", want, head)
			}
		}
		if strings.Contains(head, "=_C7FE9D5A") {
			t.Errorf("the original MIME structure came through:\n%s", head)
		}
	})

	// The windows-1252 sample, posted as its Django test posted it: the
	// text's bytes are UTF-8 while charsets says windows-1252 (and ∑ has
	// no windows-1252 form), so it must come out as the text it is, not
	// as mojibake. The same text truly in windows-1252 must come out too.
	fields := orderedFields(t, filepath.Join(dir, "sendgrid_post_windows_1252.test_inbound_payload_1252.json"))
	const want = "This is a message in windows-1252 encoding. åßœ∑´¥¨¨^"
	t.Run("windows-1252 as posted", func(t *testing.T) {
		ct, body := multipartPost(t, fields, nil)
		_, key, m := renderSendGrid(t, ct, body)
		if strings.TrimSpace(m.Text) != want {
			t.Fatalf("text %q, want %q", m.Text, want)
		}
		if m.From.Addr != "from@example.com" || m.Subject != "test" || len(m.Cc) != 2 || !strings.HasPrefix(key, "sha256:") {
			t.Fatalf("from %+v subject %q cc %+v key %q", m.From, m.Subject, m.Cc, key)
		}
	})
	t.Run("windows-1252 bytes", func(t *testing.T) {
		var cp [][2]string
		for _, f := range fields {
			if f[0] == "text" {
				b, err := charmap.Windows1252.NewEncoder().String(strings.ReplaceAll(f[1], "∑", ""))
				if err != nil {
					t.Fatal(err)
				}
				f[1] = b
			}
			cp = append(cp, f)
		}
		ct, body := multipartPost(t, cp, nil)
		_, _, m := renderSendGrid(t, ct, body)
		if got := strings.TrimSpace(m.Text); got != strings.ReplaceAll(want, "∑", "") {
			t.Fatalf("text %q", got)
		}
	})
}

// A post whose fields are in four charsets (the shape of a real capture:
// UTF-8 sender, cp850 subject, windows-1252 text, ISO-8859-1 HTML) comes
// out in UTF-8, with the attachment named as attachment-info says.
func TestSendGridCharsets(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "sendgrid", "charsets.multipart"))
	if err != nil {
		t.Fatal(err)
	}
	raw, key, m := renderSendGrid(t, "multipart/form-data; boundary=xYzZY", body)
	if key != "message-id:<charsets.1@mail.example.net>" {
		t.Errorf("key %q", key)
	}
	if m.From.Name != "Opératrice Dupré" || m.From.Addr != "claire@example.net" || m.Subject != "Mi pedido, ¿dónde está?" {
		t.Fatalf("from %+v subject %q\n%s", m.From, m.Subject, raw)
	}
	if !strings.Contains(m.Text, "The customer’s parcel arrived damaged – please advise…") {
		t.Errorf("text %q", m.Text)
	}
	if !strings.Contains(m.HTML, "¡La tetera llegó rota!") {
		t.Errorf("html %q", m.HTML)
	}
	if len(m.To) != 1 || m.To[0].Name != "Service clientèle" {
		t.Errorf("to %+v (the header block's, encoded word decoded)", m.To)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "Bon de livraison – n°4711.pdf" || m.Attachments[0].ContentType != "application/pdf" {
		t.Errorf("attachments %+v", m.Attachments)
	}
	// The original fields in their order, the folded one unfolded.
	var order []string
	for _, p := range parseHeaderBlock(headerBlock(raw)) {
		order = append(order, p[0])
	}
	if got := strings.Join(order, ","); !strings.HasSuffix(got, "Received,Date,Message-Id,To") {
		t.Errorf("field order %s", got)
	}
	if got := fieldOf(parseHeaderBlock(headerBlock(raw)), "received"); got != "from mail.example.net by mx.sendgrid.example with SMTP id x1 Tue, 24 Nov 2026 09:15:02 +0000" {
		t.Errorf("folded Received: %q", got)
	}
}

// Threading and loop-protection headers survive a parsed-mode post;
// header values never become lines of their own, and header fields
// claiming our own verdicts are dropped.
func TestSendGridKeepsHeaders(t *testing.T) {
	headers := "From: Ann <ann@example.net>\n" +
		"Subject: Re: [Case C-000042] kettle\n" +
		"Message-ID: <reply.1@example.net>\n" +
		"In-Reply-To: <ack.42@desk.example>\n" +
		"References: <case.42@desk.example>\n <ack.42@desk.example>\n" +
		"Auto-Submitted: auto-replied\n" +
		"X-Frontdesk-Sendgrid-Spf: pass\n" +
		"not a header line\n" +
		" its continuation\n" +
		"Bad Name: x\n" +
		"Content-Type: text/evil\n" +
		"\n" +
		"Body: not a header\n"
	fields := map[string][]string{
		"headers":  {headers},
		"text":     {"Still broken.\r\nBcc: v@example.org"},
		"subject":  {"ignored\r\nBcc: v@example.org"},
		"envelope": {`{"to":["desk@inbound.example.test"],"from":null}`},
	}
	raw, key, err := SendGridMessage(&Form{Fields: fields})
	if err != nil || key != "message-id:<reply.1@example.net>" {
		t.Fatalf("%q %v", key, err)
	}
	head := headerBlock(raw)
	for _, want := range []string{"In-Reply-To: <ack.42@desk.example>", "References: <case.42@desk.example> <ack.42@desk.example>", "Auto-Submitted: auto-replied", "Return-Path: <>"} {
		if !strings.Contains(head, want) {
			t.Errorf("header lacks %q:\n%s", want, head)
		}
	}
	for _, bad := range []string{"text/evil", "Bcc", "Body:", "its continuation", "Bad Name", "X-Frontdesk-Sendgrid-Spf"} {
		if strings.Contains(head, bad) {
			t.Errorf("header has %q:\n%s", bad, head)
		}
	}
	m, err := newParser(t).Parse(t.Context(), message.ChannelWebhook, raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, auto := m.Automated(); !auto || m.ReturnPath != "<>" || len(m.InReplyTo) != 1 || len(m.References) != 2 {
		t.Fatalf("automation %+v return path %q threading %v %v", m.Automation, m.ReturnPath, m.InReplyTo, m.References)
	}
}

func TestSendGridRefuses(t *testing.T) {
	for name, fields := range map[string]map[string][]string{
		"nothing":        {},
		"no sender":      {"text": {"hi"}, "headers": {"Subject: x\n"}},
		"blank raw":      {"email": {" \r\n"}, "subject": {"x"}},
		"sender unusabl": {"from": {"  "}, "text": {"hi"}},
		"empty From":     {"headers": {"From: \nSubject: x\n"}, "text": {"hi"}},
	} {
		var fe *FieldError
		if _, _, err := SendGridMessage(&Form{Fields: fields}); !errors.As(err, &fe) || fe.Field != "from" {
			t.Errorf("%s: %v, want a field error naming from", name, err)
		}
	}
	// Without Message-ID, two different messages never share a key; the
	// same one twice always does.
	a := &Form{Fields: map[string][]string{"from": {"a@b.example"}, "text": {"one"}}}
	b := &Form{Fields: map[string][]string{"from": {"a@b.example"}, "text": {"two"}}}
	_, k1, _ := SendGridMessage(a)
	_, k1again, _ := SendGridMessage(a)
	_, k2, _ := SendGridMessage(b)
	if k1 == k2 || k1 != k1again || !strings.HasPrefix(k1, "sha256:") {
		t.Fatalf("keys %q %q %q", k1, k1again, k2)
	}
}

func TestDecodeText(t *testing.T) {
	for _, c := range []struct{ in, label, want string }{
		{"plain", "", "plain"},
		{"caf\xe9", "iso-8859-1", "café"},
		{"\x93quoted\x94", "ISO-8859-1", "“quoted”"}, // Latin-1 read as Windows-1252
		{"caf\xe9", "utf-8", "café"},                 // invalid UTF-8 labelled UTF-8
		{"café", "windows-1252", "café"},             // UTF-8 labelled Latin: a mislabel
		{"pidi\xa2", "cp850", "pidió"},
		{"\x1b$B$3$s$K$A$O\x1b(B", "iso-2022-jp", "こんにちは"}, // ASCII bytes, still decoded
		{"\x82\xb1\x82\xf1", "shift_jis", "こん"},
		{"caf\xe9", "x-no-such-charset", "café"},
		{"café", "x-no-such-charset", "café"},
		{"\xff\xfeh\x00i\x00", "utf-16", "hi"}, // the BOM dropped
	} {
		if got := decodeText(c.in, c.label); got != c.want {
			t.Errorf("decodeText(%q, %q) = %q, want %q", c.in, c.label, got, c.want)
		}
	}
}

func TestReadProviderForm(t *testing.T) {
	// URL encoded: order kept, bytes kept, junk names skipped.
	f, err := readProviderForm("application/x-www-form-urlencoded", []byte("B=2&A=1&body-mime=caf%E9&%FF=x&=y&A=3"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.Order, ",") != "B,A,body-mime" || f.Fields["body-mime"][0] != "caf\xe9" || len(f.Fields["A"]) != 2 {
		t.Fatalf("%+v", f)
	}
	// Multipart: a part with an empty filename is an upload, but a raw
	// field stays a value whatever it says.
	body := "--b\r\nContent-Disposition: form-data; name=\"attachment1\"; filename=\"\"\r\n\r\n\x00\x01\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"email\"; filename=\"mail.eml\"\r\n\r\nFrom: a@b.example\r\n\r\nhi\xe9\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"attachment2\"; filename=\"C:\\\\Users\\\\ann\\\\bon.pdf\"\r\n\r\n%PDF\r\n--b--\r\n"
	f, err = readProviderForm("multipart/form-data; boundary=b", []byte(body), Limits{}, "email")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Files) != 2 || f.Files[0].Name != "" || f.Files[1].Name != "bon.pdf" || f.Fields["email"][0] != "From: a@b.example\r\n\r\nhi\xe9" {
		t.Fatalf("files %+v fields %q", f.Files, f.Fields)
	}
	for name, c := range map[string]struct {
		ct, body string
		lim      Limits
		want     error
	}{
		"field too long": {"application/x-www-form-urlencoded", "a=12345", Limits{MaxFieldBytes: 4}, ErrTooLarge},
		"too many files": {"multipart/form-data; boundary=b", strings.Repeat("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\nx\r\n", 3) + "--b--\r\n", Limits{MaxFiles: 2}, ErrTooLarge},
		"file too large": {"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n12345\r\n--b--\r\n", Limits{MaxFileBytes: 4}, ErrTooLarge},
		"json":           {"application/json", "{}", Limits{}, ErrUnsupportedType},
		"no type":        {"", "a=1", Limits{}, ErrUnsupportedType},
	} {
		if _, err := readProviderForm(c.ct, []byte(c.body), c.lim); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	var fe *FieldError
	if _, err := readProviderForm("multipart/form-data; boundary=b", []byte("--b\r\nbroken"), Limits{}); !errors.As(err, &fe) {
		t.Errorf("broken multipart: %v", err)
	}
	if _, err := readProviderForm("application/x-www-form-urlencoded", []byte("a=%zz"), Limits{}); !errors.As(err, &fe) {
		t.Errorf("broken URL encoding: %v", err)
	}
}

// FuzzSendGrid: any post gives a message with a key, or an error that is
// the sender's fault (400/413/415), never a panic. A rebuilt message's
// header is always well formed.
func FuzzSendGrid(f *testing.F) {
	f.Add([]byte("--xYzZY\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\nAnn <ann@example.net>\r\n--xYzZY\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--xYzZY--\r\n"), "multipart/form-data; boundary=xYzZY")
	f.Add([]byte("--xYzZY\nContent-Disposition: form-data; name=\"email\"\n\nFrom: a@b.example\nMessage-ID: <x@y>\n\nhi\n--xYzZY--\n"), "multipart/form-data; boundary=xYzZY")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		form, err := readProviderForm(contentType, body, Limits{MaxFieldBytes: 1 << 16, MaxFileBytes: 1 << 16}, "email")
		if err != nil {
			checkSenderError(t, err)
			return
		}
		raw, key, err := SendGridMessage(form)
		if err != nil {
			checkSenderError(t, err)
			return
		}
		if key == "" || len(raw) == 0 {
			t.Fatalf("accepted without key or message: %q", body)
		}
		if _, ok := sendgridRaw(form); ok {
			return // verbatim: the sender's bytes
		}
		for line := range strings.SplitSeq(strings.TrimSuffix(headerBlock(raw), "\r"), "\r\n") {
			if strings.ContainsAny(line, "\r\n\x00") || (line != "" && line[0] != ' ' && line[0] != '\t' && !strings.Contains(line, ":")) {
				t.Fatalf("bad header line %q in\n%s", line, raw)
			}
		}
	})
}

// checkSenderError fails unless err is one the responder answers 400, 413
// or 415 naming the problem.
func checkSenderError(t *testing.T, err error) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("%T %v", err, err)
	}
}

// A header block as large as the post is cut to bounds: fields past
// maxHeaderFields dropped, each value clipped (go-message formats values
// in time quadratic in their length).
func TestSendGridBoundsHeader(t *testing.T) {
	headers := "From: a@b.example\nX-Long: a\n" + strings.Repeat(" bb\n", 20_000) + strings.Repeat("X-Many: x\n", 2*maxHeaderFields)
	pairs := parseHeaderBlock(headers)
	if len(pairs) != maxHeaderFields || len(pairs[1][1]) > maxHeaderValue || len(pairs[1][1]) < maxHeaderValue/2 {
		t.Fatalf("%d fields, value of %d bytes", len(pairs), len(pairs[1][1]))
	}
	if got := clip("aé", 2); got != "a" {
		t.Errorf("clip inside a rune: %q", got)
	}
	raw, _, err := SendGridMessage(&Form{Fields: map[string][]string{"headers": {headers}, "subject": {strings.Repeat("x ", 1<<16)}}})
	if err != nil || len(headerBlock(raw)) > 2*maxHeaderValue+maxHeaderFields*20 {
		t.Fatalf("%v, header of %d bytes", err, len(headerBlock(raw)))
	}
}
