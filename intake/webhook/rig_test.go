package webhook_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/intake/mailparse"
	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/pipeline"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/blob"
	"github.com/frontdesk/frontdesk/store/sqlite"
)

// acceptRig is the real accept step the intake handlers hand submissions
// to: SQLite ledger, blob store and asynq on a real Redis, all in the
// test's temporary directory.
type acceptRig struct {
	acc    *intake.Acceptor
	db     *sqlite.DB
	blobs  *blob.Store
	redis  *testenv.Redis
	parser *mailparse.Parser
	logs   *syncBuffer // everything logged, as text
	log    *slog.Logger
}

func newAcceptRig(t *testing.T) *acceptRig {
	t.Helper()
	dir := t.TempDir()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "fd.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	rd := testenv.StartRedis(t, false)
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rc.Close() })
	return &acceptRig{
		acc:    &intake.Acceptor{Blobs: blobs, Ledger: db, Enqueuer: pipeline.NewEnqueuer(rc, 3), Log: log},
		db:     db,
		blobs:  blobs,
		redis:  rd,
		parser: mailparse.New(mailparse.Options{Blobs: blobs}),
		logs:   logs,
		log:    log,
	}
}

// rows returns every inbound row, oldest first.
func (r *acceptRig) rows(t *testing.T) []store.Inbound {
	t.Helper()
	rows, err := r.db.Unfinished(t.Context(), time.Now().Add(24*time.Hour), store.Cursor{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// stored returns the raw message of inbound row id and its normalised form.
func (r *acceptRig) stored(t *testing.T, id int64) (*store.Inbound, []byte, *message.Message) {
	t.Helper()
	ctx := t.Context()
	in, err := r.db.Inbound(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := r.blobs.Get(ctx, in.Blob)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.parser.Parse(ctx, in.Channel, raw)
	if err != nil {
		t.Fatalf("normalise inbound %d: %v\n%s", id, err, raw)
	}
	return in, raw, m
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log to
// while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
