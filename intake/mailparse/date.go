package mailparse

import (
	"net/mail"
	"strings"
	"time"
)

// parseDate reads a Date field (RFC 5322 §3.3) with net/mail and then a
// few layouts seen in the wild; ok is false when nothing fits.
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, true
	}
	// The common form first: net/mail tries many layouts, each failure
	// allocating an error.
	if t, err := time.Parse("Mon, 2 Jan 2006 15:04:05 -0700", v); err == nil {
		return t, true
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
		"Mon, 2 Jan 2006 15:04:05 -0700",
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
