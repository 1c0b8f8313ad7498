package mailparse

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

// parseFixture parses testdata/own/<name> and compares the result with
// testdata/golden/own/<name>.json.
func parseFixture(t *testing.T, name string) (*message.Message, *memBlobs) {
	t.Helper()
	blobs := newMemBlobs()
	m, err := New(testOptions(blobs)).Parse(t.Context(), message.ChannelIMAP, readFile(t, filepath.Join("testdata", "own", name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	checkMessage(t, name, m, blobs)
	compareGolden(t, filepath.Join("testdata", "golden", "own", name+".json"), goldenJSON(m, nil))
	return m, blobs
}

func hasRule(m *message.Message, rule string) bool {
	return slices.ContainsFunc(m.Automation, func(s message.Signal) bool { return s.Rule == rule })
}

func TestGoldenOwnPlain(t *testing.T) {
	m, _ := parseFixture(t, "plain.eml")
	if m.From != (message.Address{Name: "Anna Customer", Addr: "Anna.Customer@example.org"}) {
		t.Errorf("From = %+v", m.From)
	}
	if len(m.Cc) != 2 || m.Cc[0].Name != "Jürgen Müller" || m.Cc[1].Addr != "bob@example.org" {
		t.Errorf("Cc = %+v", m.Cc)
	}
	if len(m.ReplyTo) != 1 || m.ReplyTo[0].Addr != "anna.private@example.net" {
		t.Errorf("ReplyTo = %+v", m.ReplyTo)
	}
	if m.Subject != "Re: Meine Bestellung – Wärmepumpe" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if want := time.Date(2026, 3, 3, 8, 14, 0, 0, time.UTC); !m.Date.Equal(want) {
		t.Errorf("Date = %v", m.Date)
	}
	if m.MessageID != "msg-1@mail.example.org" || m.ReturnPath != "anna.customer@example.org" {
		t.Errorf("MessageID %q ReturnPath %q", m.MessageID, m.ReturnPath)
	}
	if !slices.Equal(m.InReplyTo, []string{"ack-42.fd@frontdesk.example"}) ||
		!slices.Equal(m.References, []string{"first@mail.example.org", "ack-42.fd@frontdesk.example"}) {
		t.Errorf("InReplyTo %q References %q", m.InReplyTo, m.References)
	}
	if !strings.Contains(m.Text, "meine Wärmepumpe (Bestellung 1234567)") || !strings.HasSuffix(m.Text, "Grüße, Anna") {
		t.Errorf("Text = %q", m.Text)
	}
	if len(m.Automation) != 0 || m.CardsMasked != 0 || len(m.Warnings) != 0 {
		t.Errorf("unexpected automation %v, cards %d, warnings %v", m.Automation, m.CardsMasked, m.Warnings)
	}
}

func TestGoldenOwnHTMLOnly(t *testing.T) {
	m, _ := parseFixture(t, "html-only.eml")
	for _, bad := range []string{"<script", "alert", "onload", "onclick", "onerror", "javascript:", "<base", "<meta", "refresh", "@import", "<style", "evil.example", "Ignored title"} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("sanitised HTML still holds %q: %s", bad, m.HTML)
		}
	}
	if !strings.Contains(m.HTML, `href="https://shop.example/o/77"`) {
		t.Errorf("safe link lost: %s", m.HTML)
	}
	want := "Hello\n\nPlease change my order no. A-77.\n\nclick me or see order\n\n- two lamps\n- one cable\n\nqty 3\n\nThanks\nMia"
	if m.Text != want {
		t.Errorf("Text from HTML =\n%q\nwant\n%q", m.Text, want)
	}
}

func TestGoldenOwnAlternative(t *testing.T) {
	m, blobs := parseFixture(t, "alternative.eml")
	if m.Text != "The box arrived crushed, see the photo." {
		t.Errorf("Text = %q", m.Text)
	}
	if !strings.Contains(m.HTML, `src="cid:photo1@example.com"`) {
		t.Errorf("HTML lost its inline image: %s", m.HTML)
	}
	if len(m.Attachments) != 2 {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	img, pdf := m.Attachments[0], m.Attachments[1]
	if img.ContentType != "image/png" || !img.Inline || img.Filename != "attachment-1.png" {
		t.Errorf("inline image = %+v", img)
	}
	if pdf.Filename != "invoice.pdf" || pdf.Inline || !strings.HasPrefix(string(blobs.get(pdf.Blob)), "%PDF-1.4") {
		t.Errorf("pdf = %+v", pdf)
	}
}

func TestGoldenOwnRFC2231(t *testing.T) {
	m, blobs := parseFixture(t, "attachments-2231.eml")
	var names []string
	for _, a := range m.Attachments {
		names = append(names, a.Filename)
	}
	want := []string{"Ärger über Lieferung.txt", "Prüfbericht Teil 1.pdf", "Schäden.jpg", "€-Preise.xls"}
	if !slices.Equal(names, want) {
		t.Errorf("names = %q, want %q", names, want)
	}
	if got := string(blobs.get(m.Attachments[0].Blob)); got != "Lieferung kam zu sp=E4t." {
		t.Errorf("attachment without transfer encoding changed: %q", got)
	}
}

func TestGoldenOwnHostileNames(t *testing.T) {
	m, _ := parseFixture(t, "hostile-names.eml")
	var names []string
	for _, a := range m.Attachments {
		names = append(names, a.Filename)
	}
	want := []string{
		"passwd", "evil.bat", "report.txt", "invoicefdp.exe", "nulbytebell.txt", "line break.txt",
		strings.Repeat("a", maxFilenameBytes-4) + ".pdf", "attachment-8.zip", "attachment-9.pdf",
		"x.txt", "what_______.txt",
	}
	if !slices.Equal(names, want) {
		t.Errorf("names =\n%q\nwant\n%q", names, want)
	}
}

func TestGoldenOwnDSN(t *testing.T) {
	m, _ := parseFixture(t, "dsn-own.eml")
	s, ok := m.Automated()
	if !ok || s.Rule != RuleAutoSubmitted {
		t.Errorf("Automated = %v %v", s, ok)
	}
	for _, r := range []string{RuleNullReturnPath, RuleMultipartReport, RuleReportPart, RuleAutomatedSender} {
		if !hasRule(m, r) {
			t.Errorf("rule %s missing: %v", r, m.Automation)
		}
	}
	want := &message.Report{Type: "delivery-status", OriginalMessageID: "ack-1001.fd@frontdesk.example",
		FailedRecipients: []string{"gone@example.org"}, Permanent: true}
	if r := m.Report; r == nil || r.Type != want.Type || r.OriginalMessageID != want.OriginalMessageID ||
		!slices.Equal(r.FailedRecipients, want.FailedRecipients) || !r.Permanent {
		t.Errorf("Report = %+v, want %+v", m.Report, want)
	}
	if m.ReturnPath != "<>" {
		t.Errorf("ReturnPath = %q", m.ReturnPath)
	}
}

func TestGoldenOwnMDN(t *testing.T) {
	m, _ := parseFixture(t, "mdn.eml")
	if m.Report == nil || m.Report.Type != "disposition-notification" || m.Report.OriginalMessageID != "ack-1002.fd@frontdesk.example" {
		t.Errorf("Report = %+v", m.Report)
	}
	if s, ok := m.Automated(); !ok || s.Rule != RuleMultipartReport {
		t.Errorf("Automated = %v %v", s, ok)
	}
}

func TestGoldenOwnLoop(t *testing.T) {
	m, _ := parseFixture(t, "own-loop.eml")
	for _, r := range []string{RuleOwnAddress, RuleOwnXLoop, RuleOwnMessageID, RuleAutoSubmitted, RulePrecedence, RuleAutoResponseSuppress} {
		if !hasRule(m, r) {
			t.Errorf("rule %s missing: %v", r, m.Automation)
		}
	}
}

func TestGoldenOwnAutoreply(t *testing.T) {
	m, _ := parseFixture(t, "autoreply.eml")
	if !hasRule(m, RuleAutoResponseSuppress) || !hasRule(m, RuleAutoSubmitted) {
		t.Errorf("rules: %v", m.Automation)
	}
	last := m.Automation[len(m.Automation)-1]
	if last.Rule != RuleSubject || !last.Weak {
		t.Errorf("weak subject signal missing or not last: %v", m.Automation)
	}
	w, _ := parseFixture(t, "weak-subject.eml")
	if _, ok := w.Automated(); ok || !hasRule(w, RuleSubject) {
		t.Errorf("a subject phrase alone must be weak: %v", w.Automation)
	}
}

func TestGoldenOwnBrokenHeaders(t *testing.T) {
	m, _ := parseFixture(t, "broken-headers.eml")
	if m.From.Addr != "ok@example.com" {
		t.Errorf("From = %+v", m.From)
	}
	if len(m.To) != 0 {
		t.Errorf("To = %+v", m.To)
	}
	if len(m.Cc) != 2 || m.Cc[0].Addr != "good@example.com" || m.Cc[1] != (message.Address{Name: "Weird, Name", Addr: "weird@example.com"}) {
		t.Errorf("Cc = %+v", m.Cc)
	}
	if m.Subject != "=?x-unknown-charset?Q?caf=E9?= and oké" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if !m.Date.IsZero() || m.MessageID != "not-in-brackets@example.com" || !slices.Equal(m.InReplyTo, []string{"a@b", "c@d"}) {
		t.Errorf("Date %v MessageID %q InReplyTo %q", m.Date, m.MessageID, m.InReplyTo)
	}
	if !strings.HasPrefix(m.Text, "body in an unknown charset") {
		t.Errorf("Text = %q", m.Text)
	}
	joined := strings.Join(m.Warnings, "\n")
	for _, w := range []string{"malformed From", "subject: charset", "unreadable Date", "unknown transfer encoding", `charset "x-klingon"`} {
		if !strings.Contains(joined, w) {
			t.Errorf("warning %q missing in\n%s", w, joined)
		}
	}
	r, _ := parseFixture(t, "raw-8bit.eml")
	if r.Subject != "bad bytes été" || r.Text != "no charset: résumé" {
		t.Errorf("8-bit: subject %q text %q", r.Subject, r.Text)
	}
}

func TestGoldenOwnForwarded(t *testing.T) {
	m, blobs := parseFixture(t, "forwarded.eml")
	if len(m.Automation) != 0 || m.Report != nil {
		t.Errorf("an attached message is no report: %v %+v", m.Automation, m.Report)
	}
	if m.Text != "See the attached message." || len(m.Attachments) != 1 {
		t.Fatalf("Text %q attachments %+v", m.Text, m.Attachments)
	}
	a := m.Attachments[0]
	if a.Filename != "complaint.eml" || a.ContentType != "message/rfc822" || !strings.Contains(string(blobs.get(a.Blob)), "inner text, not ours") {
		t.Errorf("attachment = %+v", a)
	}
}

func TestGoldenOwnCards(t *testing.T) {
	m, blobs := parseFixture(t, "cards.eml")
	if m.Subject != "Pay with 4111 11XX XXXX 1111 please" {
		t.Errorf("Subject = %q", m.Subject)
	}
	wantText := "My Amex is 3782 82XXXX X0005, exp 12/27, CVV XXXX. Or Visa 4242-42XX-XXXX-4242 security code XXX.\nOrder 2026-03-05 ref 1234567890."
	if m.Text != wantText {
		t.Errorf("Text =\n%q\nwant\n%q", m.Text, wantText)
	}
	if !strings.Contains(m.HTML, "378282XXXXX0005") || !strings.Contains(m.HTML, "cvc: XXXX") {
		t.Errorf("HTML = %q", m.HTML)
	}
	if len(m.Attachments) != 1 || string(blobs.get(m.Attachments[0].Blob)) != "Card: 6011 00XX XXXX 9424, CVV XXX\n" {
		t.Errorf("attachment not masked: %q", blobs.get(m.Attachments[0].Blob))
	}
	// subject 1, text 2, HTML 1, attachment 1
	if m.CardsMasked != 5 {
		t.Errorf("CardsMasked = %d, want 5", m.CardsMasked)
	}
}
