package templates

import (
	"strings"
	"testing"
	"unicode"
)

func TestTag(t *testing.T) {
	if got := Tag(KindCase, "C-000123"); got != "[Case C-000123]" {
		t.Errorf("Tag(case) = %q", got)
	}
	if got := Tag(KindOrder, "O-000123"); got != "[Order O-000123]" {
		t.Errorf("Tag(order) = %q", got)
	}
}

func TestParseTag(t *testing.T) {
	for _, tc := range []struct {
		subject, kind, number string
	}{
		{"[Case C-000123] Re: Printer", "case", "C-000123"},
		{"RE: Fwd: [case c-000123] my printer", "case", "C-000123"},
		{"AW: [ORDER O-000042] Lieferung", "order", "O-000042"},
		{"Re: [ Case\tC-000123 ]", "case", "C-000123"},
		{"Re: [Case  C-123456789012]", "case", "C-123456789012"},
		{"Re: [Case O-000123] then [Order O-000777]", "order", "O-000777"}, // the first is malformed
		{"Printer [Case C-000001] [Case C-000002]", "case", "C-000001"},
	} {
		kind, number, ok := ParseTag(tc.subject)
		if !ok || kind != tc.kind || number != tc.number {
			t.Errorf("ParseTag(%q) = %q, %q, %v; want %q, %q", tc.subject, kind, number, ok, tc.kind, tc.number)
		}
	}
	for _, s := range []string{
		"", "Printer broken", "Case C-000123", "[Case C-00012]", "[Case C-0001234567890]",
		"[Case C000123]", "[Case C-000123", "[Case O-000123]", "[Order C-000123]",
		"[Case C-00012a]", "[Ticket C-000123]", "[Case: C-000123]", "[CaseC-000123]",
		"[Case C-000123 x]", "[Case C–000123]", "[Case C-٠٠٠١٢٣]",
	} {
		if kind, number, ok := ParseTag(s); ok {
			t.Errorf("ParseTag(%q) = %q, %q, true; want false", s, kind, number)
		}
	}
}

func TestValidNumber(t *testing.T) {
	if !ValidNumber(KindCase, "C-000123") || !ValidNumber(KindOrder, "O-000123") {
		t.Error("valid numbers rejected")
	}
	for _, n := range []string{"c-000123", "O-000123", "C-123", "C-000123]", " C-000123", "C-000123 [Case C-000124"} {
		if ValidNumber(KindCase, n) {
			t.Errorf("ValidNumber(case, %q) = true", n)
		}
	}
}

func TestSubjectLine(t *testing.T) {
	long := strings.Repeat("word ", 60)
	for _, tc := range []struct{ theirs, want string }{
		{"Printer broken", "[Case C-000123] Re: Printer broken"},
		{"Re: Printer broken", "[Case C-000123] Re: Printer broken"},
		{"RE: re: Re[2]: AW: SV:Printer", "[Case C-000123] Re: Printer"},
		{"Re: [Case C-000123] Re: Printer", "[Case C-000123] Re: Printer"},
		{"RE: Fwd: [case c-000123] Printer", "[Case C-000123] Re: Fwd: Printer"},
		{"Printer [Case C-000999]", "[Case C-000123] Re: Printer [Case C-000999]"},
		{"Printer\r\nBcc: victim@example.com", "[Case C-000123] Re: Printer Bcc: victim@example.com"},
		{"  \t ", "[Case C-000123] We have received your message"},
		{"", "[Case C-000123] We have received your message"},
		{"Re:", "[Case C-000123] We have received your message"},
		{"[Case C-000123]", "[Case C-000123] We have received your message"},
		{"Re: [Case C-000123] We have received your message", "[Case C-000123] We have received your message"},
		{"Regarding invoice", "[Case C-000123] Re: Regarding invoice"},
		{"Reply needed", "[Case C-000123] Re: Reply needed"},
		{"Nul\x00byte\u202eRTL", "[Case C-000123] Re: Nul byte RTL"},
		{long, "[Case C-000123] Re: " + strings.TrimSpace(long[:119]) + "…"},
	} {
		if got := SubjectLine(KindCase, "C-000123", tc.theirs); got != tc.want {
			t.Errorf("SubjectLine(%q)\n got %q\nwant %q", tc.theirs, got, tc.want)
		}
	}
	if got := SubjectLine(KindOrder, "O-000042", "Re: [Order O-000042] 12 chairs"); got != "[Order O-000042] Re: 12 chairs" {
		t.Errorf("order: %q", got)
	}
}

// FuzzSubjectLine checks that the acknowledgement subject is one clean
// line, starts with its tag, parses back to its number, and is stable when a
// reply to the acknowledgement is acknowledged again.
func FuzzSubjectLine(f *testing.F) {
	for _, s := range []string{"Printer", "RE: [case c-000123] x", "Re: Re: Re:", "\r\n\x00", "[Case C-000123]", strings.Repeat("é", 300)} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, theirs string, order bool) {
		kind, number := KindCase, "C-000123"
		if order {
			kind, number = KindOrder, "O-000123"
		}
		s := SubjectLine(kind, number, theirs)
		if !strings.HasPrefix(s, Tag(kind, number)+" ") {
			t.Fatalf("SubjectLine(%q) = %q: no tag first", theirs, s)
		}
		if k, n, ok := ParseTag(s); !ok || k != kind || n != number {
			t.Fatalf("ParseTag(SubjectLine(%q) = %q) = %q, %q, %v", theirs, s, k, n, ok)
		}
		for _, r := range s {
			if unicode.IsControl(r) || r == '\uFFFD' && !strings.ContainsRune(theirs, '\uFFFD') && isValid(theirs) {
				t.Fatalf("SubjectLine(%q) = %q has %U", theirs, s, r)
			}
		}
		if again := SubjectLine(kind, number, "Re: "+s); again != s {
			t.Fatalf("not stable:\n first %q\nsecond %q", s, again)
		}
		if strings.Count(s, Tag(kind, number)) != 1 {
			t.Fatalf("SubjectLine(%q) = %q repeats the tag", theirs, s)
		}
	})
}

func isValid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// FuzzParseTag checks that ParseTag never panics and only returns canonical
// numbers that Tag writes back into a tag it parses again.
func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"[Case C-000123]", "RE: [order o-123456]", "[case c-1]", "[[Case C-000123]]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, number, ok := ParseTag(s)
		if !ok {
			return
		}
		if !ValidNumber(kind, number) {
			t.Fatalf("ParseTag(%q) = %q, %q: not a valid number", s, kind, number)
		}
	})
}
