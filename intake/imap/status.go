package imap

import (
	"sync"
	"time"
)

// State is what a poller is doing.
type State string

const (
	StateStarting   State = "starting"   // Run not called yet
	StateConnecting State = "connecting" // dialling, logging in, selecting
	StateFetching   State = "fetching"   // checking for and taking new mail
	StateIdle       State = "idle"       // in IDLE, waiting for the server
	StatePolling    State = "polling"    // waiting for the next poll
	StateBackoff    State = "backoff"    // waiting to reconnect after an error
	StateStopped    State = "stopped"    // Run returned
)

// Status is a snapshot of a poller, for readiness checks and operators.
type Status struct {
	Source string // "imap:<name>"
	Folder string
	State  State
	// Connected is true while a session is logged in with the folder
	// selected.
	Connected bool
	// Idle is true when the session waits for mail with IDLE rather than
	// polling.
	Idle bool
	// UIDValidity and LastUID are the checkpoint as the poller holds it.
	UIDValidity uint32
	LastUID     uint32
	// Rescanning is true after a UIDVALIDITY change until the folder has
	// been rescanned.
	Rescanning bool
	// LastPoll is when the last check for new mail finished; Polls counts
	// the checks since Run started.
	LastPoll time.Time
	Polls    uint64
	// Accepted counts messages the acceptor took (Duplicates of them had
	// been accepted before); TooLarge counts messages left for a person.
	Accepted   uint64
	Duplicates uint64
	TooLarge   uint64
	// Sessions counts successful logins; a reconnect adds one.
	Sessions uint64
	// Failing is true from an error until the next successful check.
	Failing bool
	// LastError and its kind and time stay after recovery, for operators.
	LastError     string
	LastErrorKind ErrorKind
	LastErrorAt   time.Time
	// RetryAt is when the next connection attempt is due (StateBackoff).
	RetryAt time.Time
}

// Healthy reports whether the poller is connected and its last check
// succeeded.
func (s Status) Healthy() bool { return s.Connected && !s.Failing }

// statusBox guards a Status shared between Run and Status callers.
type statusBox struct {
	mu sync.Mutex
	s  Status
}

func (b *statusBox) get() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s
}

func (b *statusBox) update(f func(s *Status)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(&b.s)
}

func (b *statusBox) setState(st State) {
	b.update(func(s *Status) {
		s.State = st
		if st == StateConnecting || st == StateBackoff || st == StateStopped {
			s.Connected = false
			s.Idle = false
		}
	})
}

func (b *statusBox) fail(err error, kind ErrorKind, at time.Time) {
	b.update(func(s *Status) {
		s.Failing = true
		s.LastError = err.Error()
		s.LastErrorKind = kind
		s.LastErrorAt = at
	})
}
