package mailparse

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/internal/pci"
	"github.com/frontdesk/frontdesk/message"
)

const (
	visa     = "4111111111111111"
	visaMask = "411111XXXXXX1111"
	amex     = "378282246310005"
	amexMask = "378282XXXXX0005"
	long19   = "6011000000000000001"
)

// b64Lines encodes s as base64 in lines of 76 letters ended by eol.
func b64Lines(s, eol string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + eol)
		enc = enc[76:]
	}
	return b.String() + enc + eol
}

// crlf turns the LF line ends of s into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// maskParse runs MaskRaw on raw and parses the result.
// The parser must find no card number left, but for wantParser ones (card
// numbers in identifiers of attached messages, which it masks in the
// stored attachment and the raw copy keeps).
func maskParse(t *testing.T, raw string, wantParser int) ([]byte, int, *message.Message) {
	t.Helper()
	out, n, err := MaskRaw([]byte(raw), message.Limits{})
	if err != nil {
		t.Fatalf("MaskRaw: %v", err)
	}
	blobs := newMemBlobs()
	m, err := New(testOptions(blobs)).Parse(t.Context(), message.ChannelIMAP, out)
	if err != nil {
		t.Fatalf("Parse of the masked message: %v\n%s", err, out)
	}
	checkMessage(t, "masked", m, blobs)
	if m.CardsMasked != wantParser {
		t.Errorf("the parser found %d card numbers in the masked message, want %d:\n%s", m.CardsMasked, wantParser, out)
	}
	for _, a := range m.Attachments {
		if _, k := pci.MaskBytes(blobs.get(a.Blob)); k != 0 {
			t.Errorf("attachment %q still holds a card number", a.Filename)
		}
	}
	return out, n, m
}

// sameOutside checks that out differs from raw only inside [start, end).
func sameOutside(t *testing.T, raw string, out []byte, start, end int) {
	t.Helper()
	if len(out) != len(raw) {
		t.Fatalf("length changed: %d -> %d", len(raw), len(out))
	}
	for i := range out {
		if out[i] != raw[i] && (i < start || i >= end) {
			t.Fatalf("byte %d changed outside [%d,%d): %q", i, start, end, out[max(0, i-20):min(len(out), i+20)])
		}
	}
}

func TestMaskRawBase64Text(t *testing.T) {
	for _, eol := range []string{"\r\n", "\n"} {
		body := strings.Repeat("Hello, I would like to order the blue lamp. ", 3) +
			"\nMy card is " + visa + " exp 12/27 CVV 123.\nThanks\n"
		head := "From: a@example.com\nSubject: order\nMIME-Version: 1.0\n" +
			"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
		head = strings.ReplaceAll(head, "\n", eol)
		raw := head + b64Lines(body, eol)
		out, n, m := maskParse(t, raw, 0)
		if n != 1 {
			t.Errorf("%q: masked %d, want 1", eol, n)
		}
		sameOutside(t, raw, out, len(head), len(raw))
		if !strings.Contains(m.Text, "My card is "+visaMask+" exp 12/27 CVV XXX.") {
			t.Errorf("%q: text = %q", eol, m.Text)
		}
		// Line structure kept: the same line breaks at the same places.
		if strings.Count(string(out), eol) != strings.Count(raw, eol) {
			t.Errorf("%q: line breaks changed", eol)
		}
	}
}

func TestMaskRawQuotedPrintable(t *testing.T) {
	for name, qp := range map[string]string{
		"soft break in the number": "Pay with 4111 1111 11=\r\n11 1111 please=\r\n, and r=C3=A9f 12.\r\n",
		"digits escaped":           "Pay with =34=31=31=31" + "111111111111 please, and r=C3=A9f 12.\r\n",
		"soft break and escape":    "Pay with 41111111=\r\n=311111111 please, and r=C3=A9f 12.\r\n",
		"trailing space and break": "Pay with 4111-1111-1111-= \t\r\n1111 please, and r=C3=A9f 12.\r\n",
		"lf only":                  "Pay with 4111 1111 11=\n11 1111 please, and r=C3=A9f 12.\n",
	} {
		t.Run(name, func(t *testing.T) {
			head := "From: a@example.com\r\nSubject: order\r\nMIME-Version: 1.0\r\n" +
				"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
			raw := head + qp
			out, n, m := maskParse(t, raw, 0)
			if n != 1 {
				t.Errorf("masked %d, want 1", n)
			}
			sameOutside(t, raw, out, len(head), len(raw))
			if !strings.Contains(m.Text, "Pay with 4111") || !strings.Contains(m.Text, "XX") || !strings.Contains(m.Text, "1111 please") || !strings.Contains(m.Text, "réf 12") {
				t.Errorf("text = %q", m.Text)
			}
		})
	}
}

func TestMaskRawBase64HTML(t *testing.T) {
	html := "<html><body><p>Order 77</p><p>Card: <b>" + amex + "</b></p></body></html>"
	head := crlf("From: a@example.com\nSubject: order\nMIME-Version: 1.0\n" +
		"Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n")
	raw := head + b64Lines(html, "\r\n")
	out, n, m := maskParse(t, raw, 0)
	if n != 1 || !strings.Contains(m.HTML, amexMask) || !strings.Contains(m.Text, amexMask) {
		t.Errorf("masked %d; html %q text %q", n, m.HTML, m.Text)
	}
	sameOutside(t, raw, out, len(head), len(raw))
}

func TestMaskRawEncodedWords(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for name, subject := range map[string]string{
		"B":                  "=?utf-8?B?" + b64("Zahlung mit Karte "+visa+" bitte") + "?=",
		"Q":                  "=?iso-8859-1?Q?Zahlung_mit_Karte_" + visa + "_f=FCr_mich?=",
		"Q escaped digits":   "=?utf-8?q?Karte_=34=31=31=31_1111_1111_1111?=",
		"split across words": "=?utf-8?B?" + b64("Karte 4111 11") + "?=\r\n =?utf-8?B?" + b64("11 1111 1111 danke") + "?=",
		"word and plain":     "Karte 4111 =?utf-8?Q?1111_1111_1111?= danke",
		"folded plain":       "Karte 4111 1111\r\n 1111 1111 danke",
		"tab between":        "Karte 4111\t1111\t1111\t1111 danke",
		"nbsp in utf-8":      "=?utf-8?Q?Karte_4111=C2=A01111=C2=A01111=C2=A01111?=",
		"url-safe B":         "=?utf-8?B?" + base64.URLEncoding.EncodeToString([]byte("Karte>>> "+visa+" ???")) + "?=",
		"19 digits":          "=?utf-8?B?" + b64("Karte "+long19) + "?=",
	} {
		t.Run(name, func(t *testing.T) {
			head := "From: a@example.com\r\nSubject: " + subject + "\r\n"
			raw := head + "Message-ID: <x@example.com>\r\n\r\nHello\r\n"
			out, n, m := maskParse(t, raw, 0)
			if n != 1 {
				t.Errorf("masked %d, want 1", n)
			}
			sameOutside(t, raw, out, len("From: a@example.com\r\n"), len(head))
			if !strings.Contains(m.Subject, "Karte") || !strings.Contains(m.Subject, "XX") {
				t.Errorf("subject = %q", m.Subject)
			}
		})
	}
}

func TestMaskRawDisplayNameAndFilename(t *testing.T) {
	raw := crlf("From: =?utf-8?Q?Karte_" + visa + "?= <a@example.com>\n" +
		"Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n" +
		"Content-Type: text/plain\n\nhi\n--b\n" +
		"Content-Type: application/pdf\nContent-Disposition: attachment;\n filename=\"=?utf-8?B?" +
		base64.StdEncoding.EncodeToString([]byte("card "+amex+".pdf")) + "?=\"\n" +
		"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n")
	_, n, m := maskParse(t, raw, 0)
	if n != 2 {
		t.Errorf("masked %d, want 2", n)
	}
	if m.From.Name != "Karte "+visaMask || len(m.Attachments) != 1 || m.Attachments[0].Filename != "card "+amexMask+".pdf" {
		t.Errorf("from %q attachments %+v", m.From.Name, m.Attachments)
	}
}

func TestMaskRawLeavesBinaryAndIdentifiers(t *testing.T) {
	pdf := "%PDF-1.4\n1 0 obj << /Length 44 >> stream\nBT (" + visa + " " + amex + ") Tj ET\nendstream\n%%EOF\n"
	raw := crlf("From: a@example.com\nMessage-ID: <=?utf-8?Q?" + visa + "?=@example.com>\n" +
		"X-Request-ID: =?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte(visa)) + "?=\n" +
		"Subject: invoice\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed;\n boundary=\"----=_Part_0_" + visa + ".1700000000000\"\n\n" +
		"------=_Part_0_" + visa + ".1700000000000\nContent-Type: text/plain\n\nSee attached.\n" +
		"------=_Part_0_" + visa + ".1700000000000\n" +
		"Content-Type: application/pdf; name=invoice.pdf\nContent-Transfer-Encoding: base64\n\n" +
		b64Lines(pdf, "\n") +
		"------=_Part_0_" + visa + ".1700000000000\n" +
		"Content-Type: image/png\nContent-Transfer-Encoding: quoted-printable\n\n" + visa + "=0A\n" +
		"------=_Part_0_" + visa + ".1700000000000--\n")
	out, n, err := MaskRaw([]byte(raw), message.Limits{})
	if err != nil || n != 0 || string(out) != raw {
		t.Fatalf("n=%d err=%v; changed:\n%s", n, err, out)
	}
}

func TestMaskRawNestedAndAttachedMessages(t *testing.T) {
	// An attached message with a card in an encoded subject and a base64
	// body, and a Message-ID that looks like a card (an identifier: kept).
	inner := crlf("From: b@example.com\nSubject: =?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte("Karte "+amex)) + "?=\n" +
		"Message-ID: <" + visa + "@example.com>\nMIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
		b64Lines("inner card "+visa+"\n", "\n"))
	// The same sent base64, with a plain-text part whose digits only the
	// decoded message shows.
	encoded := crlf("From: c@example.com\nSubject: plain\nMessage-ID: <"+visa+"@example.net>\n"+
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=in\n\n--in\nContent-Type: text/plain\n\nplain card "+long19+"\n"+
		"--in\nContent-Type: message/rfc822\n\n") + inner + crlf("--in--\n")
	raw := crlf("From: a@example.com\nSubject: fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n"+
		"--outer\nContent-Type: multipart/alternative; boundary=alt\n\n"+
		"--alt\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncard 6011 0009 9013 9=\n424\n"+
		"--alt\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"+
		b64Lines("<p>card 6011 0009 9013 9424</p>", "\n")+
		"--alt--\n"+
		"--outer\nContent-Type: message/rfc822\n\n") + inner + crlf(
		"--outer\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n") +
		b64Lines(encoded, "\r\n") + crlf("--outer--\n")
	// The parser masks the card-like Message-IDs in the two stored
	// attachments (it masks attached messages whole).
	out, n, m := maskParse(t, raw, 2)
	// alternative: 2; attached message: subject + body; base64 message:
	// its plain part, and in the message attached to it the subject, the
	// body and, as MaskLiteral does over a message attached as it is,
	// the Message-ID (the body of the message around it).
	if n != 8 {
		t.Errorf("masked %d, want 8", n)
	}
	if len(out) != len(raw) {
		t.Errorf("length changed: %d -> %d", len(raw), len(out))
	}
	if !strings.Contains(string(out), "Message-ID: <"+visa+"@example.com>") {
		t.Error("the attached message's Message-ID was masked")
	}
	dec, _, _ := decodeBase64(out[bytes.LastIndex(out, []byte("base64\r\n\r\n"))+10:], 1<<20)
	for _, keep := range []string{"Message-ID: <" + visa + "@example.net>", "Message-ID: <" + visaMask + "@example.com>", "plain card 601100XXXXXXXXX0001"} {
		if !bytes.Contains(dec, []byte(keep)) {
			t.Errorf("%q missing in the base64 message:\n%s", keep, dec)
		}
	}
	if bytes.Contains(dec, []byte(long19)) {
		t.Error("card left in the base64 message")
	}
	if len(m.Attachments) != 2 {
		t.Errorf("attachments %+v", m.Attachments)
	}
}

func TestMaskRawWideCharsetLeftAlone(t *testing.T) {
	// UTF-16LE: the digits are not ASCII runs; the part is left as it is.
	var u16 []byte
	for _, c := range "card " + visa {
		u16 = append(u16, byte(c), 0)
	}
	raw := crlf("From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=UTF-16LE\nContent-Transfer-Encoding: base64\n\n") +
		b64Lines(string(u16), "\r\n")
	out, n, err := MaskRaw([]byte(raw), message.Limits{})
	if err != nil || n != 0 || string(out) != raw {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestMaskRawUnchangedIsIdentical(t *testing.T) {
	for _, name := range []string{"plain.eml", "alternative.eml", "attachments-2231.eml", "dsn-own.eml", "raw-8bit.eml"} {
		raw := readFile(t, "testdata/own/"+name)
		out, n, err := MaskRaw(raw, message.Limits{})
		if err != nil || n != 0 || len(out) == 0 || &out[0] != &raw[0] {
			t.Errorf("%s: n=%d err=%v, or the message was copied", name, n, err)
		}
	}
}

func TestMaskRawOverLimits(t *testing.T) {
	card := crlf("Subject: =?utf-8?Q?" + visa + "?=\nContent-Type: multipart/mixed; boundary=x\n\n")
	many := card + strings.Repeat("--x\r\nContent-Transfer-Encoding: base64\r\n\r\n"+b64Lines("card "+visa, "\r\n"), 30) + "--x--\r\n"
	for name, tc := range map[string]struct {
		raw   string
		lim   message.Limits
		limit string
	}{
		"max_bytes":             {many, message.Limits{MaxBytes: 100}, "max_bytes"},
		"max_parts":             {many, message.Limits{MaxParts: 10}, "max_parts"},
		"max_depth":             {string(deepMultipart(8)), message.Limits{MaxDepth: 3}, "max_depth"},
		"max_part_header_bytes": {string(hugePartHeader(10 << 10)), message.Limits{MaxPartHeaderBytes: 4 << 10}, "max_part_header_bytes"},
	} {
		raw := []byte(tc.raw)
		out, n, err := MaskRaw(raw, tc.lim)
		var le *message.LimitError
		if !errors.As(err, &le) || le.Limit != tc.limit {
			t.Errorf("%s: err = %v", name, err)
		}
		if n != 0 || len(out) != len(raw) || &out[0] != &raw[0] {
			t.Errorf("%s: the message was rewritten (n=%d)", name, n)
		}
	}
	// Within the limits the same message is masked.
	if _, n, err := MaskRaw([]byte(many), message.Limits{}); err != nil || n != 31 {
		t.Errorf("within limits: n=%d err=%v", n, err)
	}
}

func TestMaskRawEmptyAndHeaderless(t *testing.T) {
	for _, raw := range []string{"", "\r\n", "just text " + visa + "\n"} {
		out, n, err := MaskRaw([]byte(raw), message.Limits{})
		if err != nil || n != 0 || string(out) != raw {
			t.Errorf("%q: %q %d %v", raw, out, n, err)
		}
	}
}

// TestMaskRawFallbackReencodes checks the whole-body re-encoders that
// stand behind the in-place patchers.
func TestMaskRawFallbackReencodes(t *testing.T) {
	data := []byte("Line one 4111 11XX XXXX 1111 = ok \t\r\ntrailing space \r\n\r\nna\xefve\rlone CR" +
		strings.Repeat(" long line", 20) + "\n")
	for _, orig := range []string{"QUJD\r\nREVG\r\n", "QUJDREVG\n", "QUJDREVG", "QUJDREVGR0g=\r\n"} {
		enc := reencode("base64", []byte(orig), data)
		got, _, warn := decodeTransfer("base64", enc, 1<<20)
		if !bytes.Equal(got, data) || warn != "" {
			t.Errorf("base64 after %q: %q (%s)", orig, got, warn)
		}
		if bytes.Contains(enc, []byte("\r\n")) != strings.Contains(orig, "\r\n") {
			t.Errorf("base64 after %q: line ends not kept: %q", orig, enc)
		}
	}
	for _, eol := range []string{"\r\n", "\n"} {
		enc := reencode("quoted-printable", []byte("a"+eol+"b"), data)
		got, _, warn := decodeTransfer("quoted-printable", enc, 1<<20)
		if !bytes.Equal(got, data) || warn != "" {
			t.Errorf("qp %q: %q (%s)\n%s", eol, got, warn, enc)
		}
		for _, l := range strings.Split(string(enc), "\n") {
			if len(strings.TrimSuffix(l, "\r")) > 76 {
				t.Errorf("qp line over 76: %q", l)
			}
		}
	}
}

func TestPatchersFollowDecoders(t *testing.T) {
	for _, enc := range []string{
		"NDExMTExMTExMTExMTExMQ==", "NDEx\r\nMTEx MTEx\tMTEx MTEx MQ", "NDExMTEx-_MTEx!!MTExMTExMQ==junk", "NDExMTExMTExMTEx",
		"NDExMTExMTExMTExMTExM", "NDExMTExMTExMTExMTExMTE",
	} {
		old, _, _ := decodeBase64([]byte(enc), 1<<20)
		nd, n := pci.MaskBytes(old)
		if n == 0 {
			nd = bytes.Clone(old)
			for i := range nd {
				nd[i] ^= 0x20
			}
		}
		b := []byte(enc)
		if !patchBase64([]byte(enc), old, nd, func(i int, c byte) { b[i] = c }) {
			t.Errorf("%q: refused", enc)
			continue
		}
		if got, _, _ := decodeBase64(b, 1<<20); !bytes.Equal(got, nd) {
			t.Errorf("%q -> %q decodes to %q, want %q", enc, b, got, nd)
		}
	}
	for _, enc := range []string{
		"4111 1111 11=\r\n11 1111", "=34111111=\n111111111 \t\n", "x=4G 4111111111111111 =\r\n", "4111111111111111 ",
		"4111111111111111\r", "=3411111111111111=31",
	} {
		old, _, _ := decodeQP([]byte(enc), 1<<20)
		nd, n := pci.MaskBytes(old)
		if n != 1 {
			t.Fatalf("%q: no card in %q", enc, old)
		}
		b := []byte(enc)
		if !patchQP([]byte(enc), old, nd, func(i int, c byte) { b[i] = c }) {
			t.Errorf("%q: refused", enc)
			continue
		}
		if got, _, _ := decodeQP(b, 1<<20); !bytes.Equal(got, nd) {
			t.Errorf("%q -> %q decodes to %q, want %q", enc, b, got, nd)
		}
	}
}

// TestParseMasksAttachedMessage checks that the parser masks the encoded
// parts of an attached message before storing it, as MaskRaw does for the
// raw copy.
func TestParseMasksAttachedMessage(t *testing.T) {
	raw := crlf("From: a@example.com\nSubject: fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=o\n\n" +
		"--o\nContent-Type: text/plain\n\nsee attached\n--o\nContent-Type: message/rfc822\n\n" +
		"From: b@example.com\nSubject: inner\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" +
		b64Lines("card "+visa, "\n") + "--o--\n")
	blobs := newMemBlobs()
	m, err := New(testOptions(blobs)).Parse(t.Context(), message.ChannelIMAP, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.CardsMasked != 1 || len(m.Attachments) != 1 {
		t.Fatalf("cards %d attachments %+v", m.CardsMasked, m.Attachments)
	}
	att := blobs.get(m.Attachments[0].Blob)
	dec, _, _ := decodeBase64(att[bytes.Index(att, []byte("\r\n\r\n"))+4:], 1<<20)
	if string(dec) != "card "+visaMask {
		t.Errorf("attached message body decodes to %q", dec)
	}
}
