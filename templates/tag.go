package templates

import (
	"regexp"
	"strings"
)

// Kinds of acknowledgement: a support case or an order.
const (
	KindCase  = "case"
	KindOrder = "order"
)

// Tag returns the subject tag that threads a reply to its case or order:
// "[Case C-000123]", "[Order O-000123]".
func Tag(kind, number string) string {
	return "[" + kindTitle(kind) + " " + number + "]"
}

// tagRE finds a tag anywhere in a subject, in any case and with any spacing
// inside the brackets: "[case c-000123]", "[ Order  O-000007 ]". The number
// itself is strict: the kind's letter, a hyphen, 6 to 12 digits.
var tagRE = regexp.MustCompile(`(?i)\[[ \t]*(case|order)[ \t]+([co])-([0-9]{6,12})[ \t]*\]`)

// ParseTag finds the first well-formed case or order tag in a subject, as
// replies carry it ("RE: Fwd: [case c-000123] my printer"), and returns the
// kind ("case" or "order") and the number in its canonical form
// ("C-000123"). A tag whose letter does not match its kind ("[Case
// O-000123]") or whose number is malformed is not a tag.
func ParseTag(subject string) (kind, number string, ok bool) {
	for _, m := range tagRE.FindAllStringSubmatch(subject, -1) {
		k := strings.ToLower(m[1])
		letter := strings.ToUpper(m[2])
		if letter != numberLetter(k) {
			continue
		}
		return k, letter + "-" + m[3], true
	}
	return "", "", false
}

// ValidNumber reports whether number is a well-formed number of kind:
// "C-000123" for a case, "O-000123" for an order.
func ValidNumber(kind, number string) bool {
	k, n, ok := ParseTag(Tag(kind, number))
	return ok && k == kind && n == number
}

// replyPrefixRE matches one reply prefix at the start of a subject, in the
// languages mail clients commonly use: Re, RE[2], AW (German), SV (Nordic),
// VS, Antw (Dutch), Ref, Rif (Italian), Odp (Polish), Res (Portuguese).
var replyPrefixRE = regexp.MustCompile(`(?i)^(re|aw|sv|vs|antw|ref|rif|odp|res)(\[[0-9]+\]|\([0-9]+\))?[ \t]*:[ \t]*`)

// SubjectLine is the subject of an acknowledgement: the tag, then "Re:" and
// the customer's subject. Reply prefixes are not stacked and the tag is not
// repeated when the customer's subject already carries it:
//
//	"Printer broken"                  -> "[Case C-000123] Re: Printer broken"
//	"RE: [Case C-000123] Re: Printer" -> "[Case C-000123] Re: Printer"
//	""                                -> "[Case C-000123] We have received your message"
func SubjectLine(kind, number, theirs string) string {
	s := bareSubject(kind, number, theirs)
	if s == "" {
		return Tag(kind, number) + " " + noSubject
	}
	return Tag(kind, number) + " Re: " + s
}

// bareSubject is the customer's subject as one clean line without leading
// reply prefixes and without our own tag for this number (other tags stay).
func bareSubject(kind, number, theirs string) string {
	s := cleanLine(theirs, 8*maxSubjectRunes)
	s = tagRE.ReplaceAllStringFunc(s, func(t string) string {
		if k, n, ok := ParseTag(t); ok && k == kind && n == number {
			return " "
		}
		return t
	})
	s = collapseSpace(s)
	for {
		loc := replyPrefixRE.FindStringIndex(s)
		if loc == nil {
			if s == noSubject { // a reply to our acknowledgement of a subject-less message
				return ""
			}
			return cleanLine(s, maxSubjectRunes)
		}
		s = strings.TrimSpace(s[loc[1]:])
	}
}

// noSubject stands in for the customer's subject when they gave none.
const noSubject = "We have received your message"

func kindTitle(kind string) string {
	switch kind {
	case KindCase:
		return "Case"
	case KindOrder:
		return "Order"
	case "":
		return ""
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}

func numberLetter(kind string) string {
	switch kind {
	case KindCase:
		return "C"
	case KindOrder:
		return "O"
	}
	return ""
}
