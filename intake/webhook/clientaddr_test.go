package webhook_test

import (
	"net/http/httptest"
	"testing"

	"github.com/frontdesk/frontdesk/intake/webhook"
)

func TestClientAddr(t *testing.T) {
	proxies, err := webhook.ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.7", "fd00::/8", " ::ffff:198.51.100.0/120 "})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "203.0.113.9:4711", nil, "203.0.113.9"},
		{"untrusted peer's header ignored", "203.0.113.9:4711", []string{"198.51.100.1"}, "203.0.113.9"},
		{"proxy without header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"behind a proxy", "10.1.2.3:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"client-written hops ignored", "10.1.2.3:80", []string{"1.1.1.1, 2.2.2.2,203.0.113.9"}, "203.0.113.9"},
		{"two proxies", "192.0.2.7:80", []string{"6.6.6.6, 203.0.113.9, 10.9.9.9"}, "203.0.113.9"},
		{"several headers", "10.1.2.3:80", []string{"6.6.6.6", "203.0.113.9, 10.0.0.1"}, "203.0.113.9"},
		{"every hop trusted", "10.1.2.3:80", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"garbage hop stops at the last proxy", "10.1.2.3:80", []string{"203.0.113.9, unknown"}, "10.1.2.3"},
		{"hop with a port", "10.1.2.3:80", []string{"203.0.113.9:5555"}, "203.0.113.9"},
		{"IPv6 hop with a port", "10.1.2.3:80", []string{"[2001:db8::1]:5555"}, "2001:db8::1"},
		{"IPv6 proxy", "[fd00::1]:443", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"IPv4-mapped range", "[::ffff:198.51.100.20]:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, "fe80::1"},
	} {
		r := httptest.NewRequest("POST", "/intake/forms/contact", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := proxies.ClientAddr(r); got.String() != c.want {
			t.Errorf("%s: %v, want %s", c.name, got, c.want)
		}
	}

	// Trusting nobody: the peer, whatever the header says.
	r := httptest.NewRequest("POST", "/", nil)
	r.RemoteAddr = "10.1.2.3:80"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := (webhook.TrustedProxies{}).ClientAddr(r); got.String() != "10.1.2.3" {
		t.Errorf("no proxies: %v", got)
	}
	r.RemoteAddr = "@"
	if got := proxies.ClientAddr(r); got.IsValid() {
		t.Errorf("unix socket peer: %v", got)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for _, bad := range [][]string{{"10.0.0.0/33"}, {"proxy.example"}, {"10.0.0.1", ""}, {"10.0.0.1:80"}} {
		if _, err := webhook.ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	p, err := webhook.ParseTrustedProxies([]string{"10.0.0.9/8"}) // host bits set: the range
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.RemoteAddr = "10.200.0.1:80"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := p.ClientAddr(r); got.String() != "203.0.113.9" {
		t.Errorf("range with host bits: %v", got)
	}
}
