package webhook_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontdesk/frontdesk/intake/webhook"
)

// clock is a settable clock for the limiter.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time                       { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration)              { c.ns.Add(int64(d)) }
func accepted(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }

// limited serves a handler answering 202 behind a limiter made from rl
// (its clock and counters filled in).
func limited(t *testing.T, rl webhook.RateLimit) (*webhook.RateLimiter, *httptest.Server, *clock, *webhook.Counters) {
	t.Helper()
	clk := newClock()
	counters, err := webhook.NewCounters(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	rl.Now, rl.Counters = clk.Now, counters
	l, err := webhook.NewRateLimiter(rl)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(accepted)))
	t.Cleanup(srv.Close)
	return l, srv, clk, counters
}

// from is a client whose connections come from local address ip.
func from(t *testing.T, ip string) *http.Client {
	t.Helper()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// send posts to path on srv with client c, adding X-Forwarded-For xff
// when set; it returns the status, Retry-After and the answer's reason.
func send(t *testing.T, c *http.Client, srv *httptest.Server, method, path, xff string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(`{}`))
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a struct{ Reason string }
	_ = json.Unmarshal(b, &a)
	return resp.StatusCode, resp.Header.Get("Retry-After"), a.Reason
}

func TestRateLimitBurst(t *testing.T) {
	_, srv, clk, counters := limited(t, webhook.RateLimit{Rate: 0.5, Burst: 3})
	c := from(t, "127.0.0.1")
	for i := range 3 {
		if code, _, _ := send(t, c, srv, "POST", "/intake/forms/contact", ""); code != http.StatusAccepted {
			t.Fatalf("post %d of the burst: %d", i+1, code)
		}
	}
	code, retry, reason := send(t, c, srv, "POST", "/intake/forms/contact", "")
	if code != http.StatusTooManyRequests || retry != "2" || reason != webhook.ReasonRate {
		t.Fatalf("over the burst: %d Retry-After %q reason %q, want 429 after 2 s", code, retry, reason)
	}
	// Token fetches and preflights submit nothing and are not limited.
	for _, m := range []string{"GET", "OPTIONS", "HEAD"} {
		if code, _, _ := send(t, c, srv, m, "/intake/forms/contact/token", ""); code != http.StatusAccepted {
			t.Errorf("%s while limited: %d", m, code)
		}
	}
	clk.Advance(1500 * time.Millisecond)
	if code, retry, _ := send(t, c, srv, "POST", "/intake/mailgun/inbound", ""); code != http.StatusTooManyRequests || retry != "1" {
		t.Fatalf("1.5 s later: %d Retry-After %q, want 429 after 1 s", code, retry)
	}
	clk.Advance(500 * time.Millisecond)
	if code, _, _ := send(t, c, srv, "POST", "/intake/forms/contact", ""); code != http.StatusAccepted {
		t.Fatalf("once a token is back: %d", code)
	}
	if code, _, _ := send(t, c, srv, "POST", "/intake/forms/contact", ""); code != http.StatusTooManyRequests {
		t.Fatalf("and only one: %d", code)
	}
	if got := counters.Count("form", "contact", http.StatusTooManyRequests, webhook.ReasonRate); got != 2 {
		t.Errorf("form refusals counted %v, want 2", got)
	}
	if got := counters.Count("mailgun", "inbound", http.StatusTooManyRequests, webhook.ReasonRate); got != 1 {
		t.Errorf("mailgun refusals counted %v, want 1", got)
	}
}

func TestRateLimitPerClient(t *testing.T) {
	_, srv, _, _ := limited(t, webhook.RateLimit{Rate: 1, Burst: 1})
	one, two := from(t, "127.0.0.1"), from(t, "127.0.0.2")
	for _, step := range []struct {
		c    *http.Client
		name string
		want int
	}{
		{one, "first client", http.StatusAccepted},
		{one, "first client again", http.StatusTooManyRequests},
		{two, "second client", http.StatusAccepted},
		{two, "second client again", http.StatusTooManyRequests},
	} {
		if code, _, _ := send(t, step.c, srv, "POST", "/intake/forms/contact", ""); code != step.want {
			t.Fatalf("%s: %d, want %d", step.name, code, step.want)
		}
	}
}

func TestRateLimitTrustedProxy(t *testing.T) {
	_, srv, _, _ := limited(t, webhook.RateLimit{Rate: 1, Burst: 1, TrustedProxies: []string{"127.0.0.1"}})
	c := from(t, "127.0.0.1")
	for _, step := range []struct {
		xff  string
		want int
	}{
		{"203.0.113.5", http.StatusAccepted},
		{"203.0.113.5", http.StatusTooManyRequests},
		{"203.0.113.6", http.StatusAccepted},
		// What the client wrote left of our proxy's hop changes nothing.
		{"198.51.100.1, 203.0.113.7", http.StatusAccepted},
		{"198.51.100.2, 203.0.113.7", http.StatusTooManyRequests},
		// One IPv6 client is its /64.
		{"2001:db8::1", http.StatusAccepted},
		{"2001:db8::2", http.StatusTooManyRequests},
		{"2001:db8:0:1::1", http.StatusAccepted},
		// No header: the proxy itself.
		{"", http.StatusAccepted},
		{"", http.StatusTooManyRequests},
	} {
		if code, _, _ := send(t, c, srv, "POST", "/intake/forms/contact", step.xff); code != step.want {
			t.Fatalf("X-Forwarded-For %q: %d, want %d", step.xff, code, step.want)
		}
	}
}

func TestRateLimitUntrustedXFF(t *testing.T) {
	_, srv, _, _ := limited(t, webhook.RateLimit{Rate: 1, Burst: 2, TrustedProxies: []string{"10.0.0.0/8"}})
	c := from(t, "127.0.0.1")
	for i, want := range []int{http.StatusAccepted, http.StatusAccepted, http.StatusTooManyRequests, http.StatusTooManyRequests} {
		if code, _, _ := send(t, c, srv, "POST", "/intake/forms/contact", fmt.Sprintf("203.0.113.%d", i)); code != want {
			t.Fatalf("post %d with a made-up X-Forwarded-For: %d, want %d", i+1, code, want)
		}
	}
}

// post sends one request from remote through h without a network.
func post(h http.Handler, remote, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRateLimitBounded(t *testing.T) {
	clk := newClock()
	l, err := webhook.NewRateLimiter(webhook.RateLimit{Rate: 1, Burst: 1, MaxClients: 100, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Wrap(http.HandlerFunc(accepted))
	// A flood of addresses within one instant: never more than 100 kept.
	for i := range 10_000 {
		if w := post(h, fmt.Sprintf("10.%d.%d.1:999", i/256, i%256), "/intake/forms/contact"); w.Code != http.StatusAccepted {
			t.Fatalf("new client %d: %d", i, w.Code)
		}
		if n := l.Clients(); n > 100 {
			t.Fatalf("%d clients tracked after %d addresses", n, i+1)
		}
	}
	// The most recent ones are still limited.
	if w := post(h, "10.39.15.1:999", "/intake/forms/contact"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("recent client: %d", w.Code)
	}
	// Once their buckets have refilled, traffic sheds them.
	clk.Advance(time.Second)
	for range 60 {
		post(h, "192.0.2.1:999", "/intake/forms/contact")
	}
	if n := l.Clients(); n != 1 {
		t.Fatalf("%d clients tracked after the flood, want 1", n)
	}
}

func TestRateLimitLabelsBounded(t *testing.T) {
	counters, _ := webhook.NewCounters(prometheus.NewRegistry())
	clk := newClock()
	l, err := webhook.NewRateLimiter(webhook.RateLimit{Rate: 1, Burst: 1, Now: clk.Now, Counters: counters})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Wrap(http.HandlerFunc(accepted))
	post(h, "203.0.113.1:999", "/intake/forms/contact")
	for i := range 300 {
		if w := post(h, "203.0.113.1:999", "/intake/forms/f"+strconv.Itoa(i)); w.Code != http.StatusTooManyRequests {
			t.Fatalf("made-up path %d: %d", i, w.Code)
		}
	}
	if got := counters.Count("form", "f0", http.StatusTooManyRequests, webhook.ReasonRate); got != 1 {
		t.Errorf("first path counted %v", got)
	}
	if got := counters.Count("intake", "other", http.StatusTooManyRequests, webhook.ReasonRate); got != 300-256 {
		t.Errorf("paths past the label bound counted %v, want %d", got, 300-256)
	}
}

func TestRateLimitOff(t *testing.T) {
	l, err := webhook.NewRateLimiter(webhook.RateLimit{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Wrap(http.HandlerFunc(accepted))
	for range 1000 {
		if w := post(h, "203.0.113.1:999", "/intake/forms/contact"); w.Code != http.StatusAccepted {
			t.Fatalf("rate 0 limited: %d", w.Code)
		}
	}
	if l.Clients() != 0 {
		t.Errorf("rate 0 tracks %d clients", l.Clients())
	}
}

func TestNewRateLimiterErrors(t *testing.T) {
	for _, c := range []webhook.RateLimit{
		{Rate: -1}, {Rate: 1, Burst: -1}, {Rate: 1, TrustedProxies: []string{"proxy.example"}},
	} {
		if _, err := webhook.NewRateLimiter(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// The limiter in front of the real form handler: a signed post over the
// limit is answered 429 before it is read, and counted under its form.
func TestRateLimitFormHandler(t *testing.T) {
	clk := newClock()
	counters, _ := webhook.NewCounters(prometheus.NewRegistry())
	l, err := webhook.NewRateLimiter(webhook.RateLimit{Rate: 1.0 / 60, Burst: 2, Now: clk.Now, Counters: counters})
	if err != nil {
		t.Fatal(err)
	}
	r := newRigWrapped(t, l.Wrap)
	const good = `{"email":"ann@example.net","message":"Hello."}`
	for i, want := range []int{http.StatusAccepted, http.StatusAccepted, http.StatusTooManyRequests} {
		code, out, hdr := r.post(t, "contact", "msg_rl_"+strconv.Itoa(i), "application/json", good, true)
		if code != want {
			t.Fatalf("post %d: %d %v", i+1, code, out)
		}
		if code == http.StatusTooManyRequests && (hdr.Get("Retry-After") != "60" || out["reason"] != webhook.ReasonRate ||
			hdr.Get("Content-Type") != "application/json") {
			t.Fatalf("429: %v %v", out, hdr)
		}
	}
	if got := counters.Count("form", "contact", http.StatusTooManyRequests, webhook.ReasonRate); got != 1 {
		t.Errorf("counted %v", got)
	}
	clk.Advance(time.Minute)
	if code, out, _ := r.post(t, "contact", "msg_rl_3", "application/json", good, true); code != http.StatusAccepted {
		t.Fatalf("a minute later: %d %v", code, out)
	}
}
