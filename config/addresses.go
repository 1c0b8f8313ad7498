package config

import (
	"net/mail"
	"strings"
)

// OwnAddresses returns, lower-cased and without duplicates, every address
// that is ours: instance.addresses, ack.from, ack.reply_to and the
// mailboxes' usernames that are e-mail addresses. Mail from them is never
// acknowledged (DESIGN.md invariant 3).
func (c *Config) OwnAddresses() []string {
	candidates := append([]string(nil), c.Instance.Addresses...)
	candidates = append(candidates, c.Ack.From, c.Ack.ReplyTo)
	for _, m := range c.Mailbox {
		candidates = append(candidates, m.Username)
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range candidates {
		if s == "" {
			continue
		}
		a, err := mail.ParseAddress(s)
		if err != nil {
			continue
		}
		addr := strings.ToLower(a.Address)
		if !seen[addr] {
			seen[addr] = true
			out = append(out, addr)
		}
	}
	return out
}
