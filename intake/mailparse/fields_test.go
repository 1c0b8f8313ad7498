package mailparse

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

// TestHeaderMatchesGoMessage reads random header blocks (folded lines,
// CRLF and LF, blanks around values, repeated and differently cased
// names) with readHeader and with go-message's textproto.ReadHeader, and
// checks that every lookup gives the same answer: header replaced a
// go-message header and must read fields exactly as it did.
func TestHeaderMatchesGoMessage(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	names := []string{"Subject", "SUBJECT", "subject", "From", "X-Loop", "x-loop", "Content-Type", "Received", "List-Id", "X-MLServer", "Subjectx"}
	pieces := []string{"a", "b c", "  d", "e  ", "=?utf-8?q?x?=", "\t", "", "f\rg", "h;", "<i@j>"}
	eols := []string{"\r\n", "\n"}
	for range 3000 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(names[r.IntN(len(names))])
			b.WriteString([]string{":", ": ", " :", ":\t"}[r.IntN(4)])
			for l := range 1 + r.IntN(3) {
				if l > 0 {
					b.WriteString([]string{" ", "\t", "  "}[r.IntN(3)])
				}
				for range r.IntN(3) {
					b.WriteString(pieces[r.IntN(len(pieces))])
				}
				b.WriteString(eols[r.IntN(2)])
			}
		}
		b.WriteString("\r\nbody\r\n")
		raw := b.String()

		want, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("go-message refused %q: %v", raw, err)
		}
		res, err := readHeader([]byte(raw), len(raw))
		if err != nil {
			t.Fatalf("readHeader(%q): %v", raw, err)
		}
		got := &res.h
		if got.Len() != want.Len() {
			t.Fatalf("%q: Len %d, want %d", raw, got.Len(), want.Len())
		}
		for _, k := range append(names, "Date", "Content-type") {
			if g, w := got.Get(k), want.Get(k); g != w {
				t.Fatalf("%q: Get(%q) = %q, want %q", raw, k, g, w)
			}
			if g, w := got.Values(k), want.Values(k); !slices.Equal(g, w) {
				t.Fatalf("%q: Values(%q) = %q, want %q", raw, k, g, w)
			}
			if g, w := got.Has(k), want.Has(k); g != w {
				t.Fatalf("%q: Has(%q) = %v, want %v", raw, k, g, w)
			}
		}
	}
}

func TestUnfold(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{" plain\r\n", "plain"},
		{"\tone\n two \r\n\tthree\r\n", "one two three"},
		{" a\r\n \r\n b\n", "a b"},
		{" x\r\r\n", "x\r"},
		{"", ""},
		{"   \r\n", ""},
	} {
		if got := unfold([]byte(c.in)); got != c.want {
			t.Errorf("unfold(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := unfold(bytes.Repeat([]byte(" w\r\n"), 3)); got != "w w w" {
		t.Errorf("unfold of three lines = %q", got)
	}
}
