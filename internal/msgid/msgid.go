// Package msgid owns Frontdesk's own Message-IDs: it mints them with an HMAC
// token and verifies them, so that a reference to one of our messages (in
// In-Reply-To or References) can be trusted and a forged or guessed one cannot
// pass for ours (DESIGN.md invariant 4). It also derives the X-Loop value our
// outgoing mail carries (invariant 3).
//
// An id looks like
//
//	fd.ack.42.k3v9q2mz7hxa.2tq6xj4d5fmwn7ra@desk.example.com
//
// prefix "fd", the kind of message, the inbound id it answers, 12 random
// base32 characters and a 16-character base32 HMAC-SHA256 (80 bits) over all
// of it, the domain included. Ids are compared exactly: a changed character,
// a changed case, or another domain never verifies.
package msgid

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MinSecretLen is the shortest secret NewMinter accepts.
const MinSecretLen = 16

const (
	prefix   = "fd"
	randLen  = 12 // base32 characters, 60 bits
	macLen   = 16 // base32 characters of the truncated HMAC, 80 bits
	loopLen  = 12
	maxKind  = 16
	maxIDLen = 255
)

// enc is lower-case RFC 4648 base32 without padding: ids stay readable and
// survive mail systems that dislike '=' and mixed case.
var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Minter mints and verifies Message-IDs for one domain with one secret. It is
// safe for concurrent use.
type Minter struct {
	key    []byte
	domain string
	loop   string
}

// NewMinter returns a Minter for domain keyed with secret. The domain is
// lower-cased. It panics when secret is shorter than MinSecretLen or domain is
// not a valid host name (see CheckDomain): both are start-up configuration,
// validated before this is called.
func NewMinter(secret []byte, domain string) *Minter {
	if len(secret) < MinSecretLen {
		panic(fmt.Sprintf("msgid: secret of %d bytes, need at least %d", len(secret), MinSecretLen))
	}
	if err := CheckDomain(domain); err != nil {
		panic(err.Error())
	}
	m := &Minter{key: append([]byte(nil), secret...), domain: strings.ToLower(domain)}
	m.loop = prefix + "-" + m.mac("loop@" + m.domain)[:loopLen] + "@" + m.domain
	return m
}

// CheckDomain reports whether domain can be the right-hand side of our
// Message-IDs: a dot-separated host name of letters, digits and hyphens.
func CheckDomain(domain string) error {
	if domain == "" || len(domain) > 253 {
		return errors.New("msgid: domain must be 1 to 253 characters")
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("msgid: invalid domain %q", domain)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("msgid: invalid domain %q", domain)
			}
		}
	}
	return nil
}

// Domain returns the (lower-case) domain of the ids this Minter makes.
func (m *Minter) Domain() string { return m.domain }

// New mints a fresh Message-ID, without angle brackets, for a message of
// kind ("ack", "reply"...) about inbound message inboundID. kind is 1 to 16
// characters of a-z and 0-9 and inboundID is not negative; New panics
// otherwise, as both come from code, not from input.
func (m *Minter) New(kind string, inboundID int64) string {
	if !validKind(kind) {
		panic(fmt.Sprintf("msgid: invalid kind %q", kind))
	}
	if inboundID < 0 {
		panic(fmt.Sprintf("msgid: negative inbound id %d", inboundID))
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	r := enc.EncodeToString(b[:])[:randLen]
	body := prefix + "." + kind + "." + strconv.FormatInt(inboundID, 10) + "." + r
	return body + "." + m.mac(body + "@" + m.domain)[:macLen] + "@" + m.domain
}

// Verify reports whether id (with or without angle brackets) is a Message-ID
// this Minter made, and if so its kind and inbound id. It never panics and
// compares the token in constant time.
func (m *Minter) Verify(id string) (kind string, inboundID int64, ok bool) {
	if len(id) > maxIDLen {
		return "", 0, false
	}
	if strings.HasPrefix(id, "<") && strings.HasSuffix(id, ">") && len(id) >= 2 {
		id = id[1 : len(id)-1]
	}
	at := strings.LastIndexByte(id, '@')
	if at < 0 || id[at+1:] != m.domain {
		return "", 0, false
	}
	parts := strings.Split(id[:at], ".")
	if len(parts) != 5 || parts[0] != prefix {
		return "", 0, false
	}
	kind, num, r, tok := parts[1], parts[2], parts[3], parts[4]
	if !validKind(kind) || len(r) != randLen || !isB32(r) || len(tok) != macLen || !isB32(tok) {
		return "", 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != num {
		return "", 0, false // only the canonical decimal form was ever minted
	}
	body := id[:at-macLen-1]
	want := m.mac(body + "@" + m.domain)[:macLen]
	if !hmac.Equal([]byte(tok), []byte(want)) {
		return "", 0, false
	}
	return kind, n, true
}

// LoopID returns the value of the X-Loop header on our outgoing mail: an
// address-like token derived from the domain and the secret, so two
// installations on one domain still tell their own mail apart.
func (m *Minter) LoopID() string { return m.loop }

// IsLoopID reports whether an X-Loop header value is ours. Surrounding space
// and angle brackets are ignored, and case too: relays may rewrite it.
func (m *Minter) IsLoopID(v string) bool {
	v = strings.TrimSpace(v)
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	return strings.EqualFold(v, m.loop)
}

func (m *Minter) mac(s string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(s))
	return enc.EncodeToString(h.Sum(nil))
}

func validKind(k string) bool {
	if k == "" || len(k) > maxKind {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isB32(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
