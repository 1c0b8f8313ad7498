// Package web is the CSR desk's HTTP JSON API: CSRs and supervisors list
// their queues, claim work under a lease, renew, release and complete it,
// and read cases and orders with their threads and audit trail; /healthz
// and /readyz serve liveness and readiness. It owns authentication (bearer
// tokens from the config), per-queue authorisation (a CSR sees only the
// queues of their token: other queues are 403, records in them 404), the
// JSON shapes of the API and request logging. It reads and writes through
// the few store methods it declares in Store.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/store"
)

// Store is what the API needs of the system of record (store.Store has
// it). Claim, Release and Complete record their own audit events
// (work.claimed, work.released, work.completed) with the owner as actor.
type Store interface {
	Queues(ctx context.Context, now time.Time) ([]store.QueueStats, error)
	Claim(ctx context.Context, queue, owner string, now time.Time, lease time.Duration) (*store.WorkItem, error)
	Renew(ctx context.Context, id int64, owner string, now time.Time, lease time.Duration) (*store.WorkItem, error)
	Release(ctx context.Context, id int64, owner string, now time.Time) error
	Complete(ctx context.Context, id int64, owner string, now time.Time) error
	WorkItem(ctx context.Context, id int64) (*store.WorkItem, error)
	Case(ctx context.Context, id int64) (*store.Case, error)
	CaseByNumber(ctx context.Context, number string) (*store.Case, error)
	Order(ctx context.Context, id int64) (*store.Order, error)
	OrderByNumber(ctx context.Context, number string) (*store.Order, error)
	Thread(ctx context.Context, ref store.Ref) ([]store.ThreadMessage, error)
	Inbound(ctx context.Context, id int64) (*store.Inbound, error)
	Events(ctx context.Context, ref store.Ref) ([]store.Event, error)
	AddEvent(ctx context.Context, e store.Event) error
	SetCaseStatus(ctx context.Context, id int64, s store.CaseStatus) error
}

var _ Store = store.Store(nil)

// Options configure New. Store is required; the rest have defaults.
type Options struct {
	Store Store
	// Tokens grant access; without any, only /healthz and /readyz answer
	// anything but 401.
	Tokens []config.Token
	// Log receives one line per request (never the token). Default: discard.
	Log *slog.Logger
	// Now is the clock for leases. Default time.Now.
	Now func() time.Time
	// Lease is how long a claim or renewal lasts. Default 5m.
	Lease time.Duration
	// Ready reports whether this process can do its work (store, Redis,
	// intake); /readyz answers 503 with its error. Nil means always ready.
	Ready func(ctx context.Context) error
}

// DefaultLease is the lease of a claim when Options.Lease is zero.
const DefaultLease = 5 * time.Minute

// Bounds of the API.
const (
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes = 64 << 10
	// readyTimeout bounds one readiness check.
	readyTimeout = 5 * time.Second
)

// server holds the handlers' dependencies.
type server struct {
	store  Store
	log    *slog.Logger
	now    func() time.Time
	lease  time.Duration
	ready  func(ctx context.Context) error
	tokens []credential
	policy *bluemonday.Policy
	mux    *http.ServeMux
}

// New returns the API handler. It panics if opts.Store is nil, a wiring
// error.
func New(opts Options) http.Handler {
	if opts.Store == nil {
		panic("web.New: Options.Store is nil")
	}
	s := &server{
		store:  opts.Store,
		log:    opts.Log,
		now:    opts.Now,
		lease:  opts.Lease,
		ready:  opts.Ready,
		tokens: credentials(opts.Tokens),
		policy: newSanitizer(),
		mux:    http.NewServeMux(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.lease <= 0 {
		s.lease = DefaultLease
	}
	s.routes()
	return s.logRequests(s.recoverPanics(s.crossOrigin(http.HandlerFunc(s.dispatch))))
}

func (s *server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)

	s.mux.Handle("GET /api/v1/queues", s.auth(s.listQueues))
	s.mux.Handle("POST /api/v1/queues/{queue}/claim", s.auth(s.claim))

	s.mux.Handle("GET /api/v1/work/{id}", s.auth(s.getWork))
	s.mux.Handle("POST /api/v1/work/{id}/renew", s.auth(s.renew))
	s.mux.Handle("POST /api/v1/work/{id}/release", s.auth(s.release))
	s.mux.Handle("POST /api/v1/work/{id}/complete", s.auth(s.complete))

	s.mux.Handle("GET /api/v1/cases/{number}", s.auth(s.getCase))
	s.mux.Handle("POST /api/v1/cases/{number}/status", s.auth(s.setCaseStatus))
	s.mux.Handle("GET /api/v1/orders/{number}", s.auth(s.getOrder))
}
