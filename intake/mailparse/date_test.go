package mailparse

import (
	"net/mail"
	"testing"
)

// TestParseDateComment checks the fast path for a date followed by a
// comment against net/mail, which it must agree with, and that dates it
// must leave to net/mail still parse as net/mail reads them.
func TestParseDateComment(t *testing.T) {
	for _, v := range []string{
		"Wed, 28 May 2014 17:18:19 +0900 (JST)",
		"Thu, 3 Dec 2009 10:50:22 -0800 (PST)",
		"Thu, 6 Jun 1996 15:50:39 +0400 (MOW DST)",
		"Tue, 21 Apr 2020 15:40:22 +0200(CEST)",
		"Tue, 21 Apr 2020 15:40:22 +0200 \t(CEST)",
		"Sun, 23 Sep 2001 20:14:35 -0700 (PDT)",
		"Sun, 23 Sep 2001 20:14:35 -0700 (a (nested) one)",
		`Sun, 23 Sep 2001 20:14:35 -0700 (escaped \) paren)`,
		"Sun, 23 Sep 2001 20:14:35 -0700 (one) (two)",
		"Mon, 21 Aug 95 13:30:57 -0600 (old year)",
		"21 Aug 1995 13:30:57 -0600 (no weekday)",
		"Sun, 23 Sep 2001 20:14:35 +0000 (UTC)",
	} {
		want, err := mail.ParseDate(v)
		if err != nil {
			t.Fatalf("net/mail refuses %q: %v", v, err)
		}
		got, ok := parseDate(v)
		if !ok || !got.Equal(want) || got.Location().String() != want.Location().String() {
			t.Errorf("parseDate(%q) = %v (%v), want %v (%v)", v, got, ok, want, want.Location())
		}
		_, off := got.Zone()
		_, wantOff := want.Zone()
		if off != wantOff {
			t.Errorf("parseDate(%q): offset %d, want %d", v, off, wantOff)
		}
	}
	if _, ok := cutComment("Sun, 23 Sep 2001 20:14:35 -0700 (bad\rcomment)"); ok {
		t.Error("cutComment accepted a comment holding CR, which net/mail refuses")
	}
}
