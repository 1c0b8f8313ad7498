// Package storetest is the conformance suite of the store.Store contract:
// every backend (store/sqlite, later store/postgres) runs Run against a
// fresh database and must pass it unchanged. It checks idempotency of every
// keyed write (called twice and from several goroutines at once), claim
// ordering and lease expiry with explicit times, threading through inbound
// and outbound Message-IDs, the inbound status machine, the loop caps and
// the audit events the store records itself, and the combined writes
// (SaveAnalysis, FinishAck, RouteInbound) against the calls they stand for.
package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// Run runs the whole suite. open must return a new, empty store for each
// call and arrange (t.Cleanup) for it to be closed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AcceptInbound", testAcceptInbound},
		{"AcceptInboundConcurrent", testAcceptInboundConcurrent},
		{"StatusTransitions", testStatusTransitions},
		{"FailInbound", testFailInbound},
		{"Unfinished", testUnfinished},
		{"RegisterCase", testRegisterCase},
		{"RegisterCaseConcurrent", testRegisterCaseConcurrent},
		{"RegisterOrder", testRegisterOrder},
		{"Reserve", testReserve},
		{"AttachInbound", testAttachInbound},
		{"AttachInboundConcurrent", testAttachInboundConcurrent},
		{"FindThread", testFindThread},
		{"Outbound", testOutbound},
		{"OutboundConcurrent", testOutboundConcurrent},
		{"CountSent", testCountSent},
		{"AddressFailing", testAddressFailing},
		{"CaseStatus", testCaseStatus},
		{"EnsureWorkItem", testEnsureWorkItem},
		{"EnsureWorkItemConcurrent", testEnsureWorkItemConcurrent},
		{"ClaimOrder", testClaimOrder},
		{"LeaseExpiry", testLeaseExpiry},
		{"ClaimConcurrent", testClaimConcurrent},
		{"Queues", testQueues},
		{"Checkpoints", testCheckpoints},
		{"Events", testEvents},
		{"Ping", testPing},
		{"SaveAnalysis", testSaveAnalysis},
		{"SaveAnalysisConcurrent", testSaveAnalysisConcurrent},
		{"FinishAck", testFinishAck},
		{"FinishAckConcurrent", testFinishAckConcurrent},
		{"RouteInbound", testRouteInbound},
		{"RouteInboundConcurrent", testRouteInboundConcurrent},
		{"RecordsAsStored", testRecordsAsStored},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// t0 is the fixed "now" of the tests that pass times explicitly.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func blobOf(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// accept stores a new inbound row for key and fails the test on error.
func accept(t *testing.T, s store.Store, key string) *store.Inbound {
	t.Helper()
	in := &store.Inbound{
		Channel: message.ChannelIMAP, Source: "support", SourceKey: key, Blob: blobOf(key),
		Size: int64(len(key)), Intent: message.IntentCase, Queue: "support",
	}
	created, err := s.AcceptInbound(t.Context(), in)
	if err != nil {
		t.Fatalf("AcceptInbound(%s): %v", key, err)
	}
	if !created || in.ID == 0 {
		t.Fatalf("AcceptInbound(%s) = created %v, id %d; want a new row", key, created, in.ID)
	}
	return in
}

// mail is a normalised message from addr with Message-ID mid.
func mail(mid, from, subject string, inReplyTo ...string) *message.Message {
	return &message.Message{
		Channel: message.ChannelIMAP, MessageID: mid, InReplyTo: inReplyTo,
		From: message.Address{Name: "Customer", Addr: from}, Subject: subject,
		To:   []message.Address{{Addr: "support@desk.example"}},
		Date: t0.Add(-time.Minute), Text: "Hello,\nmy printer is on fire.\n",
		Attachments: []message.Attachment{{Filename: "photo.jpg", ContentType: "image/jpeg", Size: 3, Blob: blobOf("photo")}},
		Automation:  []message.Signal{{Rule: "subject-phrase", Value: "Auto:", Weak: true}},
	}
}

// openCase accepts key, saves its normalised message with Message-ID mid
// and registers a case for it.
func openCase(t *testing.T, s store.Store, key, mid, from string) (*store.Inbound, *store.Case) {
	t.Helper()
	ctx := t.Context()
	in := accept(t, s, key)
	if err := s.SaveNormalised(ctx, in.ID, mail(mid, from, "Printer on fire")); err != nil {
		t.Fatal(err)
	}
	c, created, err := s.RegisterCase(ctx, store.NewCase{
		InboundID: in.ID, Kind: "incident", Category: "hardware", Priority: store.PriorityHigh,
		Queue: "support", Channel: message.ChannelIMAP, Customer: from, Subject: "Printer on fire",
	})
	if err != nil || !created {
		t.Fatalf("RegisterCase: %v, created %v", err, created)
	}
	return in, c
}

// parallel runs fn(i) for i in [0, n) at once and returns the errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func noErrors(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v; want %v", what, err, target)
	}
}

// countEvents counts ref's events of kind.
func countEvents(t *testing.T, s store.Store, ref store.Ref, kind string) int {
	t.Helper()
	es, err := s.Events(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func reload(t *testing.T, s store.Store, id int64) *store.Inbound {
	t.Helper()
	in, err := s.Inbound(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func sameTime(a, b time.Time) bool { return a.Equal(b) }

func keyN(prefix string, i int) string { return fmt.Sprintf("%s:%d", prefix, i) }
