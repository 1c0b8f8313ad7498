package mailparse

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/message"
)

// TestMaskRawCorpus runs MaskRaw over every file of the mail corpus, as
// it is and with card numbers planted in its encoded text parts and
// header.
func TestMaskRawCorpus(t *testing.T) {
	root := filepath.Join(corporaDir(t), "mail")
	blobs := newMemBlobs()
	p := New(testOptions(blobs))
	parse := func(raw []byte) (*message.Message, error) {
		blobs.reset()
		return p.Parse(t.Context(), message.ChannelIMAP, raw)
	}
	var files, planted, masked int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		raw := readFile(t, path)
		files++

		out, n, err := MaskRaw(raw, message.Limits{})
		if err != nil {
			if !message.IsPermanent(err) || n != 0 || !bytes.Equal(out, raw) {
				t.Errorf("%s: %v (n=%d)", rel, err, n)
			}
			return nil
		}
		if n == 0 && (len(out) != len(raw) || len(raw) > 0 && &out[0] != &raw[0]) {
			t.Errorf("%s: nothing masked, but the message was changed or copied", rel)
		}
		if n > 0 {
			masked++
			sameParse(t, rel, parse, raw, out)
		}
		// As the accept step does: the literal pass, then MaskRaw. The
		// parser must find nothing left to mask.
		lit, _ := MaskLiteral(raw)
		full, _, _ := MaskRaw(lit, message.Limits{})
		if m, err := parse(full); err == nil {
			checkMessage(t, rel, m, blobs)
			if m.CardsMasked != 0 {
				t.Errorf("%s: the parser found %d card numbers after masking", rel, m.CardsMasked)
			}
		}

		pl, k, parts := plantCards(raw)
		if k == 0 {
			return nil
		}
		if parts > 0 {
			planted++
		}
		out, n, err = MaskRaw(pl, message.Limits{})
		if err != nil || n < k {
			t.Errorf("%s: %d cards planted, %d masked (%v)", rel, k, n, err)
			return nil
		}
		if len(out) != len(pl) {
			t.Errorf("%s: length changed %d -> %d", rel, len(pl), len(out))
		}
		sameParse(t, rel+" (planted)", parse, pl, out)
		lit, _ = MaskLiteral(pl)
		full, _, _ = MaskRaw(lit, message.Limits{})
		if m, err := parse(full); err != nil || m.CardsMasked != 0 {
			t.Errorf("%s (planted): parse %v, the parser found cards left", rel, err)
		}
		if i := bytes.Index(out, []byte("X-Planted: ")); i >= 0 {
			line := out[i : i+bytes.IndexByte(out[i:], '\n')]
			if s, _ := decodeWords(string(line)); bytes.Contains([]byte(s), []byte("1111 1111 1111")) {
				t.Errorf("%s: planted header field not masked: %s", rel, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files, %d masked as they are, %d with cards planted in encoded text parts", files, masked, planted)
	if planted < 100 {
		t.Errorf("only %d corpus messages have encoded text parts to plant cards in", planted)
	}
}

// sameParse checks that out parses as raw does, but for the count of card
// numbers the parser masked.
func sameParse(t *testing.T, name string, parse func([]byte) (*message.Message, error), raw, out []byte) {
	t.Helper()
	m1, err1 := parse(raw)
	var j1 []byte
	if m1 != nil {
		m1.CardsMasked = 0
	}
	j1 = goldenJSON(m1, err1)
	m2, err2 := parse(out)
	if m2 != nil {
		m2.CardsMasked = 0
	}
	if j2 := goldenJSON(m2, err2); !bytes.Equal(j1, j2) {
		t.Errorf("%s: parses differently once masked\n%s", name, firstDiff(j1, j2))
	}
}

// plantCards returns raw with a card number written at the start of the
// decoded content of every base64 or quoted-printable text part in the
// raw message (re-encoded in the part's own style) and in an encoded word
// of a new header field, and how many it planted.
func plantCards(raw []byte) (out []byte, n, parts int) {
	b := &builder{lim: message.DefaultLimits}
	root, err := b.entity(raw, 0, 0, "text/plain", false)
	if err != nil {
		var le *message.LimitError
		if errors.As(err, &le) {
			return nil, 0, 0
		}
		panic(err)
	}
	w := &rewriter{src: raw}
	var walk func(p *part)
	walk = func(p *part) {
		switch {
		case p.isMultipart():
			for _, k := range p.kids {
				walk(k)
			}
		case p.inner != nil:
			if p.innerBuf == nil {
				walk(p.inner)
			}
		case (p.cte == "base64" || p.cte == "quoted-printable") && textual(p.ctype.value) &&
			!strings.Contains(strings.ToLower(p.ctype.params["charset"]), "utf-16"):
			d, _, _ := decodeTransfer(p.cte, p.body, message.DefaultLimits.MaxBytes)
			nd := append([]byte("card 4111 1111 1111 1111 ok\n"), d...)
			w.replace(p.bodyOff, p.bodyOff+len(p.body), reencode(p.cte, p.body, nd))
			parts++
		}
	}
	walk(root)
	n = parts
	// A header field before the blank line that ends the top header.
	if at := root.bodyOff; at > 0 && raw[at-1] == '\n' {
		eol := "\n"
		if at > 1 && raw[at-2] == '\r' {
			eol = "\r\n"
		}
		if at > len(eol) && raw[at-len(eol)-1] == '\n' {
			pos := at - len(eol)
			w.replace(pos, pos, []byte("X-Planted: =?utf-8?Q?card_4111_1111_1111_1111?="+eol))
			n++
		}
	}
	return w.result(), n, parts
}
