package webhook

import (
	"container/list"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxClients is how many client addresses a RateLimiter tracks at
// most, unless told otherwise.
const DefaultMaxClients = 100_000

// maxLabelSets bounds the (channel, endpoint) label pairs the limiter
// counts refusals under; the path is the client's to choose, so later
// pairs are counted as channel "intake", endpoint "other".
const maxLabelSets = 256

// RateLimit configures a RateLimiter.
type RateLimit struct {
	// Rate is the submissions per second one client may post (http.client_rate);
	// 0 turns the limit off.
	Rate float64
	// Burst is how many it may post at once (http.client_burst); below 1
	// it is Rate rounded up, at least 1.
	Burst int
	// TrustedProxies (http.trusted_proxies) are believed in X-Forwarded-For.
	TrustedProxies []string
	// MaxClients bounds the clients tracked; default DefaultMaxClients.
	MaxClients int
	// Labels names the channel and endpoint a refusal is counted under;
	// default IntakeLabels.
	Labels func(r *http.Request) (channel, endpoint string)
	Now    func() time.Time // default time.Now
	Log    *slog.Logger     // default: discard
	// Counters may be nil.
	Counters *Counters
	// MaxInflight bounds the submissions being served at once and
	// MaxInflightBytes the bodies they declare (Content-Length; a body
	// of unknown length counts as unknownBodyBytes): beyond either, a
	// submission is answered 503 with Retry-After at once — back-pressure
	// instead of memory when the whole world posts at once. 0: no bound.
	MaxInflight      int
	MaxInflightBytes int64
}

// RateLimiter limits the submissions each client address posts, with one
// token bucket per client (golang.org/x/time/rate). A client is an IPv4
// address or an IPv6 /64, as ClientAddr finds it behind trusted proxies.
// The buckets live in a map bounded by MaxClients: a bucket idle long
// enough to have refilled is the same as a new one and is dropped
// whenever the map is touched, and when the map is full the least
// recently used client is forgotten, so a flood of addresses costs a
// fixed amount of memory (and at worst lets a forgotten client start
// again with a full bucket). A RateLimiter is safe for concurrent use.
type RateLimiter struct {
	limit   rate.Limit
	burst   int
	idle    time.Duration // a bucket idle this long is full again
	max     int
	proxies TrustedProxies
	labels  func(*http.Request) (string, string)
	now     func() time.Time
	log     *slog.Logger
	count   *Counters

	mu        sync.Mutex
	clients   map[string]*list.Element // of *bucket
	lru       list.List                // most recently used first
	labelSets map[[2]string]bool
	evicted   int64     // clients forgotten while their bucket was not full
	warned    time.Time // last warning about that

	inflight inflight
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

// NewRateLimiter checks c and returns its limiter.
func NewRateLimiter(c RateLimit) (*RateLimiter, error) {
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return nil, fmt.Errorf("webhook: rate limit: rate must be a positive number or 0, got %v", c.Rate)
	}
	if c.Burst < 0 {
		return nil, fmt.Errorf("webhook: rate limit: burst must not be negative, got %d", c.Burst)
	}
	if c.MaxInflight < 0 || c.MaxInflightBytes < 0 {
		return nil, fmt.Errorf("webhook: in-flight bounds must not be negative, got %d and %d", c.MaxInflight, c.MaxInflightBytes)
	}
	proxies, err := ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return nil, err
	}
	l := &RateLimiter{
		limit: rate.Limit(c.Rate), burst: c.Burst, max: c.MaxClients, proxies: proxies,
		labels: c.Labels, now: c.Now, log: c.Log, count: c.Counters,
		clients: map[string]*list.Element{}, labelSets: map[[2]string]bool{},
		inflight: inflight{maxCount: c.MaxInflight, maxBytes: c.MaxInflightBytes},
	}
	if l.burst < 1 {
		l.burst = max(1, int(math.Ceil(c.Rate)))
	}
	if l.max <= 0 {
		l.max = DefaultMaxClients
	}
	if l.labels == nil {
		l.labels = IntakeLabels
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if c.Rate > 0 {
		l.idle = time.Duration(float64(l.burst) / c.Rate * float64(time.Second))
	}
	return l, nil
}

// Wrap limits the submissions that reach next: each request but GET,
// HEAD and OPTIONS (token fetches and CORS preflights submit nothing)
// takes a token from its client's bucket; without one it is answered 429
// with Retry-After (whole seconds, at least 1), through the responder, so
// it is JSON, logged and counted with ReasonRate. With rate 0 Wrap
// returns next.
func (l *RateLimiter) Wrap(next http.Handler) http.Handler {
	if l.limit == 0 && !l.inflight.bounded() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if l.limit != 0 {
			key := r.RemoteAddr // no IP in it (a Unix socket): one bucket per peer name
			if a := l.proxies.ClientAddr(r); a.IsValid() {
				key = clientKey(a)
			}
			if ok, wait := l.Allow(key); !ok {
				l.refuse(w, r, http.StatusTooManyRequests, ReasonRate, wait,
					"too many submissions from your address; retry after %s s")
				return
			}
		}
		release, ok := l.inflight.acquire(r.ContentLength)
		if !ok {
			l.refuse(w, r, http.StatusServiceUnavailable, ReasonBusy, time.Second,
				"too many submissions at once; retry after %s s")
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}

// refuse answers 429 or 503 with Retry-After (whole seconds, at least 1).
func (l *RateLimiter) refuse(w http.ResponseWriter, r *http.Request, code int, reason string, wait time.Duration, msg string) {
	channel, endpoint := l.label(r)
	secs := strconv.FormatInt(max(1, int64(math.Ceil(wait.Seconds()))), 10)
	w.Header().Set("Retry-After", secs)
	p := &responder{channel: channel, log: l.log, counters: l.count}
	p.refused(w, r, endpoint, code, reason, fmt.Sprintf(msg, secs))
}

// Allow takes a token from the bucket of client key; when there is none
// it says how long until there is one (at least a second).
func (l *RateLimiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.lim.TokensAt(now)
	wait := time.Duration(missing / float64(l.limit) * float64(time.Second))
	return false, max(wait, time.Second)
}

// Clients is how many clients are tracked now.
func (l *RateLimiter) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// bucket finds or makes the bucket of key and marks it used; l.mu is held.
func (l *RateLimiter) bucket(key string, now time.Time) *bucket {
	// Forget a few full-again buckets on every call, so that memory
	// shrinks back after a flood without a sweeper goroutine.
	for range 2 {
		back := l.lru.Back()
		if back == nil || now.Sub(back.Value.(*bucket).last) < l.idle {
			break
		}
		l.drop(back)
	}
	if e, ok := l.clients[key]; ok {
		b := e.Value.(*bucket)
		b.last = now
		l.lru.MoveToFront(e)
		return b
	}
	for len(l.clients) >= l.max {
		back := l.lru.Back()
		if now.Sub(back.Value.(*bucket).last) < l.idle {
			l.evicted++
			if now.Sub(l.warned) >= time.Minute {
				l.warned = now
				l.log.Warn("rate limiter full: forgetting clients whose bucket had not refilled",
					"max_clients", l.max, "forgotten_so_far", l.evicted)
			}
		}
		l.drop(back)
	}
	b := &bucket{key: key, lim: rate.NewLimiter(l.limit, l.burst), last: now}
	l.clients[key] = l.lru.PushFront(b)
	return b
}

func (l *RateLimiter) drop(e *list.Element) {
	delete(l.clients, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// label is the channel and endpoint a refusal of r is counted under,
// within maxLabelSets pairs.
func (l *RateLimiter) label(r *http.Request) (channel, endpoint string) {
	channel, endpoint = l.labels(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]string{channel, endpoint}
	if !l.labelSets[k] {
		if len(l.labelSets) >= maxLabelSets {
			return "intake", "other"
		}
		l.labelSets[k] = true
	}
	return channel, endpoint
}

// IntakeLabels names the channel and endpoint of an intake path:
// /intake/forms/{form}[/...] is channel "form", endpoint the form's name;
// /intake/{channel}/{endpoint}[/...] is that channel and endpoint, or the
// channel twice when the path has no second part.
func IntakeLabels(r *http.Request) (channel, endpoint string) {
	rest, _ := strings.CutPrefix(r.URL.Path, "/intake/")
	parts := strings.SplitN(rest, "/", 3)
	channel = parts[0]
	switch {
	case channel == "forms":
		channel = "form"
	case channel == "":
		channel = "intake"
	}
	endpoint = channel
	if len(parts) > 1 && parts[1] != "" {
		endpoint = parts[1]
	}
	return channel, endpoint
}
