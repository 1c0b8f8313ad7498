package imap

import (
	"net"
	"sync"
	"time"
)

// watchdog closes the connection when a command gets no answer in time:
// imapclient waits for answers without a deadline of its own.
type watchdog struct {
	conn    net.Conn
	timeout time.Duration
	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

func newWatchdog(conn net.Conn, timeout time.Duration) *watchdog {
	return &watchdog{conn: conn, timeout: timeout}
}

func (w *watchdog) arm() { w.armFor(w.timeout) }

func (w *watchdog) armFor(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if w.t == nil {
		w.t = time.AfterFunc(d, func() { _ = w.conn.Close() })
		return
	}
	w.t.Reset(d)
}

func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.t != nil {
		w.t.Stop()
	}
}

func (w *watchdog) stop() {
	w.disarm()
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}
