package mailer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOutboxWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	b, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := ack()
	if err := b.Send(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	path := b.Path(o.MessageID)
	if filepath.Base(path) != o.MessageID+".eml" {
		t.Errorf("file name %q", filepath.Base(path))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkWire(t, raw, o)
}

func TestOutboxIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	b, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := ack()
	if err := b.Send(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(b.Path(o.MessageID))
	again := o
	again.Text = "a different body for the same Message-ID\n"
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := b.Send(context.Background(), again); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("outbox holds %v; want one file", names)
	}
	if now, _ := os.ReadFile(b.Path(o.MessageID)); string(now) != string(first) {
		t.Error("the second send replaced the first file")
	}
}

func TestOutboxRaceOnNewID(t *testing.T) {
	dir := t.TempDir()
	b, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			o := ack()
			o.Text = strings.Repeat("x", i+1) + "\n"
			if err := b.Send(context.Background(), o); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d files; want 1", len(entries))
	}
}

func TestOutboxFileNames(t *testing.T) {
	b, err := NewOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, id := range []string{"../../etc/passwd@x", ".hidden@x", "a/b@x", "a_b@x", "a?b@x", "a*b@x", strings.Repeat("a", 240) + "@x", strings.Repeat("a", 240) + "@y"} {
		p := b.Path(id)
		if filepath.Dir(p) != b.dir || strings.HasPrefix(filepath.Base(p), ".") {
			t.Errorf("Path(%q) = %q escapes or hides", id, p)
		}
		if other, dup := seen[p]; dup {
			t.Errorf("%q and %q share %q", id, other, p)
		}
		seen[p] = id
		o := ack()
		o.MessageID = id
		if ValidMsgID(id) {
			if err := b.Send(t.Context(), o); err != nil {
				t.Errorf("Send(%q): %v", id, err)
			}
		}
	}
}

func TestOutboxErrors(t *testing.T) {
	if _, err := NewOutbox(""); err == nil {
		t.Error("NewOutbox(\"\") succeeded")
	}
	dir := t.TempDir()
	b, err := NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := ack()
	o.To.Addr = "broken"
	if err := b.Send(t.Context(), o); !IsPermanent(err) {
		t.Errorf("bad message: %v; want permanent", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Send(ctx, ack()); err == nil || IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v; want temporary", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(t.Context(), ack()); err == nil || IsPermanent(err) {
		t.Errorf("missing directory: %v; want temporary", err)
	}
}
