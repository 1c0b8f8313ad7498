package mailer

import (
	"encoding/base64"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/frontdesk/frontdesk/internal/oneline"
)

// Bounds on header values.
const (
	maxNameRunes    = 64  // display names
	maxSubjectRunes = 250 // a subject, after cleaning
	maxHeaderRunes  = 500 // an extra header's value
	maxMsgIDLen     = 250 // one msg-id
	maxReferences   = 20  // ids kept in References
	maxAddrLen      = 254 // RFC 5321 §4.5.3.1.3 path limit, minus the brackets
	maxEncodedChunk = 45  // bytes per forced encoded-word: 60 base64 chars, 72 with the wrapper
	maxPlainWord    = 70  // a longer word is sent encoded so it can be folded
)

// cleanText makes s one header-safe line: invalid UTF-8 is replaced,
// control and format characters (CR, LF, NUL, TAB, bidi overrides, line
// separators) become spaces, runs of space collapse, and the ends are
// trimmed; the result is cut to limit runes. It is what a header injection
// attempt (H4) turns into.
func cleanText(s string, limit int) string {
	return oneline.Cut(oneline.Clean(s), limit, false)
}

// encodeText returns the header form of the clean unstructured text s
// (RFC 5322 §3.2.5) such that every RFC 2047 decoder gives back exactly s.
// Plain printable ASCII goes as it is. Text that would be misread (it holds
// "=?", which looks like an encoded-word) or not folded (a word too long for
// a line) is sent as base64 encoded-words. Other non-ASCII text is left to
// go-mail, which Q-encodes it.
func encodeText(s string) string {
	if !isPrintableASCII(s) {
		if !strings.Contains(s, "=?") {
			return s // go-mail's encoder makes Q encoded-words of it
		}
		return forceEncode(s)
	}
	if strings.Contains(s, "=?") {
		return forceEncode(s)
	}
	for _, w := range strings.Split(s, " ") {
		if len(w) > maxPlainWord {
			return forceEncode(s)
		}
	}
	return s
}

// forceEncode writes s as base64 encoded-words of at most 75 characters
// (RFC 2047 §2), split between runes, separated by spaces so the header can
// be folded between them.
func forceEncode(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > maxEncodedChunk {
				break
			}
			n += size
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("=?UTF-8?B?")
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(s[:n])))
		b.WriteString("?=")
		s = s[n:]
	}
	return b.String()
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ValidMsgID reports whether id (without angle brackets) is a msg-id we
// can put in a header and every parser reads back unchanged: RFC 5322 §3.6.4
// id-left "@" id-right, in ASCII, with dot-atom text on the left and
// dot-atom text or a no-fold literal on the right.
func ValidMsgID(id string) bool {
	if len(id) == 0 || len(id) > maxMsgIDLen {
		return false
	}
	at := strings.IndexByte(id, '@')
	if at <= 0 || at == len(id)-1 {
		return false
	}
	left, right := id[:at], id[at+1:]
	if !isAtomText(left) {
		return false
	}
	if strings.HasPrefix(right, "[") {
		if len(right) < 2 || right[len(right)-1] != ']' {
			return false
		}
		for i := 1; i < len(right)-1; i++ {
			c := right[i]
			if c < '!' || c > '~' || c == '[' || c == ']' || c == '\\' {
				return false
			}
		}
		return true
	}
	return isAtomText(right)
}

// isAtomText: ASCII atext and dots (RFC 5322 §3.2.3).
func isAtomText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' {
			return false
		}
		switch c {
		case '(', ')', '[', ']', ';', '@', '\\', ',', '<', '>', '"', ':':
			return false
		}
	}
	return true
}

// msgIDList writes ids as one References value: "<a@x> <b@y>", invalid and
// repeated ids left out, and at most maxReferences of them: the first (the
// thread's root) and the latest (RFC 5322 §3.6.4).
func msgIDList(ids []string) string {
	seen := map[string]bool{}
	var ok []string
	for _, id := range ids {
		id = trimBrackets(id)
		if ValidMsgID(id) && !seen[id] {
			seen[id] = true
			ok = append(ok, id)
		}
	}
	if len(ok) > maxReferences {
		ok = append(ok[:1], ok[len(ok)-maxReferences+1:]...)
	}
	for i := range ok {
		ok[i] = "<" + ok[i] + ">"
	}
	return strings.Join(ok, " ")
}

func trimBrackets(id string) string {
	id = strings.TrimSpace(id)
	if len(id) >= 2 && id[0] == '<' && id[len(id)-1] == '>' {
		id = id[1 : len(id)-1]
	}
	return id
}

// address checks and normalises one mailbox: the name cleaned (see
// cleanText) and the address a plain ASCII addr-spec, with an
// internationalised domain converted to its A-labels. Anything else is an
// error: we do not send to quoted local parts, domain literals or UTF-8
// local parts.
func address(name, addr string) (*mail.Address, error) {
	if addr != strings.TrimSpace(addr) || addr == "" {
		return nil, fmt.Errorf("invalid address %q", addr)
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return nil, fmt.Errorf("invalid address %q: no local part or domain", addr)
	}
	local, domain := addr[:at], addr[at+1:]
	if !isDotAtom(local) {
		return nil, fmt.Errorf("invalid address %q: unsupported local part", addr)
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil || !isHostname(ascii) {
		return nil, fmt.Errorf("invalid address %q: bad domain", addr)
	}
	addr = local + "@" + strings.ToLower(ascii)
	if len(addr) > maxAddrLen {
		return nil, fmt.Errorf("invalid address: longer than %d bytes", maxAddrLen)
	}
	if p, err := mail.ParseAddress("<" + addr + ">"); err != nil || p.Address != addr {
		return nil, fmt.Errorf("invalid address %q", addr)
	}
	return &mail.Address{Name: cleanName(name), Address: addr}, nil
}

// cleanName is cleanText for a display name, with backslashes made
// slashes: net/mail writes a non-ASCII name holding a backslash as a Q
// encoded-word that its own parser (and others) then reject.
func cleanName(name string) string {
	return strings.ReplaceAll(cleanText(name, maxNameRunes), `\`, "/")
}

// parseMailbox reads a configured "Name <addr>" or "addr".
func parseMailbox(s string) (*mail.Address, error) {
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) }) {
		return nil, fmt.Errorf("invalid mailbox %q: control characters", s)
	}
	p, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("invalid mailbox %q: %w", s, err)
	}
	return address(p.Name, p.Address)
}

// isDotAtom: RFC 5322 dot-atom-text in ASCII: atoms of atext joined by
// single dots.
func isDotAtom(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			continue
		}
		if c < '!' || c > '~' || strings.IndexByte(`()<>[]:;@\,."`, c) >= 0 {
			return false
		}
	}
	return true
}

// isHostname: LDH labels joined by dots, at least two labels.
func isHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// reserved are the header fields Build sets itself; Outgoing.Headers may not
// name them (compared case-insensitively).
var reserved = map[string]bool{
	"message-id": true, "date": true, "from": true, "sender": true, "reply-to": true,
	"to": true, "cc": true, "bcc": true, "subject": true, "in-reply-to": true,
	"references": true, "auto-submitted": true, "x-auto-response-suppress": true,
	"precedence": true, "x-loop": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "content-disposition": true, "return-path": true,
	"received": true, "user-agent": true, "x-mailer": true,
}

// validFieldName: RFC 5322 §2.2 field-name, printable ASCII but ':'.
func validFieldName(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' || s[i] == ':' {
			return false
		}
	}
	return true
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }
