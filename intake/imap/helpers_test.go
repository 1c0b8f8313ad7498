package imap

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/internal/testenv"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// testServer is what the suite needs from a server: testenv.IMAPMem and
// testenv.Dovecot both have it.
type testServer interface {
	Append(t testing.TB, folder string, raw []byte, flags ...imap.Flag) imap.UID
	Count(t testing.TB, folder string) int
	Messages(t testing.TB, folder string) []testenv.StoredMessage
	CreateMailbox(t testing.TB, folder string)
	DeleteMailbox(t testing.TB, folder string)
	ResetUIDValidity(t testing.TB, folder string) (before, after uint32)
	UIDValidity(t testing.TB, folder string) uint32
	SetFlags(t testing.TB, folder string, uid imap.UID, add bool, flags ...imap.Flag)
	Restart(t testing.TB)
	DialIMAP() (*imapclient.Client, error)
}

// server is a started server and the account the poller uses.
type server struct {
	testServer
	name    string
	account testenv.IMAPAccount
}

// servers are the real IMAP servers every poller test runs against.
func servers() []struct {
	name  string
	start func(t *testing.T) server
} {
	return []struct {
		name  string
		start func(t *testing.T) server
	}{
		{"mem", func(t *testing.T) server {
			m := testenv.StartIMAPMem(t)
			return server{m, "mem", m.IMAPAccount}
		}},
		{"dovecot", func(t *testing.T) server {
			d := testenv.StartDovecot(t)
			return server{d, "dovecot", d.IMAPAccount}
		}},
	}
}

// forEachServer runs f as a subtest against each server.
func forEachServer(t *testing.T, f func(t *testing.T, srv server)) {
	for _, s := range servers() {
		t.Run(s.name, func(t *testing.T) { f(t, s.start(t)) })
	}
}

// testConfig is a poller config for srv with test-sized delays.
func testConfig(acct testenv.IMAPAccount) Config {
	return Config{
		Name:       "support",
		Host:       acct.Host,
		Port:       acct.Port,
		TLS:        TLSNone,
		Username:   acct.Username,
		Password:   acct.Password,
		Intent:     message.IntentCase,
		Queue:      "general",
		BatchSize:  3,
		BackoffMin: 5 * time.Millisecond,
		BackoffMax: 50 * time.Millisecond,
		// Waits long enough that only IDLE can explain a quick pick-up;
		// tests that want polling set DisableIdle and PollInterval.
		PollInterval: time.Hour,
		IdleCheck:    time.Hour,
		IdleRestart:  20 * time.Minute,
	}
}

// running is a poller started by start.
type running struct {
	*Poller
	cancel context.CancelFunc
	done   chan error
}

// start runs a poller until stop or the end of the test.
func start(t *testing.T, cfg Config, acc Accepter, cp Checkpoints) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{Poller: New(cfg, acc, cp, testLogger(t)), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- r.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the poller and waits for Run to return nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after cancel")
	}
	r.done = nil
	if st := r.Status(); st.State != StateStopped || st.Connected {
		t.Errorf("after Run: state %s, connected %v", st.State, st.Connected)
	}
}

// waitPolls waits until the poller has finished n more checks.
func (r *running) waitPolls(t *testing.T, n uint64) {
	t.Helper()
	from := r.Status().Polls
	eventually(t, fmt.Sprintf("%d more checks", n), func() bool { return r.Status().Polls >= from+n })
}

// eventually waits for cond with a generous deadline: tests assert
// outcomes, not speed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() && os.Getenv("IMAP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// msg returns a test message whose X-Test-ID is id, padded to about size
// bytes.
func msg(id string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Customer <customer@example.com>\r\nTo: desk@example.com\r\n"+
		"Subject: Order question %s\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n"+
		"Message-ID: <%s@example.com>\r\nX-Test-ID: %s\r\n\r\nHello, about %s.\r\n", id, id, id, id)
	for b.Len() < size {
		b.WriteString("padding padding padding padding padding padding padding padding\r\n")
	}
	return b.Bytes()
}

// testID returns the X-Test-ID of raw.
func testID(raw []byte) string {
	_, rest, ok := bytes.Cut(raw, []byte("X-Test-ID: "))
	if !ok {
		return ""
	}
	id, _, _ := bytes.Cut(rest, []byte("\r\n"))
	return string(id)
}

// recorder is the accept step as the poller sees it: it keeps each source
// key once, as the inbound ledger does, and can fail or refuse large mail.
type recorder struct {
	mu       sync.Mutex
	keys     map[string]int64 // source key -> inbound id
	calls    []call
	fail     error
	failIDs  map[string]error // fail only the messages with these test ids
	failures int
	maxBytes int
	bad      []string // submissions that break the contract
}

type call struct {
	key, id  string
	tooLarge bool
}

func newRecorder() *recorder { return &recorder{keys: make(map[string]int64)} }

func (r *recorder) Accept(ctx context.Context, s intake.Submission) (intake.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.Channel != message.ChannelIMAP || s.Source != "imap:support" || s.SourceKey == "" ||
		!strings.HasPrefix(s.SourceKey, "imap:support:") || s.Intent != message.IntentCase || s.Queue != "general" {
		r.bad = append(r.bad, fmt.Sprintf("%+v", s))
	}
	id := testID(s.Raw)
	if err := cmp.Or(r.failIDs[id], r.fail); err != nil {
		r.failures++
		return intake.Result{}, err
	}
	if r.maxBytes > 0 && len(s.Raw) > r.maxBytes {
		r.calls = append(r.calls, call{key: s.SourceKey, id: id, tooLarge: true})
		return intake.Result{}, fmt.Errorf("%w: %d bytes", intake.ErrTooLarge, len(s.Raw))
	}
	r.calls = append(r.calls, call{key: s.SourceKey, id: id})
	if in, ok := r.keys[s.SourceKey]; ok {
		return intake.Result{InboundID: in, Duplicate: true}, nil
	}
	r.keys[s.SourceKey] = int64(len(r.keys) + 1)
	return intake.Result{InboundID: r.keys[s.SourceKey]}, nil
}

func (r *recorder) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// failID makes Accept fail with err for the message id (nil: no more).
func (r *recorder) failID(id string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failIDs == nil {
		r.failIDs = make(map[string]error)
	}
	r.failIDs[id] = err
}

func (r *recorder) failureCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures
}

// accepted returns, per test id, the distinct source keys accepted.
func (r *recorder) accepted() map[string]map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]map[string]bool)
	for _, c := range r.calls {
		if c.tooLarge {
			continue
		}
		if out[c.id] == nil {
			out[c.id] = make(map[string]bool)
		}
		out[c.id][c.key] = true
	}
	return out
}

// has reports whether every id was accepted.
func (r *recorder) has(ids ...string) bool {
	acc := r.accepted()
	for _, id := range ids {
		if len(acc[id]) == 0 {
			return false
		}
	}
	return true
}

// callCount counts Accept calls (failures excluded) for id, all when "".
func (r *recorder) callCount(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if id == "" || c.id == id {
			n++
		}
	}
	return n
}

// keyCount counts distinct source keys accepted.
func (r *recorder) keyCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.keys)
}

// checkOnce fails t unless every id in ids has exactly one source key, and
// no submission broke the contract.
func (r *recorder) checkOnce(t *testing.T, ids ...string) {
	t.Helper()
	acc := r.accepted()
	for _, id := range ids {
		if n := len(acc[id]); n != 1 {
			t.Errorf("message %s accepted under %d source keys (%v), want 1", id, n, acc[id])
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bad {
		t.Errorf("bad submission: %s", b)
	}
}

// checkpoints is an in-memory Checkpoints.
type checkpoints struct {
	mu   sync.Mutex
	m    map[string]store.Checkpoint
	fail error
}

func newCheckpoints() *checkpoints { return &checkpoints{m: make(map[string]store.Checkpoint)} }

func (c *checkpoints) Checkpoint(ctx context.Context, source string) (store.Checkpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return store.Checkpoint{}, c.fail
	}
	cp, ok := c.m[source]
	if !ok {
		return store.Checkpoint{Source: source}, nil
	}
	return cp, nil
}

func (c *checkpoints) SaveCheckpoint(ctx context.Context, cp store.Checkpoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.m[cp.Source] = cp
	return nil
}

func (c *checkpoints) get(source string) store.Checkpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[source]
}

// ids returns "<prefix>0".."<prefix>n-1".
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// flagged reports whether every message in msgs carries flag.
func allFlagged(msgs []testenv.StoredMessage, flag imap.Flag) bool {
	for _, m := range msgs {
		if !m.HasFlag(flag) {
			return false
		}
	}
	return true
}

var errStoreDown = errors.New("store unavailable")
