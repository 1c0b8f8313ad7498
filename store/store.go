// Package store is Frontdesk's system of record: the domain records (inbound
// messages, cases, orders, work items, outbound mail, events), the errors the
// backends return, and the Store contract every backend (store/sqlite, later
// store/postgres) satisfies and store/storetest checks. Consumers declare the
// few methods they use as their own small interfaces.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

var (
	// ErrNotFound is returned when a record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when a state change is not allowed now (a work
	// item leased to someone else, a lease that expired...).
	ErrConflict = errors.New("store: conflict")
)

// InboundStatus is where an inbound message is in the pipeline. The sweep
// re-enqueues the task for every status that is not final.
type InboundStatus string

const (
	StatusAccepted   InboundStatus = "accepted"   // raw kept; next: normalise
	StatusNormalised InboundStatus = "normalised" // message saved; next: classify
	StatusClassified InboundStatus = "classified" // next: register
	StatusRegistered InboundStatus = "registered" // case/order known; next: ack + route
	StatusDone       InboundStatus = "done"       // final
	StatusFailed     InboundStatus = "failed"     // final: kept with FailReason, routed to a person
)

// Final reports whether no more pipeline work is due for s.
func (s InboundStatus) Final() bool { return s == StatusDone || s == StatusFailed }

// Inbound is one accepted raw message: the ledger row of invariant 1.
type Inbound struct {
	ID      int64
	Channel message.Channel
	// Source is the mailbox, form or folder name it came from.
	Source string
	// SourceKey is unique per message at its source (for IMAP:
	// "imap:<mailbox>:<uidvalidity>:<uid>"); accepting the same key twice
	// returns the first row (invariant 2).
	SourceKey  string
	Blob       string // sha256 hex of the raw bytes in the blob store
	Size       int64
	Intent     message.Intent // the source's default intent
	Queue      string         // the source's default queue
	ReceivedAt time.Time
	Status     InboundStatus
	FailReason string
	// AckDone and RouteDone record the two steps after registration.
	AckDone   bool
	RouteDone bool
	// Set once known.
	CaseID    int64
	OrderID   int64
	Automated string // the automation rule that matched, if any
	// CardsMasked counts card numbers masked in the raw bytes before they
	// were written (invariant 6).
	CardsMasked int
	UpdatedAt   time.Time

	// Reserve asks AcceptInbound to reserve a case (IntentCase) or order
	// (IntentOrder) number for a new row, so that the channel can tell the
	// sender its reference at once (web forms). Input only.
	Reserve message.Intent
	// Reserved is the case or order reserved at accept and ReservedNumber
	// its number; registering the row opens exactly that case or order
	// (never a follow-up of another), whatever classification says.
	Reserved       Ref
	ReservedNumber string
}

// Classification is the classifier's verdict for one inbound message.
type Classification struct {
	Intent   message.Intent
	Category string
	Priority Priority
	Queue    string
	Rule     string // the rule that decided, for the audit trail
}

// Priority of a case, order or work item.
type Priority string

const (
	PriorityUrgent Priority = "urgent"
	PriorityHigh   Priority = "high"
	PriorityNormal Priority = "normal"
	PriorityLow    Priority = "low"
)

// Rank orders priorities for queue claims: lower is served first.
func (p Priority) Rank() int {
	switch p {
	case PriorityUrgent:
		return 0
	case PriorityHigh:
		return 1
	case PriorityLow:
		return 3
	default:
		return 2
	}
}

// CaseStatus is the lifecycle of a case.
type CaseStatus string

const (
	CaseOpen            CaseStatus = "open"
	CaseWaitingCustomer CaseStatus = "waiting_customer"
	CaseResolved        CaseStatus = "resolved"
	CaseClosed          CaseStatus = "closed"
)

// Case is a support case.
type Case struct {
	ID        int64
	Number    string // "C-000123"
	Kind      string // incident, service_request, inquiry
	Category  string
	Priority  Priority
	Status    CaseStatus
	Queue     string
	Channel   message.Channel
	Customer  string // customer e-mail address (lower case)
	Subject   string
	InboundID int64 // the message that opened it
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrderStatus is the lifecycle of an order.
type OrderStatus string

const (
	OrderReceived OrderStatus = "received"
	OrderHeld     OrderStatus = "held"
	OrderReleased OrderStatus = "released"
	OrderDone     OrderStatus = "done"
)

// Order is a customer order.
type Order struct {
	ID        int64
	Number    string // "O-000123"
	Status    OrderStatus
	Priority  Priority
	Queue     string
	Channel   message.Channel
	Customer  string
	Subject   string
	InboundID int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Ref points at a case or an order (exactly one of the IDs is set).
type Ref struct {
	CaseID  int64
	OrderID int64
}

// IsZero reports whether r points at nothing.
func (r Ref) IsZero() bool { return r.CaseID == 0 && r.OrderID == 0 }

// Direction of a thread message.
type Direction string

const (
	DirIn  Direction = "in"
	DirOut Direction = "out"
)

// ThreadMessage is one message in a case's or order's thread.
type ThreadMessage struct {
	ID        int64
	Ref       Ref
	InboundID int64 // 0 for outbound
	Direction Direction
	MessageID string // without angle brackets
	From      string
	Subject   string
	// Flag says why a message is attached but marked: an automation rule,
	// "sender-not-on-case", "delivery-failure"...
	Flag      string
	Message   *message.Message // the normalised content (inbound)
	CreatedAt time.Time
}

// OutboundState of an outgoing e-mail.
type OutboundState string

const (
	OutPending    OutboundState = "pending"    // record made, Message-ID fixed, not yet sent
	OutCommitting OutboundState = "committing" // all but SMTP's final dot written: the peer may have it; a retry resends the same Message-ID
	OutSent       OutboundState = "sent"       // the peer accepted it
	OutSuppressed OutboundState = "suppressed" // not sent on purpose (automation, caps, failing address)
	OutFailed     OutboundState = "failed"     // permanent failure (5xx)
)

// Outbound is one e-mail we send; Kind+InboundID is unique, so an inbound
// message gets at most one acknowledgement (invariant 2).
type Outbound struct {
	ID        int64
	InboundID int64
	Kind      string // "ack"
	Ref       Ref
	MessageID string // ours, fixed before the first attempt
	Recipient string
	Subject   string
	Template  string
	State     OutboundState
	Reason    string // why suppressed or failed
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
}

// WorkState of a work item.
type WorkState string

const (
	WorkOpen    WorkState = "open"
	WorkClaimed WorkState = "claimed"
	WorkDone    WorkState = "done"
)

// WorkItem is a piece of work in a CSR queue. It points at a case or order,
// or, for intake failures and unmatched automated mail, only at an inbound.
type WorkItem struct {
	ID           int64
	Queue        string
	Ref          Ref
	InboundID    int64
	Priority     Priority
	DueAt        time.Time
	State        WorkState
	Reason       string // why it is here, for failures ("max_parts exceeded")
	LeaseOwner   string
	LeaseExpires time.Time
	CreatedAt    time.Time
	CompletedAt  time.Time
}

// QueueStats summarises one queue for the API.
type QueueStats struct {
	Queue     string
	Open      int // claimable now (open, or claimed with an expired lease)
	Claimed   int
	OldestAge time.Duration // age of the oldest open item
}

// Event is one line of the audit trail.
type Event struct {
	ID        int64
	At        time.Time
	Actor     string // "system", a token name
	Kind      string // "case.created", "message.attached", "ack.sent", "work.claimed"...
	Ref       Ref
	InboundID int64
	Detail    string
}

// Cursor is a position in the Unfinished order: after the row updated at
// UpdatedAt with id ID.
type Cursor struct {
	UpdatedAt time.Time
	ID        int64
}

// CursorOf is the cursor just after in.
func CursorOf(in Inbound) Cursor { return Cursor{UpdatedAt: in.UpdatedAt, ID: in.ID} }

// Checkpoint is an IMAP mailbox's progress: UIDVALIDITY and the last UID
// accepted.
type Checkpoint struct {
	Source      string
	UIDValidity uint32
	LastUID     uint32
}

// NewCase is what RegisterCase needs.
type NewCase struct {
	InboundID int64
	Kind      string
	Category  string
	Priority  Priority
	Queue     string
	Channel   message.Channel
	Customer  string
	Subject   string
}

// NewOrder is what RegisterOrder needs.
type NewOrder struct {
	InboundID int64
	Priority  Priority
	Queue     string
	Channel   message.Channel
	Customer  string
	Subject   string
}

// Store is the whole contract of a backend. It exists for store/storetest
// and for wiring in cmd; packages that use the store declare the subset they
// need. Every method is safe for concurrent use; every write that a task
// makes is idempotent, keyed as its doc says.
type Store interface {
	// AcceptInbound inserts in, or, when in.SourceKey exists, loads the
	// existing row; created says which. in.ID is set either way.
	AcceptInbound(ctx context.Context, in *Inbound) (created bool, err error)
	Inbound(ctx context.Context, id int64) (*Inbound, error)
	// Unfinished lists inbound rows whose status is not final and that were
	// last updated before `before`, oldest first, starting after the cursor
	// (the zero Cursor starts at the oldest): a caller pages through all of
	// them with the cursor of the last row it got.
	Unfinished(ctx context.Context, before time.Time, after Cursor, limit int) ([]Inbound, error)

	// SaveNormalised stores the normalised message of inbound id (replacing
	// any earlier one) and moves it to StatusNormalised if it was accepted.
	SaveNormalised(ctx context.Context, id int64, m *message.Message) error
	// Normalised loads what SaveNormalised stored.
	Normalised(ctx context.Context, id int64) (*message.Message, error)
	// FailInbound marks inbound id failed with reason (final).
	FailInbound(ctx context.Context, id int64, reason string) error
	// SaveClassification stores c and moves the row to StatusClassified if it
	// was normalised.
	SaveClassification(ctx context.Context, id int64, c Classification) error
	Classification(ctx context.Context, id int64) (Classification, error)

	// RegisterCase creates the case opened by nc.InboundID, or returns the
	// one it already opened; the inbound message joins its thread and the row
	// moves to StatusRegistered.
	RegisterCase(ctx context.Context, nc NewCase) (c *Case, created bool, err error)
	// RegisterOrder is RegisterCase for orders.
	RegisterOrder(ctx context.Context, no NewOrder) (o *Order, created bool, err error)
	// AttachInbound adds inbound id to the thread of ref with flag (may be
	// empty), idempotently, and moves the row to StatusRegistered. A case
	// waiting on the customer goes back to open unless flag is set.
	AttachInbound(ctx context.Context, id int64, ref Ref, flag string) error
	// FindThread returns the case or order whose thread holds a message
	// with one of messageIDs (inbound or outbound), or ErrNotFound.
	FindThread(ctx context.Context, messageIDs []string) (Ref, error)
	Case(ctx context.Context, id int64) (*Case, error)
	CaseByNumber(ctx context.Context, number string) (*Case, error)
	Order(ctx context.Context, id int64) (*Order, error)
	OrderByNumber(ctx context.Context, number string) (*Order, error)
	// Thread lists the messages of ref, oldest first.
	Thread(ctx context.Context, ref Ref) ([]ThreadMessage, error)
	// SetCaseStatus changes a case's status.
	SetCaseStatus(ctx context.Context, id int64, s CaseStatus) error

	// CreateOutbound inserts o, or returns the existing record for
	// (o.InboundID, o.Kind); created says which.
	CreateOutbound(ctx context.Context, o *Outbound) (created bool, err error)
	// UpdateOutbound records an attempt's result (State, Reason, Attempts,
	// LastError, SentAt). When the state becomes sent, the message joins the
	// thread of o.Ref as an outbound message.
	UpdateOutbound(ctx context.Context, o *Outbound) error
	OutboundByMessageID(ctx context.Context, messageID string) (*Outbound, error)
	// CountSent counts outbound mail sent (or pending, or committing) to recipient, and for
	// ref, since the given time: the loop caps of invariant 3.
	CountSent(ctx context.Context, recipient string, ref Ref, since time.Time) (toRecipient, forRef int, err error)
	// MarkAddressFailing records a hard bounce for addr; AddressFailing
	// tells whether addr is marked.
	MarkAddressFailing(ctx context.Context, addr, reason string) error
	AddressFailing(ctx context.Context, addr string) (bool, error)
	// SetAckDone and SetRouteDone record the two steps after registration;
	// when both are done the row becomes StatusDone. Automated rows set
	// Automated via SetAutomated.
	SetAckDone(ctx context.Context, id int64) error
	SetRouteDone(ctx context.Context, id int64) error
	SetAutomated(ctx context.Context, id int64, rule string) error
	// FileInbound moves a row that is not final to StatusRegistered without
	// a case or order (automated mail that refers to nothing of ours, shown
	// to a person in a queue).
	FileInbound(ctx context.Context, id int64) error

	// SaveAnalysis records normalisation and classification of inbound id
	// in one write: the normalised message m (replacing any earlier one, as
	// SaveNormalised), the automation rule that matched when automatedRule
	// is not empty (as SetAutomated; an empty rule leaves the row's flag
	// alone) and the classification c (as SaveClassification). A row that
	// is accepted or normalised moves straight to StatusClassified; any
	// other keeps its status (a re-run never moves a row back, nor revives
	// a final one). Running it again with the same arguments changes
	// nothing more; ErrNotFound when the row does not exist.
	SaveAnalysis(ctx context.Context, id int64, m *message.Message, c Classification, automatedRule string) error
	// FinishAck records the last attempt at the acknowledgement o (as
	// UpdateOutbound: state, reason, attempts, last error, sent time; a
	// sent acknowledgement joins its thread, with its outbound.* event) and
	// marks the acknowledgement step of its inbound message done (as
	// SetAckDone), in one write. o.State must be final for the step: sent,
	// suppressed or failed. The inbound message is the record's, which
	// must have one. o is reloaded from the record. All or nothing;
	// idempotent; a sent record cannot become anything but sent or failed
	// (ErrConflict).
	FinishAck(ctx context.Context, o *Outbound) error
	// RouteInbound is EnsureWorkItem(w) and SetRouteDone(w.InboundID) in
	// one write: the work item stands (created unless one exists for the
	// inbound message or a live one for w.Ref; w is set to the item that
	// stands) and the routing step of the inbound message is recorded.
	// w.InboundID is required. All or nothing; idempotent.
	RouteInbound(ctx context.Context, w *WorkItem) (created bool, err error)

	// EnsureWorkItem creates a work item keyed by w.InboundID, unless one
	// exists for that inbound or (when w.Ref is set) an open or claimed item
	// exists for w.Ref; it returns the item that stands.
	EnsureWorkItem(ctx context.Context, w *WorkItem) (created bool, err error)
	// Queues lists every queue with items, with depth and oldest age at now.
	Queues(ctx context.Context, now time.Time) ([]QueueStats, error)
	// Claim leases the next item of queue to owner until now+lease: highest
	// priority first, then earliest due, then oldest; open items and items
	// whose lease expired are claimable. ErrNotFound when the queue is empty.
	Claim(ctx context.Context, queue, owner string, now time.Time, lease time.Duration) (*WorkItem, error)
	// Renew extends owner's lease; ErrConflict if owner does not hold it.
	Renew(ctx context.Context, id int64, owner string, now time.Time, lease time.Duration) (*WorkItem, error)
	// Release gives the item back to the queue; Complete marks it done.
	// Both return ErrConflict when owner does not hold a live lease.
	Release(ctx context.Context, id int64, owner string, now time.Time) error
	Complete(ctx context.Context, id int64, owner string, now time.Time) error
	WorkItem(ctx context.Context, id int64) (*WorkItem, error)

	// Checkpoint loads an IMAP checkpoint (zero values when absent);
	// SaveCheckpoint stores it.
	Checkpoint(ctx context.Context, source string) (Checkpoint, error)
	SaveCheckpoint(ctx context.Context, cp Checkpoint) error

	// AddEvent appends to the audit trail; Events lists ref's events. A
	// backend records the events of its own changes in the same
	// transaction (case.created, order.created, message.attached,
	// case.status, inbound.failed, outbound.sent/failed/suppressed,
	// work.created/claimed/released/completed, with the lease owner as the
	// actor of work.*), so callers add only events the store cannot know.
	AddEvent(ctx context.Context, e Event) error
	Events(ctx context.Context, ref Ref) ([]Event, error)

	// Ping checks the database is reachable and writable enough to accept.
	Ping(ctx context.Context) error
	Close() error
}
