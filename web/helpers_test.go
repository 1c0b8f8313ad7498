package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/sqlite"
	"github.com/frontdesk/frontdesk/web"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The callers of the tests. Tokens are at least 16 characters, as the
// config demands.
const (
	tokAlice = "alice-token-0123456789"  // csr of support
	tokBob   = "bob-token-0123456789ab"  // csr of support
	tokOlga  = "olga-token-0123456789a"  // csr of orders
	tokSam   = "sam-token-0123456789abc" // supervisor
	tokWrong = "not-a-token-0123456789"
)

var testTokens = []config.Token{
	{Name: "alice", Token: tokAlice, Role: config.RoleCSR, Queues: []string{"support"}},
	{Name: "bob", Token: tokBob, Role: config.RoleCSR, Queues: []string{"support"}},
	{Name: "olga", Token: tokOlga, Role: config.RoleCSR, Queues: []string{"orders"}},
	{Name: "sam", Token: tokSam, Role: config.RoleSupervisor},
}

// clock is a controlled Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a real sqlite store behind the API on a loopback httptest server.
type env struct {
	t     *testing.T
	db    *sqlite.DB
	srv   *httptest.Server
	clock *clock
	logs  *syncBuffer
	ready atomic.Pointer[error]
	seq   atomic.Int64
}

// wrapStore lets a test put a fault in front of the real store.
type wrapStore func(web.Store) web.Store

func newEnv(t *testing.T, wrap ...wrapStore) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "frontdesk.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, clock: &clock{t: time.Now().UTC()}, logs: &syncBuffer{}}
	var st web.Store = db
	for _, w := range wrap {
		st = w(st)
	}
	h := web.New(web.Options{
		Store:  st,
		Tokens: testTokens,
		Log:    slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    e.clock.Now,
		Lease:  5 * time.Minute,
		Ready: func(context.Context) error {
			if p := e.ready.Load(); p != nil {
				return *p
			}
			return nil
		},
	})
	e.srv = httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(func() {
		e.srv.Close()
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return e
}

// seedInbound accepts, normalises and classifies one message.
func (e *env) seedInbound(queue string, intent message.Intent, m *message.Message) *store.Inbound {
	e.t.Helper()
	ctx := context.Background()
	n := e.seq.Add(1)
	in := &store.Inbound{
		Channel: message.ChannelIMAP, Source: queue, SourceKey: fmt.Sprintf("imap:%s:1:%d", queue, n),
		Blob: fmt.Sprintf("%064x", n), Size: 1234, Intent: intent, Queue: queue,
	}
	if _, err := e.db.AcceptInbound(ctx, in); err != nil {
		e.t.Fatal(err)
	}
	if m == nil {
		m = &message.Message{}
	}
	m.Channel = message.ChannelIMAP
	if m.MessageID == "" {
		m.MessageID = fmt.Sprintf("msg%d@customer.example", n)
	}
	if err := e.db.SaveNormalised(ctx, in.ID, m); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.SaveClassification(ctx, in.ID, store.Classification{Intent: intent, Priority: store.PriorityNormal, Queue: queue, Rule: "test"}); err != nil {
		e.t.Fatal(err)
	}
	return in
}

// dueFor gives each seeded work item an earlier due time than the one
// before, so a claim always picks the newest open item.
func (e *env) dueFor(n int64) time.Time {
	return e.clock.Now().Add(24*time.Hour - time.Duration(n)*time.Minute)
}

// seedCase registers a case in queue with one open work item.
func (e *env) seedCase(queue string, m *message.Message) (*store.Case, *store.WorkItem) {
	e.t.Helper()
	ctx := context.Background()
	in := e.seedInbound(queue, message.IntentCase, m)
	c, _, err := e.db.RegisterCase(ctx, store.NewCase{
		InboundID: in.ID, Kind: "inquiry", Priority: store.PriorityNormal, Queue: queue,
		Channel: message.ChannelIMAP, Customer: "customer@example.com", Subject: "Help",
	})
	if err != nil {
		e.t.Fatal(err)
	}
	w := &store.WorkItem{Queue: queue, Ref: store.Ref{CaseID: c.ID}, InboundID: in.ID, Priority: store.PriorityNormal, DueAt: e.dueFor(e.seq.Load())}
	if _, err := e.db.EnsureWorkItem(ctx, w); err != nil {
		e.t.Fatal(err)
	}
	return c, w
}

// seedOrder registers an order in queue with one open work item.
func (e *env) seedOrder(queue string) (*store.Order, *store.WorkItem) {
	e.t.Helper()
	ctx := context.Background()
	in := e.seedInbound(queue, message.IntentOrder, &message.Message{
		From: message.Address{Addr: "buyer@example.com"}, Subject: "PO 4711", Text: "10 widgets",
	})
	o, _, err := e.db.RegisterOrder(ctx, store.NewOrder{
		InboundID: in.ID, Priority: store.PriorityHigh, Queue: queue,
		Channel: message.ChannelIMAP, Customer: "buyer@example.com", Subject: "PO 4711",
	})
	if err != nil {
		e.t.Fatal(err)
	}
	w := &store.WorkItem{Queue: queue, Ref: store.Ref{OrderID: o.ID}, InboundID: in.ID, Priority: store.PriorityHigh, DueAt: e.dueFor(e.seq.Load())}
	if _, err := e.db.EnsureWorkItem(ctx, w); err != nil {
		e.t.Fatal(err)
	}
	return o, w
}

// response is what do returns.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// json decodes the body into v.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// errorMessage returns the "error" of a JSON error body.
func (r response) errorMessage(t *testing.T) string {
	t.Helper()
	var b struct {
		Error string `json:"error"`
	}
	r.json(t, &b)
	return b.Error
}

// do sends a request with token (none when empty) and optional extra
// headers ("Name", "value" pairs).
func (e *env) do(method, path, token string, body []byte, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// workView mirrors the API's work item answer.
type workView struct {
	Item struct {
		ID           int64     `json:"id"`
		Queue        string    `json:"queue"`
		State        string    `json:"state"`
		Priority     string    `json:"priority"`
		LeaseOwner   string    `json:"lease_owner"`
		LeaseExpires time.Time `json:"lease_expires"`
		Reason       string    `json:"reason"`
		InboundID    int64     `json:"inbound_id"`
	} `json:"item"`
	Case *struct {
		Number string `json:"number"`
		Queue  string `json:"queue"`
		Status string `json:"status"`
	} `json:"case"`
	Order *struct {
		Number string `json:"number"`
	} `json:"order"`
	Inbound *struct {
		ID         int64  `json:"id"`
		Status     string `json:"status"`
		FailReason string `json:"fail_reason"`
	} `json:"inbound"`
}

// events lists the audit trail of ref.
func (e *env) events(ref store.Ref) []store.Event {
	e.t.Helper()
	es, err := e.db.Events(context.Background(), ref)
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}
