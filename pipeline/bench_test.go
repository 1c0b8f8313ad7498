package pipeline

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/intake/mailparse"
	"github.com/frontdesk/frontdesk/internal/msgid"
	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/blob"
	"github.com/frontdesk/frontdesk/store/sqlite"
)

// Micro-benchmarks of the pipeline's hot steps on real material from
// ../shared/corpora (MANIFEST.md): classification (one message per op)
// and registration (one new case or order per op, SQL writes included).
// Next to ns/op they report the process's CPU time per op (user+system,
// from getrusage), which holds up on a machine shared with other work.

// benchDomain is our Message-ID domain in these benchmarks.
const benchDomain = "desk.example.test"

// BenchmarkClassify classifies one message per op with the rules of
// config/example.yaml: the labelled customer-support utterances (short
// texts, as chat and web forms bring them) and the normalised mail corpus
// (long bodies), from the support and orders mailboxes in turn. MB/s
// counts the subject and body bytes classified.
func BenchmarkClassify(b *testing.B) {
	corpora := testenv.Corpora(b)
	cfg, err := config.Parse(config.Example(), nil)
	if err != nil {
		b.Fatalf("example configuration: %v", err)
	}
	if len(cfg.Classify.Rules) == 0 {
		b.Fatal("the example configuration has no classify rules")
	}
	c := NewClassifier(cfg.Classify.Rules)
	sets := []struct {
		name string
		msgs []*message.Message
	}{
		{"utterances", utterances(b, filepath.Join(corpora, "intents", "bitext-train.csv"))},
		{"mail", normalisedCorpus(b, filepath.Join(corpora, "mail"))},
	}
	for _, set := range sets {
		b.Run(set.name, func(b *testing.B) {
			msgs := set.msgs
			ins := make([]*store.Inbound, len(msgs))
			var size int64
			for i, m := range msgs {
				source, intent := "support", message.IntentCase
				if i%2 == 1 {
					source, intent = "orders", message.IntentOrder
				}
				ins[i] = benchInbound(i, source, intent)
				size += int64(len(m.Subject) + len(m.Text))
			}
			matched := 0
			for i, m := range msgs {
				if cl := c.Classify(ins[i], m); cl.Rule != "default:"+ins[i].Source {
					matched++
				}
			}
			if matched == 0 {
				b.Fatal("no rule matched any message: the rules or the text they read are broken")
			}
			b.SetBytes(size / int64(len(msgs)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				k := i % len(msgs)
				c.Classify(ins[k], msgs[k])
			}
			reportCPU(b, cpu0)
		})
	}
}

// BenchmarkRegister runs the register step for new messages, one per op:
// the thread lookup (subject tag, Message-IDs), the new case or order with
// its thread row and audit event, and the row read back, against SQLite
// in a temporary directory. The messages are the normalised mail corpus,
// each given a Message-ID of its own so that every one opens a case
// ("case") or an order ("order"); rows are brought to "classified" before
// the timer starts.
func BenchmarkRegister(b *testing.B) {
	msgs := normalisedCorpus(b, filepath.Join(testenv.Corpora(b), "mail"))
	var fresh []*message.Message
	for _, m := range msgs {
		if _, automated := m.Automated(); !automated && m.From.Addr != "" {
			fresh = append(fresh, m)
		}
	}
	for _, intent := range []message.Intent{message.IntentCase, message.IntentOrder} {
		b.Run(string(intent), func(b *testing.B) {
			ctx := b.Context()
			h := benchHandlers(b)
			jobs := make([]*job, b.N)
			for i := range jobs {
				jobs[i] = classifiedJob(ctx, b, h, i, fresh[i%len(fresh)], intent)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for _, j := range jobs {
				if err := h.register(ctx, j); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0)
			b.StopTimer()
			for _, j := range jobs {
				in := j.in
				opened := in.CaseID != 0
				if intent == message.IntentOrder {
					opened = in.OrderID != 0
				}
				if in.Status != store.StatusRegistered || !opened {
					b.Fatalf("inbound %d after register: status %s, case %d, order %d; want a new %s",
						in.ID, in.Status, in.CaseID, in.OrderID, intent)
				}
			}
		})
	}
}

// benchHandlers returns Handlers over a new SQLite database with what the
// register step reads: the store, our Message-ID scheme, a logger.
func benchHandlers(b *testing.B) *Handlers {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "fd.db"), log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	return &Handlers{
		Store: db,
		Acks: &Acknowledger{
			IDs:    msgid.NewMinter([]byte("bench-secret-0123456789abcdef"), benchDomain),
			Domain: benchDomain,
		},
		SLA: config.SLA{Urgent: time.Hour, High: 4 * time.Hour, Normal: 24 * time.Hour, Low: 72 * time.Hour},
		Log: log,
		Now: func() time.Time { return now },
	}
}

// classifiedJob accepts m as the i-th message of the mailbox of intent,
// stores it normalised (under a Message-ID of its own) and classified,
// and returns the job the register step takes.
func classifiedJob(ctx context.Context, b *testing.B, h *Handlers, i int, m *message.Message, intent message.Intent) *job {
	b.Helper()
	db := h.Store.(*sqlite.DB)
	source := "support"
	if intent == message.IntentOrder {
		source = "orders"
	}
	in := benchInbound(i, source, intent)
	if _, err := db.AcceptInbound(ctx, in); err != nil {
		b.Fatal(err)
	}
	own := *m
	own.MessageID = fmt.Sprintf("bench.%d@customer.example", i)
	if err := db.SaveNormalised(ctx, in.ID, &own); err != nil {
		b.Fatal(err)
	}
	cl := store.Classification{Intent: intent, Category: "general", Priority: store.PriorityNormal,
		Queue: in.Queue, Rule: "default:" + in.Source}
	if err := db.SaveClassification(ctx, in.ID, cl); err != nil {
		b.Fatal(err)
	}
	in.Status = store.StatusClassified
	return &job{in: in, m: &own, cl: &cl}
}

// benchInbound returns the i-th row accepted from mailbox source.
func benchInbound(i int, source string, intent message.Intent) *store.Inbound {
	return &store.Inbound{Channel: message.ChannelIMAP, Source: source, SourceKey: fmt.Sprintf("imap:%s:1:%d", source, i),
		Blob: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 4096,
		Intent: intent, Queue: source, Status: store.StatusAccepted}
}

// normalisedCorpus parses every message of the mail corpus under dir
// (files that are not mail are skipped), its attachments stored in a
// temporary blob store.
func normalisedCorpus(b *testing.B, dir string) []*message.Message {
	b.Helper()
	blobs, err := blob.Open(filepath.Join(b.TempDir(), "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	p := mailparse.New(mailparse.Options{Blobs: blobs})
	var out []*message.Message
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m, err := p.Parse(b.Context(), message.ChannelIMAP, raw); err == nil {
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if len(out) == 0 {
		b.Fatalf("no message parsed under %s", dir)
	}
	return out
}

// utterances reads the labelled support utterances as messages: the
// utterance is the body, the subject a generic one, and every tenth comes
// from the key-account domain of the example rules.
func utterances(b *testing.B, path string) []*message.Message {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		b.Fatal(err)
	}
	col := -1
	for i, name := range head {
		if name == "utterance" {
			col = i
		}
	}
	if col < 0 {
		b.Fatalf("%s: no utterance column in %q", path, head)
	}
	var out []*message.Message
	for n := 0; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		from := fmt.Sprintf("customer%d@example.net", n)
		if n%10 == 0 {
			from = fmt.Sprintf("buyer%d@bigcustomer.example", n)
		}
		out = append(out, &message.Message{Channel: message.ChannelIMAP, From: message.Address{Addr: from},
			Subject: "Question about my account", Text: rec[col]})
	}
	if len(out) == 0 {
		b.Fatalf("%s: no utterances", path)
	}
	return out
}

// cpuTime is the CPU time this process has used (user+system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU µs per op since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
}
