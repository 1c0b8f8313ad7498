package mailparse

import (
	"strings"
	"testing"
)

// TestHTMLToText pins the rendering of HTML as text: block and list
// layout, collapsed white space (Unicode spaces too), <pre> kept as
// written but for CRLF, and content that is not text dropped.
func TestHTMLToText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"<p>Hello  <b>world</b></p><p>second\tpara</p>", "Hello world\n\nsecond para"},
		{"<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{"<pre>a&#13;&#13;\nb\r\n  c</pre>after", "a\r\nb\n  c\nafter"},
		{"<pre>x&#13;\ny</pre>", "x\ny"},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"<div> lead\u00a0space </div>tail<br>next", "lead space\ntail\nnext"},
		{"<script>x</script><style>y</style><title>t</title>text", "text"},
		{"é <i>ü</i>\u2003z", "é ü z"},
	} {
		if got := htmlToText(c.in); got != c.want {
			t.Errorf("htmlToText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestSanitizeReadsLineEndsAsLF checks what decodeHTMLPart relies on: the
// sanitiser gives the same HTML (trimmed, as finish keeps it) for a body
// with CR LF or lone CR line ends as for the body with them turned into
// LF (textString).
func TestSanitizeReadsLineEndsAsLF(t *testing.T) {
	p := newPolicy()
	for _, in := range []string{
		"<p>one\r\ntwo\rthree</p>",
		"<a\r\nhref=\"http://x.example/a\r\nb\"\rtitle='t\r\nu'>link</a>",
		"<pre>\r\n  kept\r\n\r\n  lines\r</pre>",
		"<title>t\r\n</title\r\n>after<textarea>a\r\nb</textarea\r>",
		"<script>x\r\n</script\r\n><style>\r\n</style\r>text",
		"<!--\r\ncomment\r\n--><!\r\n-- bogus --><!DOCTYPE\r\nhtml>body",
		"<td\rclass=x\r\n>cell &#13;\r\n&amp;\r</td>",
		"text\r",
		"\r\n",
	} {
		want := strings.TrimSpace(p.Sanitize(textString([]byte(in))))
		if got := strings.TrimSpace(string(p.SanitizeBytes([]byte(in)))); got != want {
			t.Errorf("sanitised %q = %q, with LF line ends %q", in, got, want)
		}
	}
}
