package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/frontdesk/frontdesk/intake/webhook"
)

// TestInflightBounds: beyond MaxInflight submissions (or their declared
// bytes) being served at once, the next is answered 503 busy with
// Retry-After at once; token fetches pass; a slot freed is taken again.
func TestInflightBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		rl   webhook.RateLimit
		body string
	}{
		{"count", webhook.RateLimit{MaxInflight: 2}, "{}"},
		{"bytes", webhook.RateLimit{MaxInflightBytes: 2500}, strings.Repeat("x", 1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := webhook.NewRateLimiter(tc.rl)
			if err != nil {
				t.Fatal(err)
			}
			entered, hold := make(chan struct{}), make(chan struct{})
			srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && r.URL.Query().Get("hold") != "" {
					entered <- struct{}{}
					<-hold
				}
				w.WriteHeader(http.StatusAccepted)
			})))
			defer srv.Close()
			post := func(query string) *http.Response {
				resp, err := http.Post(srv.URL+"/intake/forms/contact"+query, "application/json", strings.NewReader(tc.body))
				if err != nil {
					t.Error(err)
					return nil
				}
				resp.Body.Close()
				return resp
			}
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					if resp := post("?hold=1"); resp != nil && resp.StatusCode != http.StatusAccepted {
						t.Errorf("held submission: %d", resp.StatusCode)
					}
				})
				<-entered
			}
			resp := post("")
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
				t.Fatalf("third submission at once: %d, Retry-After %q; want 503, 1", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if r, err := http.Get(srv.URL + "/intake/forms/contact/token"); err != nil || r.StatusCode != http.StatusAccepted {
				t.Fatalf("a token fetch is not a submission: %v %v", r, err)
			}
			hold <- struct{}{}
			if resp := post(""); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("after a slot was freed: %d", resp.StatusCode)
			}
			close(hold)
			wg.Wait()
		})
	}
	if _, err := webhook.NewRateLimiter(webhook.RateLimit{MaxInflight: -1}); err == nil {
		t.Fatal("negative in-flight bound accepted")
	}
}
