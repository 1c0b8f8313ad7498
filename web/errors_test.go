package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/web"
)

func TestErrorsAreJSON(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/nope", "", http.StatusNotFound},
		{"GET", "/api/v1/nope", tokAlice, http.StatusNotFound},
		{"DELETE", "/api/v1/queues", tokAlice, http.StatusMethodNotAllowed},
		{"POST", "/healthz", "", http.StatusMethodNotAllowed},
		{"GET", "/api/v1/work/abc", tokAlice, http.StatusNotFound},
		{"GET", "/api/v1/work/-1", tokAlice, http.StatusNotFound},
		{"GET", "/api/v1/cases/nonsense", tokAlice, http.StatusNotFound},
		{"GET", "/api/v1/queues", "", http.StatusUnauthorized},
	} {
		r := e.do(tc.method, tc.path, tc.token, nil)
		if r.code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, r.code, tc.want)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		if msg := r.errorMessage(t); msg == "" {
			t.Errorf("%s %s: no error message in %s", tc.method, tc.path, r.body)
		}
		if r.code == http.StatusMethodNotAllowed && r.header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: headers %v", tc.method, tc.path, r.header)
		}
	}
}

func TestReadiness(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/readyz", "", nil); r.code != http.StatusOK {
		t.Errorf("ready: %d %s", r.code, r.body)
	}
	down := errors.New("redis: connection refused")
	e.ready.Store(&down)
	r := e.do("GET", "/readyz", "", nil)
	var body struct{ Status, Error string }
	r.json(t, &body)
	if r.code != http.StatusServiceUnavailable || body.Status != "degraded" || body.Error != down.Error() {
		t.Errorf("degraded: %d %+v", r.code, body)
	}
	// Liveness does not depend on readiness.
	if r := e.do("GET", "/healthz", "", nil); r.code != http.StatusOK {
		t.Errorf("healthz while degraded: %d", r.code)
	}
}

// TestRequestLog: one line per request with method, path, status and the
// actor; the token never appears.
func TestRequestLog(t *testing.T) {
	e := newEnv(t)
	_, w := e.seedCase("support", nil)
	e.do("POST", "/api/v1/queues/support/claim", tokAlice, nil)
	e.do("GET", fmt.Sprintf("/api/v1/work/%d", w.ID), tokOlga, nil)
	e.do("GET", "/api/v1/queues", tokWrong, nil)
	e.srv.Close() // waits for the handlers, and so for their log lines
	logs := e.logs.String()
	for _, tok := range []string{tokAlice, tokOlga, tokWrong, "Bearer"} {
		if strings.Contains(logs, tok) {
			t.Errorf("log contains %q", tok)
		}
	}
	type line struct {
		Msg, Method, Path, Actor string
		Status                   int
		Duration                 int64
	}
	var got []line
	for l := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if x.Msg == "http request" {
			got = append(got, x)
		}
	}
	want := []line{
		{Method: "POST", Path: "/api/v1/queues/support/claim", Actor: "alice", Status: 200},
		{Method: "GET", Path: fmt.Sprintf("/api/v1/work/%d", w.ID), Actor: "olga", Status: 404},
		{Method: "GET", Path: "/api/v1/queues", Actor: "", Status: 401},
	}
	if len(got) != len(want) {
		t.Fatalf("request lines = %+v", got)
	}
	for i := range want {
		g := got[i]
		if g.Method != want[i].Method || g.Path != want[i].Path || g.Actor != want[i].Actor || g.Status != want[i].Status {
			t.Errorf("line %d = %+v, want %+v", i, g, want[i])
		}
	}
}

// faultStore puts faults in front of the real store.
type faultStore struct {
	web.Store
	queuesErr error
	panicCase bool
}

func (f *faultStore) Queues(ctx context.Context, now time.Time) ([]store.QueueStats, error) {
	if f.queuesErr != nil {
		return nil, f.queuesErr
	}
	return f.Store.Queues(ctx, now)
}

func (f *faultStore) CaseByNumber(ctx context.Context, number string) (*store.Case, error) {
	if f.panicCase {
		panic("boom")
	}
	return f.Store.CaseByNumber(ctx, number)
}

// tempErr is a store error that says it is temporary, as sqlite.Error does
// for SQLITE_BUSY or a full disk.
type tempErr struct{}

func (tempErr) Error() string   { return "database is locked: /secret/path" }
func (tempErr) Temporary() bool { return true }

func TestStoreFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault faultStore
		path  string
		want  int
	}{
		{"temporary", faultStore{queuesErr: tempErr{}}, "/api/v1/queues", http.StatusServiceUnavailable},
		{"permanent", faultStore{queuesErr: errors.New("disk image is malformed: /secret/path")}, "/api/v1/queues", http.StatusInternalServerError},
		{"panic", faultStore{panicCase: true}, "/api/v1/cases/C-000001", http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(s web.Store) web.Store { f := tc.fault; f.Store = s; return &f })
			r := e.do("GET", tc.path, tokSam, nil)
			if r.code != tc.want {
				t.Fatalf("%d %s, want %d", r.code, r.body, tc.want)
			}
			if strings.Contains(string(r.body), "/secret/path") || strings.Contains(string(r.body), "boom") {
				t.Errorf("internal detail in the answer: %s", r.body)
			}
			if tc.want == http.StatusServiceUnavailable && r.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			// The server keeps serving.
			if r := e.do("GET", "/healthz", "", nil); r.code != http.StatusOK {
				t.Errorf("healthz after fault: %d", r.code)
			}
		})
	}
}
