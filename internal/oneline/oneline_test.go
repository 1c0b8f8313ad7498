package oneline

import "testing"

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nBcc: x@y\x00z":      "a Bcc: x@y z",
		"  spaced \t out  ":       "spaced out",
		"rtl\u202eevil\u2028line": "rtl evil line",
		"bad \xff utf8":           "bad \uFFFD utf8",
		"":                        "",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCut(t *testing.T) {
	if got := Cut("héllo world", 5, false); got != "héllo" {
		t.Errorf("Cut = %q", got)
	}
	if got := Cut("héllo world", 6, true); got != "héllo…" {
		t.Errorf("Cut with ellipsis = %q", got)
	}
	if got := Cut("short", 10, true); got != "short" {
		t.Errorf("Cut short = %q", got)
	}
}
