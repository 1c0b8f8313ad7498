package mailparse

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// newPolicy returns the HTML policy for inbound mail: bluemonday's UGC
// policy (no script, no on* handlers, no javascript: or data: URLs, no
// <base>, <meta>, <style>, <link>, <form> or <iframe>; <script> and
// <style> content dropped, so no CSS @import survives) plus cid: URLs for
// inline images of multipart/related mail. Links get
// rel="nofollow noreferrer" and open in a new window. Whether remote images
// load is the desk's decision when it renders the HTML.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("cid")
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// htmlToText renders HTML as plain text for a message that has no text
// part: block elements and <br> become line breaks, list items get a
// dash, table cells are separated by spaces, links keep their text, and
// script, style, title and template content is dropped. White space
// collapses as a browser would, except inside <pre>.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var w textWriter
	skip, pre := 0, 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if skip == 0 {
				if pre > 0 {
					w.raw(z.Text())
				} else {
					w.text(z.Text())
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			end := tt == html.EndTagToken
			switch a {
			case atom.Script, atom.Style, atom.Title, atom.Template, atom.Noscript, atom.Head:
				if a == atom.Head && !end {
					continue // <head> is often left open; its text children are skipped one by one
				}
				if tt == html.StartTagToken {
					skip++
				} else if end && skip > 0 {
					skip--
				}
			case atom.Pre:
				w.block(1)
				if tt == html.StartTagToken {
					pre++
				} else if end && pre > 0 {
					pre--
				}
			case atom.Br:
				w.newline()
			case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Blockquote, atom.Table, atom.Ul, atom.Ol, atom.Dl, atom.Hr,
				atom.Section, atom.Article, atom.Header, atom.Footer, atom.Address,
				atom.Figure, atom.Form, atom.Fieldset, atom.Main, atom.Nav, atom.Aside:
				if a == atom.P || a == atom.H1 || a == atom.H2 || a == atom.H3 || a == atom.Blockquote || a == atom.Table {
					w.block(2)
				} else {
					w.block(1)
				}
			case atom.Tr, atom.Dt, atom.Dd, atom.Body:
				w.block(1)
			case atom.Li:
				w.block(1)
				if !end {
					w.text([]byte("- "))
				}
			case atom.Td, atom.Th:
				if !end {
					w.gap()
				}
			}
		}
	}
}

// textWriter accumulates rendered text with collapsed white space and at
// most one blank line in a row.
type textWriter struct {
	b        strings.Builder
	newlines int  // line breaks owed before the next text
	pending  bool // a space owed before the next text
}

func (w *textWriter) flush() {
	if w.b.Len() == 0 {
		w.newlines, w.pending = 0, false
		return
	}
	if w.newlines > 0 {
		w.b.WriteString("\n\n"[:min(w.newlines, 2)])
		w.newlines, w.pending = 0, false
	} else if w.pending {
		w.b.WriteByte(' ')
		w.pending = false
	}
}

// text writes the words of s with white space collapsed. s is the
// tokenizer's text, read in place.
func (w *textWriter) text(s []byte) {
	first := true
	for f := range bytes.FieldsSeq(s) {
		if !first || startsSpace(s) {
			w.pending = true
		}
		first = false
		w.flush()
		w.b.Write(f)
	}
	if endsSpace(s) {
		w.pending = true
	}
}

// raw writes s as it is, but for CRLF (which "&#13;" can still make).
func (w *textWriter) raw(s []byte) {
	if len(s) == 0 {
		return
	}
	w.flush()
	if bytes.Contains(s, []byte("\r\n")) {
		s = bytes.ReplaceAll(s, []byte("\r\n"), []byte("\n"))
	}
	w.b.Write(s)
}

func (w *textWriter) newline() {
	if w.b.Len() > 0 {
		w.flush()
		w.b.WriteByte('\n')
	}
}

func (w *textWriter) block(n int) { w.newlines = max(w.newlines, n) }
func (w *textWriter) String() string {
	return strings.TrimSpace(w.b.String())
}

func (w *textWriter) gap() { w.pending = true }

func startsSpace(s []byte) bool {
	r, _ := utf8.DecodeRune(s)
	return len(s) > 0 && unicode.IsSpace(r)
}

func endsSpace(s []byte) bool {
	r, _ := utf8.DecodeLastRune(s)
	return len(s) > 0 && unicode.IsSpace(r)
}
