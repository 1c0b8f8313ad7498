package storetest

import (
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

func testCheckpoints(t *testing.T, s store.Store) {
	ctx := t.Context()
	cp, err := s.Checkpoint(ctx, "imap:support@desk.example/INBOX")
	if err != nil || cp.UIDValidity != 0 || cp.LastUID != 0 {
		t.Fatalf("Checkpoint before saving = %+v, %v; want zero values", cp, err)
	}
	want := store.Checkpoint{Source: "imap:support@desk.example/INBOX", UIDValidity: 4294967295, LastUID: 4294967000}
	for range 2 {
		if err := s.SaveCheckpoint(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
	if cp, err = s.Checkpoint(ctx, want.Source); err != nil || cp != want {
		t.Fatalf("Checkpoint = %+v, %v; want %+v", cp, err, want)
	}
	// UIDVALIDITY changed: the poller starts over.
	reset := store.Checkpoint{Source: want.Source, UIDValidity: 17, LastUID: 0}
	if err := s.SaveCheckpoint(ctx, reset); err != nil {
		t.Fatal(err)
	}
	if cp, err = s.Checkpoint(ctx, want.Source); err != nil || cp != reset {
		t.Fatalf("Checkpoint after reset = %+v, %v", cp, err)
	}
	if cp, err = s.Checkpoint(ctx, "imap:other/INBOX"); err != nil || cp.LastUID != 0 {
		t.Fatalf("other source = %+v, %v", cp, err)
	}
}

func testEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	in, c := openCase(t, s, "ev:1", "ev1@example.net", "ann@example.net")
	ref := store.Ref{CaseID: c.ID}
	_, other := openCase(t, s, "ev:2", "ev2@example.net", "bob@example.net")
	mine := []store.Event{
		{At: t0.Add(time.Second), Actor: "token:alice", Kind: "case.comment", Ref: ref, Detail: "called the customer"},
		{At: t0.Add(2 * time.Second), Actor: "token:bob", Kind: "case.escalated", Ref: ref, InboundID: in.ID, Detail: "level 2"},
	}
	for _, e := range mine {
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddEvent(ctx, store.Event{At: t0, Actor: "x", Kind: "case.comment", Ref: store.Ref{CaseID: other.ID}}); err != nil {
		t.Fatal(err)
	}
	es, err := s.Events(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var added []store.Event
	for _, e := range es {
		if e.Ref != ref {
			t.Fatalf("Events(%+v) returned an event of %+v", ref, e.Ref)
		}
		if e.Kind == "case.created" {
			if e.InboundID != in.ID || e.At.IsZero() || e.Actor == "" {
				t.Fatalf("case.created event = %+v", e)
			}
			continue
		}
		added = append(added, e)
	}
	if len(added) != 2 {
		t.Fatalf("Events = %+v; want the two added ones besides case.created", es)
	}
	for i, e := range added {
		w := mine[i]
		if e.ID == 0 || !e.At.Equal(w.At) || e.Actor != w.Actor || e.Kind != w.Kind || e.InboundID != w.InboundID || e.Detail != w.Detail {
			t.Fatalf("event %d = %+v; want %+v", i, e, w)
		}
	}
	if err := s.AddEvent(ctx, store.Event{Kind: "note", Ref: ref}); err != nil {
		t.Fatalf("AddEvent with defaults: %v", err)
	}
	for _, e := range mustEvents(t, s, ref) {
		if e.Kind == "note" && (e.At.IsZero() || e.Actor == "") {
			t.Fatalf("defaulted event = %+v; want At and Actor set", e)
		}
	}
	if countEvents(t, s, ref, "note") != 1 {
		t.Fatal("the defaulted event is missing")
	}
}

func testPing(t *testing.T, s store.Store) {
	for range 3 {
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}
