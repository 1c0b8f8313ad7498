package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestWebFormsDuringRedisOutage is RELIABILITY F3 for the HTTP intake:
// while Redis is down every submission is answered 503 with Retry-After
// (never accepted without its task), the daemon keeps serving, and once
// Redis is back the senders' retries are answered 202 — afterwards every
// submission is exactly one case and one acknowledgement.
func TestWebFormsDuringRedisOutage(t *testing.T) {
	d := newDesk(t, true, "forms:\n  - {name: contact, secret: "+formSecret+", queue: web}\n")
	d.start()
	body := func(i int) string {
		return fmt.Sprintf(`{"email":"outage-%d@example.net","subject":"Question %d","message":"Hello %d"}`, i, i, i)
	}
	const before, during = 5, 5
	for i := range before {
		if code, out := d.postForm("contact", fmt.Sprintf("msg_out_%d", i), "application/json", body(i)); code != http.StatusAccepted {
			t.Fatalf("before the outage: %d %v", code, out)
		}
	}
	if err := d.redis.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := before; i < before+during; i++ {
		code, out := d.postForm("contact", fmt.Sprintf("msg_out_%d", i), "application/json", body(i))
		if code != http.StatusServiceUnavailable || out["reason"] != "unavailable" {
			t.Fatalf("while Redis is down: %d %v; want 503 unavailable", code, out)
		}
	}
	if err := d.redis.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The senders retry (same webhook ids) until they get a 202.
	deadline := time.Now().Add(time.Minute)
	for i := before; i < before+during; i++ {
		for {
			code, out := d.postForm("contact", fmt.Sprintf("msg_out_%d", i), "application/json", body(i))
			if code == http.StatusAccepted {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("retry %d after Redis came back: %d %v", i, code, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	n := before + during
	db := d.ledger()
	d.waitSettled(db, n, 2*time.Minute)
	d.smtp.WaitFor(n, time.Minute)
	time.Sleep(time.Second) // a second acknowledgement would have come by now
	seen := map[string]int{}
	for _, m := range d.smtp.Messages() {
		seen[m.To[0]]++
	}
	for i := range n {
		if c := seen[fmt.Sprintf("outage-%d@example.net", i)]; c != 1 {
			t.Errorf("submission %d: %d acknowledgements, want 1", i, c)
		}
	}
	if len(seen) != n {
		t.Errorf("acknowledgements to %d addresses, want %d", len(seen), n)
	}
}
