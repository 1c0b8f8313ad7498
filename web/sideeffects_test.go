package web_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

// snapshot is everything a request could change.
type snapshot struct {
	Queues      []store.QueueStats
	Work        []store.WorkItem
	Case        store.Case
	Order       store.Order
	CaseEvents  []store.Event
	OrderEvents []store.Event
	Thread      []store.ThreadMessage
}

func (e *env) snapshot(c *store.Case, o *store.Order, items ...int64) snapshot {
	e.t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	if s.Queues, err = e.db.Queues(ctx, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	for _, id := range items {
		w, err := e.db.WorkItem(ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		s.Work = append(s.Work, *w)
	}
	cc, err := e.db.Case(ctx, c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	oo, err := e.db.Order(ctx, o.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	s.Case, s.Order = *cc, *oo
	s.CaseEvents = e.events(store.Ref{CaseID: c.ID})
	s.OrderEvents = e.events(store.Ref{OrderID: o.ID})
	if s.Thread, err = e.db.Thread(ctx, store.Ref{CaseID: c.ID}); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestReadsHaveNoSideEffects is RELIABILITY.md S2: every GET (and HEAD),
// by every caller, leaves the store as it was; so does a cross-origin POST
// carrying a valid token.
func TestReadsHaveNoSideEffects(t *testing.T) {
	e := newEnv(t)
	c, cw := e.seedCase("support", nil)
	o, ow := e.seedOrder("orders")
	// Some state worth disturbing: alice holds a lease that is about to
	// expire.
	if r := e.do("POST", "/api/v1/queues/support/claim", tokAlice, nil); r.code != http.StatusOK {
		t.Fatalf("claim: %d %s", r.code, r.body)
	}
	e.clock.Advance(4 * time.Minute)
	before := e.snapshot(c, o, cw.ID, ow.ID)

	paths := []string{
		"/healthz", "/readyz", "/api/v1/queues",
		fmt.Sprintf("/api/v1/work/%d", cw.ID), fmt.Sprintf("/api/v1/work/%d", ow.ID),
		"/api/v1/cases/" + c.Number, "/api/v1/orders/" + o.Number,
		// GET on POST routes must not run them.
		"/api/v1/queues/support/claim", fmt.Sprintf("/api/v1/work/%d/renew", cw.ID),
		fmt.Sprintf("/api/v1/work/%d/complete", cw.ID), "/api/v1/cases/" + c.Number + "/status",
	}
	for _, p := range paths {
		for _, who := range allCallers {
			for _, m := range []string{"GET", "HEAD"} {
				r := e.do(m, p, who.token, nil)
				if r.code >= 500 {
					t.Errorf("%s %s as %s: %d", m, p, who.name, r.code)
				}
			}
		}
	}
	// A browser on another site sending a state change with a stolen token.
	for _, p := range []string{
		fmt.Sprintf("/api/v1/work/%d/complete", cw.ID),
		fmt.Sprintf("/api/v1/work/%d/renew", cw.ID),
		"/api/v1/queues/orders/claim",
	} {
		r := e.do("POST", p, tokAlice, nil, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if r.code != http.StatusForbidden {
			t.Errorf("cross-origin POST %s: %d %s, want 403", p, r.code, r.body)
		}
	}
	r := e.do("POST", "/api/v1/cases/"+c.Number+"/status", tokSam, []byte(`{"status":"closed"}`), "Origin", "http://evil.example")
	if r.code != http.StatusForbidden {
		t.Errorf("cross-origin status change: %d %s, want 403", r.code, r.body)
	}
	// Identity headers from the peer are not trusted.
	r = e.do("GET", "/api/v1/queues", "", nil, "X-Forwarded-User", "sam", "X-Remote-User", "sam")
	if r.code != http.StatusUnauthorized {
		t.Errorf("identity header accepted: %d", r.code)
	}

	after := e.snapshot(c, o, cw.ID, ow.ID)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("reads changed the store:\nbefore %+v\nafter  %+v", before, after)
	}
}
