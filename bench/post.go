package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk/frontdesk/intake/webhook"
	"github.com/frontdesk/frontdesk/internal/testenv"
)

// formLoad posts signed web-form submissions to the daemon's HTTP
// listener: every fifth (Scenario.OrderEvery) to the order form, the rest
// to the contact form, each signed the Standard Webhooks way with a
// webhook id of its own.
//
// One http.Transport keeps up to conns connections alive for the whole
// run, and the bodies are built before the clock starts, so that the
// harness spends its time on the HTTP exchange, not on itself; signing
// (one HMAC-SHA256 of 0.5–3 KB) happens at send time, as a sender does.
type formLoad struct {
	base       string // http://host:port
	key        []byte
	orderEvery int
	transport  *http.Transport
	client     *http.Client

	mu      sync.Mutex
	threads map[string][]string // run -> the Message-ID of each submission
}

var _ intakeLoad = (*formLoad)(nil)

// newFormLoad prepares posting to the daemon at httpAddr over at most
// conns connections.
func newFormLoad(httpAddr string, conns, orderEvery int) (*formLoad, error) {
	key, err := webhook.Key(formSecret)
	if err != nil {
		return nil, err
	}
	conns = max(conns, 1)
	t := &http.Transport{
		Proxy:               nil, // loopback: never a proxy from the environment
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &formLoad{
		base: "http://" + httpAddr, key: key, orderEvery: orderEvery, transport: t,
		// The daemon's own write timeout is a minute; this only ends a
		// request that hangs beyond it.
		client: &http.Client{Transport: t, Timeout: 2 * time.Minute},
	}, nil
}

// prepared is one submission ready to post.
type prepared struct {
	url, id string
	body    []byte
}

// offer posts count submissions of run at rate per second, open-loop: the
// i-th is due at start + i/rate whatever happened to the others, posted
// by conns workers over their keep-alive connections. A submission that
// is not answered 202 is recorded with its status (0 when the request
// failed) and the load goes on; only the end of ctx stops it.
func (f *formLoad) offer(ctx context.Context, run string, conns int, rate float64, count int) ([]delivery, error) {
	conns = max(conns, 1)
	reqs := make([]prepared, count)
	mids := make([]string, count)
	for i := range reqs {
		form, body, err := formSubmission(run, i, isOrder(i, f.orderEvery))
		if err != nil {
			return nil, err
		}
		reqs[i] = prepared{url: f.base + "/intake/forms/" + form, id: fmt.Sprintf("msg_%s_%d", run, i), body: body}
		mids[i] = webhook.FormMessageID(form, reqs[i].id, daemonDomain)
	}
	f.mu.Lock()
	if f.threads == nil {
		f.threads = map[string][]string{}
	}
	f.threads[run] = mids
	f.mu.Unlock()

	out := make([]delivery, count)
	jobs := make(chan int, count)
	for i := range count {
		jobs <- i
	}
	close(jobs)
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(0)
			defer timer.Stop()
			<-timer.C
			for i := range jobs {
				due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					timer.Reset(d)
					select {
					case <-timer.C:
					case <-ctx.Done():
						return
					}
				}
				now := time.Now()
				code, dup, err := f.post(ctx, reqs[i], now)
				if ctx.Err() != nil {
					return
				}
				d := delivery{index: i, At: now, Lag: now.Sub(due), Answered: time.Now(), Status: code,
					Accepted: code == http.StatusAccepted && !dup, Duplicate: dup}
				if err != nil {
					d.Err = err.Error()
				}
				out[i] = d
				reqs[i].body = nil // posted: let it go
			}
		}()
	}
	wg.Wait()
	f.transport.CloseIdleConnections()
	return out, ctx.Err()
}

// post sends one submission signed at now and reads the answer: its
// status code, and whether the daemon took it for a re-post.
func (f *formLoad) post(ctx context.Context, p prepared, now time.Time) (code int, duplicate bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderID, p.id)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(f.key, p.id, now, p.body))
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	// The answer is a small JSON object; read all of it so that the
	// connection goes back to the pool.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, false, fmt.Errorf("read the answer: %w", err)
	}
	return resp.StatusCode, bytes.Contains(body, []byte(`"duplicate":true`)), nil
}

// match matches an acknowledgement to the submission it answers by its
// recipient (submitterAddr), and only when its In-Reply-To names that
// submission's message (webhook.FormMessageID): an acknowledgement
// threaded wrong counts as unmatched, so the submission as lost.
func (f *formLoad) match(run string) func(testenv.Received) (int, bool) {
	f.mu.Lock()
	mids := f.threads[run]
	f.mu.Unlock()
	byRecipient := recipientMatch(run)
	return func(r testenv.Received) (int, bool) {
		i, ok := byRecipient(r)
		if !ok || i >= len(mids) {
			return 0, false
		}
		irt := strings.Trim(strings.TrimSpace(r.Header.Get("In-Reply-To")), "<>")
		return i, irt == mids[i]
	}
}

func (f *formLoad) close() { f.transport.CloseIdleConnections() }
