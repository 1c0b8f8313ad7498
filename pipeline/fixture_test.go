package pipeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/intake/mailparse"
	"github.com/frontdesk/frontdesk/internal/msgid"
	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/mailer"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/pipeline"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/blob"
	"github.com/frontdesk/frontdesk/store/sqlite"
	"github.com/frontdesk/frontdesk/templates"
)

const domain = "desk.example.test"

// queue stands in for asynq in these tests: it records enqueued steps,
// keeps one per task id like asynq's TaskID, and the test runs them through
// the real handlers. asynq itself is exercised by the e2e tests.
type queue struct {
	mu      sync.Mutex
	pending []string
	seen    map[string]bool
}

func (q *queue) Enqueue(_ context.Context, typ string, id int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := pipeline.TaskID(typ, id)
	if q.seen[key] {
		return nil
	}
	q.seen[key] = true
	q.pending = append(q.pending, key)
	return nil
}

func (q *queue) EnqueueInbound(ctx context.Context, id int64) error {
	return q.Enqueue(ctx, pipeline.TypeProcess, id)
}

// keys lists the queued task ids.
func (q *queue) keys() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.pending...)
}

// take removes the queued task key, as a worker taking it would.
func (q *queue) take(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, k := range q.pending {
		if k == key {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			delete(q.seen, k)
			return true
		}
	}
	return false
}

func (q *queue) pop() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return "", false
	}
	k := q.pending[0]
	q.pending = q.pending[1:]
	delete(q.seen, k)
	return k, true
}

type fixture struct {
	t     *testing.T
	db    *sqlite.DB
	dbDir string
	blobs *blob.Store
	q     *queue
	h     *pipeline.Handlers
	mux   *asynq.ServeMux
	smtp  *testenv.SMTPServer
	ids   *msgid.Minter
	acc   *intake.Acceptor
	now   time.Time
	n     int
}

func newFixture(t *testing.T, tune func(*pipeline.Acknowledger)) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "fd.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	peer := testenv.StartSMTP(t)
	sender, err := mailer.NewSMTP(mailer.SMTPConfig{Host: peer.Host, Port: peer.Port, TLS: mailer.TLSNone, Timeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	ids := msgid.NewMinter([]byte("test-secret-0123456789abcdef0123456789"), domain)
	f := &fixture{t: t, db: db, dbDir: dir, blobs: blobs, q: &queue{seen: map[string]bool{}}, smtp: peer, ids: ids,
		now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	own := []string{"support@" + domain}
	acks := &pipeline.Acknowledger{
		Enabled: true, Sender: sender, Templates: tmpl, IDs: ids, Domain: domain,
		From: "Example Support <support@" + domain + ">", Company: "Example",
		PerRecipient: 30, PerCase: 10, Window: 10 * time.Minute, Own: own,
	}
	if tune != nil {
		tune(acks)
	}
	f.h = &pipeline.Handlers{
		Store: db, Blobs: blobs, Tasks: f.q,
		Normaliser: mailparse.New(mailparse.Options{
			Limits: message.Limits{MaxParts: 50}, Blobs: blobs, OwnAddresses: own, LoopID: ids.LoopID(),
			IsOwnMessageID: func(id string) bool { _, _, ok := ids.Verify(id); return ok },
		}),
		Classifier: pipeline.NewClassifier([]config.Rule{
			{Name: "urgent", Keywords: []string{"outage", "urgent"}, Priority: "high"},
			{Name: "orders-box", Mailbox: "orders", Intent: "order"},
		}),
		Acks: acks,
		SLA:  config.SLA{Urgent: time.Hour, High: 4 * time.Hour, Normal: 24 * time.Hour, Low: 72 * time.Hour},
		Log:  log,
		Now:  func() time.Time { return f.now },
	}
	f.mux = f.h.Mux()
	f.acc = &intake.Acceptor{Blobs: blobs, Ledger: db, Enqueuer: f.q, Log: log}
	return f
}

// deliver accepts raw as a message of the support (or given) mailbox.
func (f *fixture) deliver(source string, raw []byte) int64 {
	f.t.Helper()
	f.n++
	intent := message.IntentCase
	if source == "orders" {
		intent = message.IntentOrder
	}
	res, err := f.acc.Accept(context.Background(), intake.Submission{
		Channel: message.ChannelIMAP, Source: source, SourceKey: fmt.Sprintf("imap:%s:1:%d", source, f.n),
		Intent: intent, Queue: source, Raw: raw,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.InboundID
}

// run processes queued steps until none is left; a step that fails is
// reported to the test unless allowErr.
func (f *fixture) run() []error {
	f.t.Helper()
	var errs []error
	for {
		key, ok := f.q.pop()
		if !ok {
			return errs
		}
		var typ string
		var id int64
		for i := len(key) - 1; i >= 0; i-- {
			if key[i] == ':' {
				typ = key[:i]
				fmt.Sscan(key[i+1:], &id)
				break
			}
		}
		if err := f.mux.ProcessTask(context.Background(), pipeline.NewTask(typ, id)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
}

func (f *fixture) mustRun() {
	f.t.Helper()
	if errs := f.run(); len(errs) > 0 {
		f.t.Fatalf("pipeline steps failed: %v", errs)
	}
}

func (f *fixture) inbound(id int64) *store.Inbound {
	f.t.Helper()
	in, err := f.db.Inbound(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return in
}

// ackRecord returns the acknowledgement's send record of inbound id (whose
// Message-ID is random), read from the database file directly.
func (f *fixture) ackRecord(id int64) *store.Outbound {
	f.t.Helper()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(f.dbDir, "fd.db")+"?mode=ro")
	if err != nil {
		f.t.Fatal(err)
	}
	defer raw.Close()
	var msgID string
	if err := raw.QueryRow(`SELECT message_id FROM outbound WHERE inbound_id = ? AND kind = 'ack'`, id).Scan(&msgID); err != nil {
		f.t.Fatalf("no send record for inbound %d: %v", id, err)
	}
	o, err := f.db.OutboundByMessageID(context.Background(), msgID)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

func mail(from, subject, msgID, extra, body string) []byte {
	return []byte("From: " + from + "\r\nTo: support@" + domain + "\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + msgID + ">\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\n" + extra +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
}

// partsBomb is a message of n MIME parts: over the fixture's MaxParts of
// 50 when n is larger.
func partsBomb(n int) []byte {
	var b strings.Builder
	b.WriteString("From: x@customer.example\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range n {
		b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n")
	}
	b.WriteString("--b--\r\n")
	return []byte(b.String())
}
