package web_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

// caller is one column of the access matrix.
type caller struct {
	name  string // lease owner when the caller may work the item
	token string
}

var (
	anonymous  = caller{"anonymous", ""}
	wrongToken = caller{"wrong token", tokWrong}
	otherCSR   = caller{"olga", tokOlga} // csr of orders only
	queueCSR   = caller{"alice", tokAlice}
	supervisor = caller{"sam", tokSam}
	allCallers = []caller{anonymous, wrongToken, otherCSR, queueCSR, supervisor}
)

// matrixFixture is the state every matrix row starts from: a case and its
// work item in support, an order in orders.
type matrixFixture struct {
	c     *store.Case
	cw    *store.WorkItem
	o     *store.Order
	owner string // who holds the lease on cw, if anyone
}

// route is one row: how to prepare, what to send, and the expected status
// per caller.
type route struct {
	name   string
	method string
	path   func(f *matrixFixture) string
	body   string
	// claimFirst leases the case's item to the caller (or to alice when
	// the caller may not work it) before the request.
	claimFirst bool
	want       map[string]int
}

func codes(anon, wrong, other, csr, sup int) map[string]int {
	return map[string]int{"anonymous": anon, "wrong token": wrong, "olga": other, "alice": csr, "sam": sup}
}

// TestAccessMatrix is RELIABILITY.md S1: every route × every kind of caller,
// on objects that are and are not theirs.
func TestAccessMatrix(t *testing.T) {
	const u, ok, nf, fb = http.StatusUnauthorized, http.StatusOK, http.StatusNotFound, http.StatusForbidden
	workPath := func(op string) func(f *matrixFixture) string {
		return func(f *matrixFixture) string { return fmt.Sprintf("/api/v1/work/%d%s", f.cw.ID, op) }
	}
	routes := []route{
		{name: "healthz", method: "GET", path: func(*matrixFixture) string { return "/healthz" }, want: codes(ok, ok, ok, ok, ok)},
		{name: "readyz", method: "GET", path: func(*matrixFixture) string { return "/readyz" }, want: codes(ok, ok, ok, ok, ok)},
		{name: "queues", method: "GET", path: func(*matrixFixture) string { return "/api/v1/queues" }, want: codes(u, u, ok, ok, ok)},
		{name: "claim support", method: "POST", path: func(*matrixFixture) string { return "/api/v1/queues/support/claim" }, want: codes(u, u, fb, ok, ok)},
		{name: "claim orders", method: "POST", path: func(*matrixFixture) string { return "/api/v1/queues/orders/claim" }, want: codes(u, u, ok, fb, ok)},
		{name: "get work", method: "GET", path: workPath(""), want: codes(u, u, nf, ok, ok)},
		{name: "renew", method: "POST", path: workPath("/renew"), claimFirst: true, want: codes(u, u, nf, ok, ok)},
		{name: "release", method: "POST", path: workPath("/release"), claimFirst: true, want: codes(u, u, nf, ok, ok)},
		{name: "complete", method: "POST", path: workPath("/complete"), claimFirst: true, want: codes(u, u, nf, ok, ok)},
		{name: "get case", method: "GET", path: func(f *matrixFixture) string { return "/api/v1/cases/" + f.c.Number }, want: codes(u, u, nf, ok, ok)},
		{name: "case status", method: "POST", path: func(f *matrixFixture) string { return "/api/v1/cases/" + f.c.Number + "/status" },
			body: `{"status":"resolved"}`, want: codes(u, u, nf, ok, ok)},
		{name: "get order", method: "GET", path: func(f *matrixFixture) string { return "/api/v1/orders/" + f.o.Number }, want: codes(u, u, ok, nf, ok)},
		// Objects that do not exist look exactly like objects of other queues.
		{name: "missing work", method: "GET", path: func(*matrixFixture) string { return "/api/v1/work/999999" }, want: codes(u, u, nf, nf, nf)},
		{name: "missing case", method: "GET", path: func(*matrixFixture) string { return "/api/v1/cases/C-999999" }, want: codes(u, u, nf, nf, nf)},
		{name: "missing order", method: "GET", path: func(*matrixFixture) string { return "/api/v1/orders/O-999999" }, want: codes(u, u, nf, nf, nf)},
	}
	for _, rt := range routes {
		// One store per route; each caller gets fresh objects in it.
		t.Run(rt.name, func(t *testing.T) {
			e := newEnv(t)
			for _, who := range allCallers {
				f := &matrixFixture{}
				f.c, f.cw = e.seedCase("support", nil)
				f.o, _ = e.seedOrder("orders")
				if rt.claimFirst {
					f.owner = "alice"
					if who == supervisor {
						f.owner = "sam"
					}
					got, err := e.db.Claim(context.Background(), "support", f.owner, e.clock.Now(), time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					if got.ID != f.cw.ID {
						t.Fatalf("fixture: claimed item %d, want the fresh %d", got.ID, f.cw.ID)
					}
				}
				var body []byte
				if rt.body != "" {
					body = []byte(rt.body)
				}
				r := e.do(rt.method, rt.path(f), who.token, body)
				if want := rt.want[who.name]; r.code != want {
					t.Errorf("%s %s as %s: %d %s, want %d", rt.method, rt.path(f), who.name, r.code, r.body, want)
					continue
				}
				switch r.code {
				case http.StatusUnauthorized:
					if ch := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") {
						t.Errorf("%s: 401 without a Bearer challenge: %q", who.name, ch)
					}
					if who == wrongToken && !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
						t.Errorf("wrong token challenge = %q", r.header.Get("WWW-Authenticate"))
					}
				case http.StatusNotFound, http.StatusForbidden:
					// Nothing of the object leaks into the refusal.
					if msg := r.errorMessage(t); strings.Contains(msg, "customer@") || strings.Contains(msg, "Help") {
						t.Errorf("%s: refusal leaks the object: %q", who.name, msg)
					}
				}
			}
		})
	}
}

// TestQueueListingIsScoped: a CSR sees only their queues (listed even
// when empty); a supervisor sees every queue with work.
func TestQueueListingIsScoped(t *testing.T) {
	e := newEnv(t)
	e.seedCase("support", nil)
	e.seedCase("returns", nil)
	names := func(token string) []string {
		var qs struct {
			Queues []struct {
				Name string `json:"name"`
				Open int    `json:"open"`
			} `json:"queues"`
		}
		r := e.do("GET", "/api/v1/queues", token, nil)
		r.json(t, &qs)
		var out []string
		for _, q := range qs.Queues {
			out = append(out, fmt.Sprintf("%s:%d", q.Name, q.Open))
		}
		return out
	}
	for token, want := range map[string][]string{
		tokAlice: {"support:1"},
		tokOlga:  {"orders:0"},
		tokSam:   {"returns:1", "support:1"},
	} {
		if got := names(token); !reflect.DeepEqual(got, want) {
			t.Errorf("queues for %.5s = %v, want %v", token, got, want)
		}
	}
}

// TestTokenForms checks the Authorization header parsing.
func TestTokenForms(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + tokAlice, http.StatusOK},
		{"bearer " + tokAlice, http.StatusOK},
		{"Bearer  " + tokAlice + " ", http.StatusOK},
		{"Basic " + tokAlice, http.StatusUnauthorized},
		{tokAlice, http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{"Bearer " + tokAlice[:len(tokAlice)-1], http.StatusUnauthorized},
		{"Bearer " + tokAlice + "x", http.StatusUnauthorized},
	} {
		r := e.do("GET", "/api/v1/queues", "", nil, "Authorization", tc.header)
		if r.code != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.header, r.code, tc.want)
		}
	}
}
