package mailparse

import (
	"net/mail"
	"strings"
	"time"
)

// rfc5322Date is the usual Date layout (RFC 5322 §3.3), net/mail's
// first with a day of the week.
const rfc5322Date = "Mon, 2 Jan 2006 15:04:05 -0700"

// parseDate reads a Date field (RFC 5322 §3.3) with net/mail and then a
// few layouts seen in the wild; ok is false when nothing fits.
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, true
	}
	// The common form first: net/mail tries many layouts, each failure
	// allocating an error.
	if t, err := time.Parse(rfc5322Date, v); err == nil {
		return t, true
	}
	// The same with a comment after it ("-0700 (PDT)"): net/mail reads it
	// as the date before the comment, with this layout, after failing two
	// dozen others.
	if d, ok := cutComment(v); ok {
		if t, err := time.Parse(rfc5322Date, d); err == nil {
			return t, true
		}
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	// Drop comments such as "(PDT)" and collapse white space.
	s := v
	for {
		l := strings.IndexByte(s, '(')
		if l < 0 {
			break
		}
		r := strings.IndexByte(s[l:], ')')
		if r < 0 {
			s = s[:l]
			break
		}
		s = s[:l] + " " + s[l+r+1:]
	}
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, ",", ", ")), " ")
	s = strings.ReplaceAll(s, " ,", ",")
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	// Layouts seen in the wild that net/mail refuses.
	layouts := [...]string{
		rfc5322Date,
		"Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 06 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04:05",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon Jan 2 15:04:05 -0700 2006",
		"2006-01-02 15:04:05 -0700",
		"2006-01-02T15:04:05Z07:00",
		"Monday, January 2, 2006 15:04:05 -0700",
		"Mon, 2 January 2006 15:04:05 -0700",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// cutComment returns v without the comment that ends it, when that is a
// simple one net/mail skips the same way: no nested or escaped
// parentheses and no CR inside.
func cutComment(v string) (string, bool) {
	if !strings.HasSuffix(v, ")") {
		return "", false
	}
	l := strings.LastIndexByte(v, '(')
	if l < 0 || strings.ContainsAny(v[l+1:len(v)-1], "()\\\r") {
		return "", false
	}
	return strings.TrimRight(v[:l], " \t"), true
}
