package mailparse

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/frontdesk/frontdesk/message"
)

// stalwartExpected is the part of stalwart mail-parser's expected JSON that
// maps onto a Message.
type stalwartExpected struct {
	TextBody []int `json:"text_body"`
	Parts    []struct {
		Headers []struct {
			Name  json.RawMessage `json:"name"` // "subject", or {"other": "X-Mailer"}
			Value json.RawMessage `json:"value"`
		} `json:"headers"`
		Body json.RawMessage `json:"body"`
	} `json:"parts"`
}

func (e *stalwartExpected) header(name string) json.RawMessage {
	if len(e.Parts) == 0 {
		return nil
	}
	for _, h := range e.Parts[0].Headers {
		if string(h.Name) == `"`+name+`"` {
			return h.Value
		}
	}
	return nil
}

// normSpace collapses white space (and drops the invisible characters we
// drop) so two parsers' renderings of the same text compare equal.
func normSpace(s string) string {
	s = strings.Map(func(r rune) rune {
		if invisible(r) || r == 0 {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// stalwartDifferences are the fields where we differ from stalwart on
// purpose, with the reason.
var stalwartDifferences = map[string]string{
	"malformed/005.eml text": "the inner boundary \"a----\" is also the outer close delimiter " +
		"(\"--a--\" + \"--\"); read as RFC 2046 says, the outer part closes there and the inner multipart is empty",
	"malformed/020.eml text": "a part header with two Content-Type fields (multipart/alternative, then " +
		"text/plain): the first field counts, the text before the first inner boundary is preamble, " +
		"and the text comes from the HTML alternative",
	"malformed/021.eml text": "same structure as malformed/020: the preamble is dropped, the text comes from the HTML part",
}

// sameText compares normalised text where stalwart's U+FFFD (a byte it
// could not decode) matches any one character of ours: we read raw 8-bit
// header and body bytes as Windows-1252 instead of replacing them.
func sameText(want, got string) bool {
	w, g := []rune(want), []rune(got)
	if len(w) != len(g) {
		return false
	}
	for i := range w {
		if w[i] != g[i] && w[i] != '\uFFFD' {
			return false
		}
	}
	return true
}

// TestStalwartExpected compares subject, first From address and the start
// of the text body with stalwart mail-parser's expected results, for every
// .eml that has a .json beside it and where the field maps.
func TestStalwartExpected(t *testing.T) {
	root := filepath.Join(corporaDir(t), "mail", "stalwart-mail-parser", "resources", "eml")
	files, err := filepath.Glob(filepath.Join(root, "*", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	p := New(testOptions(newMemBlobs()))
	checked := map[string]int{}
	for _, f := range files {
		raw, err := os.ReadFile(strings.TrimSuffix(f, ".eml") + ".json")
		if err != nil {
			continue
		}
		var exp stalwartExpected
		if err := json.Unmarshal(raw, &exp); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rel, _ := filepath.Rel(root, f)
		m, err := p.Parse(t.Context(), message.ChannelIMAP, readFile(t, f))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		mismatch := func(field, want, got string) {
			key := rel + " " + field
			if why, ok := stalwartDifferences[key]; ok {
				t.Logf("%s: known difference (%s)", key, why)
				return
			}
			t.Errorf("%s: %s: stalwart %q, ours %q", rel, field, want, got)
		}

		var subj struct{ Text *string }
		if json.Unmarshal(exp.header("subject"), &subj) == nil && subj.Text != nil {
			checked["subject"]++
			if w, g := normSpace(*subj.Text), normSpace(m.Subject); !sameText(w, g) {
				mismatch("subject", w, g)
			}
		}
		var from struct {
			Address struct {
				List []struct {
					Address *string `json:"address"`
				}
			}
		}
		if json.Unmarshal(exp.header("from"), &from) == nil && len(from.Address.List) > 0 && from.Address.List[0].Address != nil {
			checked["from"]++
			if w, g := strings.ToLower(*from.Address.List[0].Address), strings.ToLower(m.From.Addr); w != g {
				mismatch("from", w, g)
			}
		}
		if len(exp.TextBody) > 0 && exp.TextBody[0] < len(exp.Parts) {
			var body struct{ Text *string }
			if json.Unmarshal(exp.Parts[exp.TextBody[0]].Body, &body) == nil && body.Text != nil {
				w := []rune(normSpace(*body.Text))
				w = w[:min(len(w), 40)]
				g := normSpace(m.Text)
				checked["text"]++
				if gr := []rune(g); len(gr) < len(w) || !sameText(string(w), string(gr[:len(w)])) {
					mismatch("text", string(w), string([]rune(g)[:min(len([]rune(g)), 40)]))
				}
			}
		}
	}
	t.Logf("compared with stalwart: %v", checked)
	if checked["subject"] == 0 || checked["text"] == 0 {
		t.Fatal("nothing compared: expected files not read")
	}
}
