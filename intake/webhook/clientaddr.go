package webhook

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the reverse proxies whose X-Forwarded-For header is
// believed. The zero value trusts nobody: the client is the peer of the
// connection.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads addresses ("10.0.0.7", "::1") and CIDR ranges
// ("10.0.0.0/8", "fd00::/8"), as configured in http.trusted_proxies. Every
// entry that is neither is named in the error.
func ParseTrustedProxies(list []string) (TrustedProxies, error) {
	var t TrustedProxies
	var bad []string
	for _, s := range list {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				bad = append(bad, s)
				continue
			}
			if p.Addr().Is4In6() {
				p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
			}
			t.prefixes = append(t.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			bad = append(bad, s)
			continue
		}
		a = a.Unmap().WithZone("")
		t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(bad) > 0 {
		return TrustedProxies{}, fmt.Errorf("webhook: trusted proxies: not an address or CIDR range: %q", bad)
	}
	return t, nil
}

// Trusted tells whether a is one of the proxies.
func (t TrustedProxies) Trusted(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address of the client that sent r: the peer of the
// connection, unless that peer is a trusted proxy; then X-Forwarded-For
// (every such header, in order, comma-separated hops) is read from the
// right, and the first address that is not itself a trusted proxy is the
// client. Everything left of it was written by the client and is never
// believed. A hop that is not an address stops the walk at the last
// proxy; when every hop is trusted, the left-most is the client. The
// result is invalid only when RemoteAddr holds no IP address (a Unix
// socket).
func (t TrustedProxies) ClientAddr(r *http.Request) netip.Addr {
	client, ok := parseHop(r.RemoteAddr)
	if !ok || !t.Trusted(client) {
		return client
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return client
		}
		client = a
		if !t.Trusted(a) {
			return a
		}
	}
	return client
}

// parseHop reads "addr", "addr:port" or "[addr]:port", unmapping IPv4 in
// IPv6 and dropping any zone.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// clientKey is the rate-limiting key of a client address: an IPv4
// address, or the /64 an IPv6 address is in (one subscriber's network,
// whose 2^64 addresses one client may rotate through).
func clientKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
