package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	c, w := e.seedCase("support", &message.Message{
		From:    message.Address{Name: "Carla Customer", Addr: "customer@example.com"},
		To:      []message.Address{{Addr: "support@example.com"}},
		Subject: "Printer not working",
		Text:    "It prints nothing.",
		// Stored HTML is sanitised by the normaliser; the API sanitises
		// again, so even this never reaches a browser with its script.
		HTML: `<p onclick="steal()">It prints <b>nothing</b>.</p><script>alert(1)</script><a href="javascript:alert(2)">x</a>`,
		Attachments: []message.Attachment{
			{Filename: "photo.jpg", ContentType: "image/jpeg", Size: 2048, Blob: strings.Repeat("ab", 32)},
		},
	})

	// The queue shows one open item.
	var qs struct {
		Queues []struct {
			Name             string `json:"name"`
			Open             int    `json:"open"`
			Claimed          int    `json:"claimed"`
			OldestAgeSeconds int64  `json:"oldest_age_seconds"`
		} `json:"queues"`
	}
	r := e.do("GET", "/api/v1/queues", tokAlice, nil)
	if r.code != http.StatusOK {
		t.Fatalf("queues: %d %s", r.code, r.body)
	}
	r.json(t, &qs)
	if len(qs.Queues) != 1 || qs.Queues[0].Name != "support" || qs.Queues[0].Open != 1 || qs.Queues[0].Claimed != 0 {
		t.Fatalf("queues = %+v", qs.Queues)
	}

	// Claim: 200 with the item and its case.
	r = e.do("POST", "/api/v1/queues/support/claim", tokAlice, nil)
	if r.code != http.StatusOK {
		t.Fatalf("claim: %d %s", r.code, r.body)
	}
	var v workView
	r.json(t, &v)
	now := e.clock.Now()
	if v.Item.ID != w.ID || v.Item.State != "claimed" || v.Item.LeaseOwner != "alice" ||
		!v.Item.LeaseExpires.Equal(now.Add(5*time.Minute)) {
		t.Errorf("claimed item = %+v (now %s)", v.Item, now)
	}
	if v.Case == nil || v.Case.Number != c.Number || v.Case.Queue != "support" {
		t.Errorf("claim case summary = %+v", v.Case)
	}
	r = e.do("GET", "/api/v1/queues", tokAlice, nil)
	r.json(t, &qs)
	if qs.Queues[0].Open != 0 || qs.Queues[0].Claimed != 1 {
		t.Errorf("queues after claim = %+v", qs.Queues)
	}

	// Nothing else to claim: 204.
	if r := e.do("POST", "/api/v1/queues/support/claim", tokBob, nil); r.code != http.StatusNoContent || len(r.body) != 0 {
		t.Errorf("claim of empty queue: %d %q", r.code, r.body)
	}

	// Renew a minute later: the lease runs from then.
	e.clock.Advance(time.Minute)
	r = e.do("POST", fmt.Sprintf("/api/v1/work/%d/renew", w.ID), tokAlice, nil)
	if r.code != http.StatusOK {
		t.Fatalf("renew: %d %s", r.code, r.body)
	}
	r.json(t, &v)
	if want := e.clock.Now().Add(5 * time.Minute); !v.Item.LeaseExpires.Equal(want) {
		t.Errorf("renewed lease expires %s, want %s", v.Item.LeaseExpires, want)
	}

	// The case with its thread and trail.
	r = e.do("GET", "/api/v1/cases/"+c.Number, tokAlice, nil)
	if r.code != http.StatusOK {
		t.Fatalf("case: %d %s", r.code, r.body)
	}
	var cv struct {
		Case struct {
			Number, Status, Queue, Customer string
		} `json:"case"`
		Thread []struct {
			Direction   string          `json:"direction"`
			From        message.Address `json:"from"`
			Subject     string          `json:"subject"`
			Text        string          `json:"text"`
			HTML        string          `json:"html"`
			Attachments []struct {
				Filename    string `json:"filename"`
				ContentType string `json:"content_type"`
				Size        int64  `json:"size"`
				Blob        string `json:"blob"`
			} `json:"attachments"`
		} `json:"thread"`
		Events []struct {
			Actor, Kind string
		} `json:"events"`
	}
	r.json(t, &cv)
	if cv.Case.Number != c.Number || cv.Case.Status != "open" || cv.Case.Customer != "customer@example.com" {
		t.Errorf("case = %+v", cv.Case)
	}
	if len(cv.Thread) != 1 {
		t.Fatalf("thread = %+v", cv.Thread)
	}
	m := cv.Thread[0]
	if m.Direction != "in" || m.From.Addr != "customer@example.com" || m.From.Name != "Carla Customer" ||
		m.Subject != "Printer not working" || m.Text != "It prints nothing." {
		t.Errorf("thread message = %+v", m)
	}
	for _, bad := range []string{"<script", "onclick", "javascript:", "alert"} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("html carries %q: %s", bad, m.HTML)
		}
	}
	if !strings.Contains(m.HTML, "<b>nothing</b>") {
		t.Errorf("html lost its content: %s", m.HTML)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "photo.jpg" || m.Attachments[0].Size != 2048 || m.Attachments[0].Blob != "" {
		t.Errorf("attachments = %+v (the blob hash stays internal)", m.Attachments)
	}

	// Complete, then the queue is empty.
	r = e.do("POST", fmt.Sprintf("/api/v1/work/%d/complete", w.ID), tokAlice, nil)
	if r.code != http.StatusOK {
		t.Fatalf("complete: %d %s", r.code, r.body)
	}
	r.json(t, &v)
	if v.Item.State != "done" {
		t.Errorf("completed item state = %q", v.Item.State)
	}
	if r := e.do("POST", "/api/v1/queues/support/claim", tokAlice, nil); r.code != http.StatusNoContent {
		t.Errorf("claim after complete: %d %s", r.code, r.body)
	}
	if r := e.do("POST", fmt.Sprintf("/api/v1/work/%d/complete", w.ID), tokAlice, nil); r.code != http.StatusConflict {
		t.Errorf("second complete: %d %s", r.code, r.body)
	}

	// The audit trail names alice for each step.
	got := map[string]string{}
	for _, ev := range e.events(store.Ref{CaseID: c.ID}) {
		got[ev.Kind] = ev.Actor
	}
	for _, k := range []string{"work.claimed", "work.renewed", "work.completed"} {
		if got[k] != "alice" {
			t.Errorf("event %s by %q, want alice (events %v)", k, got[k], got)
		}
	}
}

func TestReleaseHandsBack(t *testing.T) {
	e := newEnv(t)
	c, w := e.seedCase("support", nil)
	if r := e.do("POST", "/api/v1/queues/support/claim", tokAlice, nil); r.code != http.StatusOK {
		t.Fatalf("claim: %d %s", r.code, r.body)
	}
	r := e.do("POST", fmt.Sprintf("/api/v1/work/%d/release", w.ID), tokAlice, nil)
	if r.code != http.StatusOK {
		t.Fatalf("release: %d %s", r.code, r.body)
	}
	var v workView
	r.json(t, &v)
	if v.Item.State != "open" || v.Item.LeaseOwner != "" {
		t.Errorf("released item = %+v", v.Item)
	}
	r = e.do("POST", "/api/v1/queues/support/claim", tokBob, nil)
	if r.code != http.StatusOK {
		t.Fatalf("claim after release: %d %s", r.code, r.body)
	}
	r.json(t, &v)
	if v.Item.ID != w.ID || v.Item.LeaseOwner != "bob" {
		t.Errorf("bob got %+v", v.Item)
	}
	var released bool
	for _, ev := range e.events(store.Ref{CaseID: c.ID}) {
		released = released || (ev.Kind == "work.released" && ev.Actor == "alice")
	}
	if !released {
		t.Error("no work.released event by alice")
	}
}

func TestOnlyTheLeaseHolder(t *testing.T) {
	e := newEnv(t)
	_, w := e.seedCase("support", nil)
	if r := e.do("POST", "/api/v1/queues/support/claim", tokAlice, nil); r.code != http.StatusOK {
		t.Fatalf("claim: %d %s", r.code, r.body)
	}
	for _, op := range []string{"renew", "release", "complete"} {
		r := e.do("POST", fmt.Sprintf("/api/v1/work/%d/%s", w.ID, op), tokBob, nil)
		if r.code != http.StatusConflict || !strings.Contains(r.errorMessage(t), "lease") {
			t.Errorf("bob %s of alice's item: %d %s", op, r.code, r.body)
		}
		// A supervisor does not hold it either.
		if r := e.do("POST", fmt.Sprintf("/api/v1/work/%d/%s", w.ID, op), tokSam, nil); r.code != http.StatusConflict {
			t.Errorf("sam %s of alice's item: %d %s", op, r.code, r.body)
		}
	}
	item, err := e.db.WorkItem(context.Background(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if item.State != store.WorkClaimed || item.LeaseOwner != "alice" {
		t.Errorf("item changed by refused calls: %+v", item)
	}
}

func TestLeaseExpiry(t *testing.T) {
	e := newEnv(t)
	c, w := e.seedCase("support", nil)
	if r := e.do("POST", "/api/v1/queues/support/claim", tokAlice, nil); r.code != http.StatusOK {
		t.Fatalf("claim: %d %s", r.code, r.body)
	}
	// Within the lease, bob gets nothing.
	e.clock.Advance(4 * time.Minute)
	if r := e.do("POST", "/api/v1/queues/support/claim", tokBob, nil); r.code != http.StatusNoContent {
		t.Fatalf("claim within alice's lease: %d %s", r.code, r.body)
	}
	// After it, the item is claimable again and alice's lease is gone.
	e.clock.Advance(time.Minute + time.Second)
	for _, op := range []string{"renew", "complete"} {
		if r := e.do("POST", fmt.Sprintf("/api/v1/work/%d/%s", w.ID, op), tokAlice, nil); r.code != http.StatusConflict {
			t.Errorf("alice %s after expiry: %d %s", op, r.code, r.body)
		}
	}
	r := e.do("POST", "/api/v1/queues/support/claim", tokBob, nil)
	if r.code != http.StatusOK {
		t.Fatalf("claim after expiry: %d %s", r.code, r.body)
	}
	var v workView
	r.json(t, &v)
	if v.Item.ID != w.ID || v.Item.LeaseOwner != "bob" {
		t.Errorf("bob got %+v", v.Item)
	}
	if r := e.do("POST", fmt.Sprintf("/api/v1/work/%d/complete", w.ID), tokBob, nil); r.code != http.StatusOK {
		t.Errorf("bob complete: %d %s", r.code, r.body)
	}
	var expired bool
	for _, ev := range e.events(store.Ref{CaseID: c.ID}) {
		expired = expired || (ev.Kind == "work.claimed" && ev.Actor == "bob" && strings.Contains(ev.Detail, "alice"))
	}
	if !expired {
		t.Error("bob's claim does not record that alice's lease expired")
	}
}

// TestClaimRace: many CSRs claim one item at once; exactly one gets it.
func TestClaimRace(t *testing.T) {
	e := newEnv(t)
	e.seedCase("support", nil)
	const n = 16
	codes := make([]int, n)
	owners := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		tok := tokAlice
		if i%2 == 1 {
			tok = tokBob
		}
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/queues/support/claim", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			codes[i] = resp.StatusCode
			if resp.StatusCode == http.StatusOK {
				owners[i] = tok
			}
		})
	}
	close(start)
	wg.Wait()
	var ok, empty int
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusNoContent:
			empty++
		}
	}
	if ok != 1 || empty != n-1 {
		t.Errorf("codes = %v: want one 200 and %d 204", codes, n-1)
	}
}

func TestOrderAndFailureViews(t *testing.T) {
	e := newEnv(t)
	o, _ := e.seedOrder("orders")
	r := e.do("POST", "/api/v1/queues/orders/claim", tokOlga, nil)
	if r.code != http.StatusOK {
		t.Fatalf("claim order: %d %s", r.code, r.body)
	}
	var v workView
	r.json(t, &v)
	if v.Order == nil || v.Order.Number != o.Number || v.Item.Priority != "high" {
		t.Errorf("order claim = %+v / %+v", v.Item, v.Order)
	}
	r = e.do("GET", "/api/v1/orders/"+o.Number, tokOlga, nil)
	var ov struct {
		Order struct {
			Number, Status string
		} `json:"order"`
		Thread []struct {
			Subject string `json:"subject"`
			Text    string `json:"text"`
		} `json:"thread"`
		Events []struct{ Kind string } `json:"events"`
	}
	r.json(t, &ov)
	if r.code != http.StatusOK || ov.Order.Number != o.Number || ov.Order.Status != "received" ||
		len(ov.Thread) != 1 || ov.Thread[0].Text != "10 widgets" || len(ov.Events) == 0 {
		t.Errorf("order view: %d %+v", r.code, ov)
	}

	// An intake failure: a work item with only its inbound message.
	ctx := context.Background()
	in := e.seedInbound("support", message.IntentCase, nil)
	if err := e.db.FailInbound(ctx, in.ID, "max_parts exceeded"); err != nil {
		t.Fatal(err)
	}
	fw := &store.WorkItem{Queue: "support", InboundID: in.ID, Reason: "max_parts exceeded"}
	if _, err := e.db.EnsureWorkItem(ctx, fw); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/work/%d", fw.ID), tokAlice, nil)
	r.json(t, &v)
	if r.code != http.StatusOK || v.Inbound == nil || v.Inbound.Status != "failed" ||
		v.Inbound.FailReason != "max_parts exceeded" || v.Item.Reason != "max_parts exceeded" {
		t.Errorf("failure view: %d %s", r.code, r.body)
	}
}

func TestCaseStatus(t *testing.T) {
	e := newEnv(t)
	c, _ := e.seedCase("support", nil)
	path := "/api/v1/cases/" + c.Number + "/status"
	r := e.do("POST", path, tokAlice, []byte(`{"status":"resolved"}`))
	if r.code != http.StatusOK {
		t.Fatalf("set status: %d %s", r.code, r.body)
	}
	got, err := e.db.Case(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.CaseResolved {
		t.Errorf("status = %s", got.Status)
	}
	var by string
	for _, ev := range e.events(store.Ref{CaseID: c.ID}) {
		if ev.Kind == "case.status.set" {
			by = ev.Actor + " " + ev.Detail
		}
	}
	if by != "alice open -> resolved" {
		t.Errorf("case.status.set event = %q", by)
	}
	for _, tc := range []struct {
		body        string
		contentType string
		want        int
	}{
		{`{"status":"gone"}`, "application/json", http.StatusBadRequest},
		{`{"status":"open","extra":1}`, "application/json", http.StatusBadRequest},
		{`{"status":"open"}{}`, "application/json", http.StatusBadRequest},
		{`{"status":`, "application/json", http.StatusBadRequest},
		{`status=open`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{`{"status":"` + strings.Repeat("x", 70<<10) + `"}`, "application/json", http.StatusRequestEntityTooLarge},
	} {
		r := e.do("POST", path, tokAlice, []byte(tc.body), "Content-Type", tc.contentType)
		if r.code != tc.want {
			t.Errorf("body %.40q: %d %s, want %d", tc.body, r.code, r.body, tc.want)
		}
	}
}
