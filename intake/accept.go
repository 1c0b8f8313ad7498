// Package intake accepts customer messages from every channel and hands them
// to the pipeline. The sub-packages are the channels (imap, later webhook
// and drop) and the e-mail normaliser (mailparse); this package owns the one
// accept step they all share (DESIGN.md invariant 1): raw bytes durable in the
// blob store, an inbound row committed, the first task enqueued. Only when
// Accept returns nil may a channel tell its source the message is taken.
package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// Blobs keeps raw bytes durably, keyed by their sha256.
type Blobs interface {
	Put(ctx context.Context, r io.Reader) (hash string, size int64, err error)
}

// Ledger records accepted messages; the same source key is one row.
type Ledger interface {
	AcceptInbound(ctx context.Context, in *store.Inbound) (created bool, err error)
}

// InlineBlobs says which blobs a blob store keeps in the ledger's database
// (blob.Tiered), and InlineLedger writes such a blob with its row in one
// durable write (sqlite.DB): see Acceptor.Inline.
type InlineBlobs interface {
	Inline(size int64) bool
}

// InlineLedger: see InlineBlobs.
type InlineLedger interface {
	AcceptInboundBlob(ctx context.Context, in *store.Inbound, raw []byte) (created bool, err error)
}

// Enqueuer starts the pipeline for an accepted message. It must be
// idempotent per inbound id.
type Enqueuer interface {
	EnqueueInbound(ctx context.Context, inboundID int64) error
}

// Submission is one message as a channel received it.
type Submission struct {
	Channel   message.Channel
	Source    string // mailbox, form or folder name
	SourceKey string // unique at the source; the same message twice has the same key
	Intent    message.Intent
	Queue     string
	Raw       []byte
	// Reserve gives the submission its case or order number (by Intent)
	// at once, in Result.Reference: for channels that answer the sender
	// with it (web forms). The message then always opens that case or
	// order rather than joining another.
	Reserve bool
}

// Result says what Accept did.
type Result struct {
	InboundID int64
	// Duplicate is true when the source key was accepted before; the
	// channel should still tell its source the message is taken.
	Duplicate bool
	// CardsMasked counts card numbers masked in the raw bytes before they
	// were written (invariant 6).
	CardsMasked int
	// Reference is the reserved case or order number ("C-000123") of a
	// submission with Reserve (also for a duplicate).
	Reference string
}

// Acceptor is the accept step shared by every channel.
type Acceptor struct {
	Blobs    Blobs
	Ledger   Ledger
	Enqueuer Enqueuer
	Log      *slog.Logger
	// MaxBytes refuses larger messages at the door; 0 means no limit here
	// (the normaliser still bounds parsing).
	MaxBytes int64
	// Limits bound the MIME parsing done to mask card numbers in encoded
	// parts before the raw message is written; use the normaliser's limits.
	// Zero fields take message.DefaultLimits.
	Limits message.Limits
	// Inline and InlineLedger, when Blobs keeps small blobs in the
	// ledger's own database: a raw copy Inline says is small is then
	// written by InlineLedger with its row, one durable commit instead of
	// two (blob, then row). Both nil: every copy goes through Blobs.
	Inline       InlineBlobs
	InlineLedger InlineLedger
}

// ErrTooLarge is returned for a submission over MaxBytes; it is permanent.
var ErrTooLarge = errors.New("intake: message too large")

// Accept makes s durable and starts its processing. Any error means the
// message is not accepted and the source must keep it; errors are temporary
// unless they wrap ErrTooLarge. Accept is safe for concurrent use (a
// channel accepts several messages at once so that their fsyncs overlap
// and their rows share commits), also for the same source key at once:
// the ledger's unique key keeps it one row.
func (a *Acceptor) Accept(ctx context.Context, s Submission) (Result, error) {
	if s.SourceKey == "" {
		return Result{}, errors.New("intake: submission without source key")
	}
	if a.MaxBytes > 0 && int64(len(s.Raw)) > a.MaxBytes {
		return Result{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(s.Raw), a.MaxBytes)
	}
	raw, masked := maskRaw(s.Raw, a.Limits)
	inline := a.Inline != nil && a.InlineLedger != nil && a.Inline.Inline(int64(len(raw)))
	var (
		hash string
		size int64
		err  error
	)
	if inline {
		sum := sha256.Sum256(raw)
		hash, size = hex.EncodeToString(sum[:]), int64(len(raw))
	} else if hash, size, err = a.Blobs.Put(ctx, bytes.NewReader(raw)); err != nil {
		return Result{}, fmt.Errorf("intake: keep raw message: %w", err)
	}
	in := &store.Inbound{
		Channel:   s.Channel,
		Source:    s.Source,
		SourceKey: s.SourceKey,
		Blob:      hash,
		Size:      size,
		Intent:    s.Intent,
		Queue:     s.Queue,

		CardsMasked: masked,
	}
	if s.Reserve {
		in.Reserve = s.Intent
	}
	// Durable when it returns, with the raw copy: written in the same
	// commit, or by Put before (a file is durable when Put returns; a row
	// the blob store keeps in the same database is committed before, and
	// the WAL replays as a prefix; see blob.Small).
	var created bool
	if inline {
		created, err = a.InlineLedger.AcceptInboundBlob(ctx, in, raw)
	} else {
		created, err = a.Ledger.AcceptInbound(ctx, in)
	}
	if err != nil {
		return Result{}, fmt.Errorf("intake: record inbound: %w", err)
	}
	// Enqueue even for a duplicate: the first attempt may have died between
	// commit and enqueue. The enqueuer is idempotent per inbound id.
	if err := a.Enqueuer.EnqueueInbound(ctx, in.ID); err != nil {
		return Result{}, fmt.Errorf("intake: enqueue inbound %d: %w", in.ID, err)
	}
	if a.Log != nil {
		a.Log.LogAttrs(ctx, slog.LevelDebug, "accepted",
			slog.String("channel", string(s.Channel)), slog.String("source", s.Source),
			slog.Int64("inbound_id", in.ID), slog.Bool("duplicate", !created),
			slog.Int("cards_masked", masked))
	}
	return Result{InboundID: in.ID, Duplicate: !created, CardsMasked: masked, Reference: in.ReservedNumber}, nil
}
