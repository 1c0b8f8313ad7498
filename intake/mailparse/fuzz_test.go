package mailparse

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/message"
)

// FuzzParse checks that no input makes the parser panic, hang or return
// anything but a message or a permanent error, and that every message
// keeps the normaliser's promises. Seeds are in testdata/fuzz/FuzzParse
// (real and hostile messages); limits are small so bombs stay cheap.
func FuzzParse(f *testing.F) {
	f.Add([]byte("From: a@b\r\nSubject: x\r\n\r\nhello"))
	f.Add(deepMultipart(8))
	f.Add(manyParts(20))
	// One parser for all runs: building the HTML policy is the slow part.
	blobs := newMemBlobs()
	p := New(Options{
		Blobs: blobs,
		Limits: message.Limits{
			MaxBytes: 1 << 20, MaxParts: 50, MaxDepth: 8,
			MaxPartHeaderBytes: 8 << 10, MaxAttachmentBytes: 256 << 10,
		},
		OwnAddresses:   []string{"support@frontdesk.example"},
		LoopID:         "frontdesk.example",
		IsOwnMessageID: func(id string) bool { return strings.HasSuffix(id, ".fd@frontdesk.example") },
	})
	f.Fuzz(func(t *testing.T, raw []byte) {
		blobs.reset()
		m, err := p.Parse(t.Context(), message.ChannelIMAP, raw)
		if err != nil {
			var le *message.LimitError
			var pe *message.ParseError
			if !errors.As(err, &le) && !errors.As(err, &pe) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if m != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		checkMessage(t, "fuzz", m, blobs)
		for _, s := range m.Automation {
			if s.Rule == "" {
				t.Fatal("signal without rule")
			}
		}
	})
}

// FuzzMaskRaw checks that MaskRaw never panics, refuses only with a
// permanent error and then leaves the message alone, rewrites in place
// (the in-place patchers never fall back to re-encoding a body), returns
// its input itself when it masks nothing, and is idempotent: masking its
// output again masks nothing.
func FuzzMaskRaw(f *testing.F) {
	for _, s := range []string{
		"Subject: =?utf-8?B?S2FydGUgNDExMTExMTExMTExMTExMQ==?=\r\n\r\nhi",
		"Subject: =?utf-8?Q?4111_1111?=\r\n =?utf-8?Q?_1111_1111?=\r\n\r\nhi",
		"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n4111 1111 11=\r\n11 =311111\r\n",
		"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+NDExMTExMTExMTExMTExMTwvYj4=\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			"U3ViamVjdDogNDExMTExMTExMTExMTExMQ0KDQo0MTExMTExMTExMTExMTEx\r\n--b--\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Add(deepMultipart(8))
	// Real structures: the own fixtures, as they are and with cards
	// planted in their encoded text parts.
	own, _ := filepath.Glob(filepath.Join("testdata", "own", "*.eml"))
	for _, name := range own {
		raw := readFile(f, name)
		f.Add(raw)
		if pl, n, _ := plantCards(raw); n > 0 {
			f.Add(pl)
		}
	}
	lim := message.Limits{MaxBytes: 1 << 20, MaxParts: 50, MaxDepth: 8, MaxPartHeaderBytes: 8 << 10, MaxAttachmentBytes: 256 << 10}
	blobs := newMemBlobs()
	p := New(Options{Blobs: blobs, Limits: lim})
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, n, err := MaskRaw(raw, lim)
		if err != nil {
			if !message.IsPermanent(err) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if n != 0 || !bytes.Equal(out, raw) {
				t.Fatal("a refused message was rewritten")
			}
			return
		}
		if len(out) != len(raw) {
			t.Fatalf("length changed: %d -> %d (a body was re-encoded)", len(raw), len(out))
		}
		if n == 0 {
			if !bytes.Equal(out, raw) {
				t.Fatal("nothing masked, but the message changed")
			}
			return
		}
		// The masked message parses as the original, but for digits
		// masked (the raw bytes may show a number the parser's cleaned
		// text does not: more is masked, never less). An encoded word the
		// parser cannot decode is shown as written, yet masked in its
		// decoded form: with encoded words, header text is left out.
		words := bytes.Contains(raw, []byte("=?"))
		m1, e1 := p.Parse(t.Context(), message.ChannelIMAP, raw)
		m2, e2 := p.Parse(t.Context(), message.ChannelIMAP, out)
		blobs.reset()
		if j1, j2 := comparable(m1, e1, words), comparable(m2, e2, words); !onlyMasked(j1, j2) {
			t.Fatalf("parses differently:\n%s\n%q", firstDiff(j1, j2), raw)
		}
		again, n2, err := MaskRaw(out, lim)
		if err != nil || n2 != 0 || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %d more masked (%v)\n%q\n%q", n2, err, out, again)
		}
	})
}

// comparable renders a parse result for comparison: the count of cards
// the parser masked, its warnings (which quote raw text) and the blob
// hashes of attachments (whose content may hold more masked digits) left
// out, and with noHeaderText the text read from header fields too.
func comparable(m *message.Message, err error, noHeaderText bool) []byte {
	if m == nil {
		return goldenJSON(m, err)
	}
	m.CardsMasked, m.Warnings = 0, nil
	for i := range m.Attachments {
		m.Attachments[i].Blob = ""
		if noHeaderText {
			m.Attachments[i].Filename = ""
		}
	}
	if noHeaderText {
		m.Subject, m.From.Name = "", ""
		for _, l := range [][]message.Address{m.To, m.Cc, m.ReplyTo} {
			for i := range l {
				l[i].Name = ""
			}
		}
		for i := range m.Automation {
			m.Automation[i].Value = ""
		}
	}
	// Whole bodies: goldenJSON cuts long ones and adds their hash.
	b, jerr := json.Marshal(m)
	if jerr != nil {
		panic(jerr)
	}
	return b
}

// onlyMasked reports whether b equals a but for digits of a that are 'X'
// in b ('x' in addresses, which the parser writes in lower case). One
// difference the other way is allowed: a CVV the parser masks because a
// card number and its keyword end the previous part (it reads all text
// parts as one), which MaskRaw, masking part by part, keeps.
func onlyMasked(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 0; i < len(a); i++ {
		switch {
		case a[i] == b[i]:
		case b[i]|0x20 == 'x' && isDigit(a[i]):
		case a[i] == 'X' && isDigit(b[i]):
			s, e := i, i
			for s > 0 && a[s-1] == 'X' {
				s--
			}
			for e < len(a) && a[e] == 'X' {
				e++
			}
			standalone := (e-s == 3 || e-s == 4) && s > 0 && !isDigit(a[s-1]) && e < len(a) && !isDigit(a[e])
			// The text parts are joined by "\n\n" (escaped in JSON).
			if !standalone || !bytes.Contains(a[max(0, s-24):s], []byte(`\n\n`)) {
				return false
			}
			i = e - 1
		default:
			return false
		}
	}
	return true
}
