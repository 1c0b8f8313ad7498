package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

const (
	outboundCols = `id, inbound_id, kind, case_id, order_id, message_id, recipient, subject, template,
		state, reason, attempts, last_error, created_at, sent_at`

	qOutboundByKey = `SELECT ` + outboundCols + ` FROM outbound WHERE inbound_id = ? AND kind = ?`
	qOutboundByMID = `SELECT ` + outboundCols + ` FROM outbound WHERE message_id = ?`
	qOutboundByID  = `SELECT ` + outboundCols + ` FROM outbound WHERE id = ?`
	// qNewOutbound adds a record unless its (inbound_id, kind) key or its
	// Message-ID is taken.
	qNewOutbound = `INSERT INTO outbound (inbound_id, kind, case_id, order_id, message_id, recipient, rcpt_key,
			subject, template, state, reason, attempts, last_error, created_at, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`
	qUpdateOutbound = `UPDATE outbound SET state = ?, reason = ?, attempts = ?, last_error = ?, sent_at = ?,
		case_id = ?, order_id = ? WHERE id = ?`
	qThreadOutbound = `INSERT INTO thread_messages (case_id, order_id, outbound_id, direction, message_id,
			from_addr, subject, flag, created_at)
		VALUES (?, ?, ?, 'out', ?, '', ?, '', ?)
		ON CONFLICT (outbound_id) WHERE outbound_id IS NOT NULL DO NOTHING`
	// Mail counts against the caps from the moment it is recorded: sent
	// mail at its sending time, pending and committing mail at its creation.
	// qCountSent counts, in one read, the mail to a recipient (empty: none)
	// and for a case or an order (NULL: none).
	qCountSent = `SELECT
		CASE WHEN ? = '' THEN 0 ELSE (SELECT count(*) FROM outbound
			WHERE rcpt_key = ? AND state IN ('pending', 'committing', 'sent') AND coalesce(sent_at, created_at) >= ?) END,
		(SELECT count(*) FROM outbound
			WHERE case_id = ? AND state IN ('pending', 'committing', 'sent') AND coalesce(sent_at, created_at) >= ?),
		(SELECT count(*) FROM outbound
			WHERE order_id = ? AND state IN ('pending', 'committing', 'sent') AND coalesce(sent_at, created_at) >= ?)`
	qMarkFailing = `INSERT INTO failing_addresses (addr, reason, marked_at) VALUES (?, ?, ?)
		ON CONFLICT (addr) DO UPDATE SET reason = excluded.reason, marked_at = excluded.marked_at,
			count = count + 1`
	qAddressFailing = `SELECT count(*) FROM failing_addresses WHERE addr = ?`
)

func scanOutbound(s scanner) (*store.Outbound, error) {
	var (
		o                 store.Outbound
		inb, c, ord, sent sql.NullInt64
		state             string
		created           int64
	)
	if err := s.Scan(&o.ID, &inb, &o.Kind, &c, &ord, &o.MessageID, &o.Recipient, &o.Subject, &o.Template,
		&state, &o.Reason, &o.Attempts, &o.LastError, &created, &sent); err != nil {
		return nil, err
	}
	o.InboundID = inb.Int64
	o.Ref = store.Ref{CaseID: c.Int64, OrderID: ord.Int64}
	o.State = store.OutboundState(state)
	o.CreatedAt, o.SentAt = fromTS(created), fromNullTS(sent)
	return &o, nil
}

func validOutState(s store.OutboundState) bool {
	switch s {
	case store.OutPending, store.OutCommitting, store.OutSent, store.OutSuppressed, store.OutFailed:
		return true
	}
	return false
}

// CreateOutbound inserts o (state pending unless set; CreatedAt now unless
// set), or, when a record exists for (o.InboundID, o.Kind), loads it into
// o; created says which. Its Message-ID is searchable by FindThread from
// now on. A Message-ID already used by another record is ErrConflict.
// Records with InboundID 0 (a CSR's reply) are keyed by Message-ID only.
func (d *DB) CreateOutbound(ctx context.Context, o *store.Outbound) (created bool, err error) {
	const op = "create outbound"
	if o == nil || o.Kind == "" || o.Recipient == "" || cleanMessageID(o.MessageID) == "" {
		return false, d.wrap(op, invalid("outbound needs a kind, a recipient and a Message-ID"))
	}
	state := o.State
	if state == "" {
		state = store.OutPending
	}
	if !validOutState(state) || (o.Ref.CaseID != 0 && o.Ref.OrderID != 0) {
		return false, d.wrap(op, invalid(fmt.Sprintf("bad outbound state %q or ref %+v", state, o.Ref)))
	}
	in := *o
	in.State, in.MessageID = state, cleanMessageID(o.MessageID)
	var got *store.Outbound
	err = d.write(ctx, op, func(t *tx) error {
		got, created = nil, false
		rec := in
		if rec.CreatedAt.IsZero() {
			rec.CreatedAt = t.now
		}
		// A missing inbound row, case or order fails the foreign keys
		// (ErrNotFound).
		id, ok, err := t.insert(qNewOutbound, nullID(rec.InboundID), rec.Kind, nullID(rec.Ref.CaseID),
			nullID(rec.Ref.OrderID), rec.MessageID, rec.Recipient, addrKey(rec.Recipient), rec.Subject, rec.Template,
			string(rec.State), rec.Reason, rec.Attempts, rec.LastError, ts(rec.CreatedAt), nullTS(rec.SentAt))
		if err != nil {
			return err
		}
		if ok {
			rec.ID, rec.CreatedAt, rec.SentAt = id, fromTS(ts(rec.CreatedAt)), normTS(rec.SentAt)
			got, created = &rec, true
			return nil
		}
		if rec.InboundID != 0 {
			got, err = scanOutbound(t.queryRow(qOutboundByKey, rec.InboundID, rec.Kind))
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		return fmt.Errorf("Message-ID %q is in use: %w", rec.MessageID, store.ErrConflict)
	})
	if err != nil {
		return false, err
	}
	*o = *got
	return created, nil
}

// UpdateOutbound records an attempt's result on record o.ID: State, Reason,
// Attempts, LastError, SentAt (now when the state becomes sent without one)
// and, if the record had none, Ref. When the state becomes sent the message
// joins its thread as an outbound message, with an "outbound.sent" event
// ("outbound.failed", "outbound.suppressed" likewise). A sent record can
// only stay sent or become failed (a later bounce); anything else is
// ErrConflict. o is reloaded from the record.
func (d *DB) UpdateOutbound(ctx context.Context, o *store.Outbound) error {
	const op = "update outbound"
	if o == nil || o.ID == 0 || !validOutState(o.State) {
		return d.wrap(op, invalid("outbound update needs an id and a known state"))
	}
	in := *o
	var got *store.Outbound
	err := d.write(ctx, op, func(t *tx) error {
		var err error
		got, err = t.updateOutbound(&in, false)
		return err
	})
	if err != nil {
		return err
	}
	*o = *got
	return nil
}

// FinishAck is UpdateOutbound of the acknowledgement o, in a state that
// ends the step (sent, suppressed or failed), and SetAckDone of its record's
// inbound message, in one write.
func (d *DB) FinishAck(ctx context.Context, o *store.Outbound) error {
	const op = "finish ack"
	if o == nil || o.ID == 0 {
		return d.wrap(op, invalid("finishing an acknowledgement needs its record's id"))
	}
	switch o.State {
	case store.OutSent, store.OutSuppressed, store.OutFailed:
	default:
		return d.wrap(op, invalid(fmt.Sprintf("acknowledgement state %q does not end the step", o.State)))
	}
	in := *o
	var got *store.Outbound
	err := d.write(ctx, op, func(t *tx) error {
		var err error
		if got, err = t.updateOutbound(&in, true); err != nil {
			return err
		}
		return t.execOne(fmt.Sprintf("inbound %d", got.InboundID), qSetAckDone, ts(t.now), got.InboundID)
	})
	if err != nil {
		return err
	}
	*o = *got
	return nil
}

// updateOutbound records o's attempt (see UpdateOutbound) and returns the
// record as it now is. needInbound refuses, before writing, a record
// without an inbound message.
func (t *tx) updateOutbound(o *store.Outbound, needInbound bool) (*store.Outbound, error) {
	cur, err := scanOutbound(t.queryRow(qOutboundByID, o.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("outbound %d: %w", o.ID, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if needInbound && cur.InboundID == 0 {
		return nil, invalid(fmt.Sprintf("outbound %d has no inbound message", o.ID))
	}
	if cur.State == store.OutSent && o.State != store.OutSent && o.State != store.OutFailed {
		return nil, fmt.Errorf("outbound %d was sent, cannot become %s: %w", o.ID, o.State, store.ErrConflict)
	}
	ref := cur.Ref
	if ref.IsZero() && validRef(o.Ref) {
		if _, err := t.refStatus(o.Ref); err != nil {
			return nil, err
		}
		ref = o.Ref
	}
	sentAt := o.SentAt
	if o.State == store.OutSent && sentAt.IsZero() {
		sentAt = cur.SentAt
		if sentAt.IsZero() {
			sentAt = t.now
		}
	}
	if err := t.execOne(fmt.Sprintf("outbound %d", o.ID), qUpdateOutbound, string(o.State), o.Reason, o.Attempts,
		o.LastError, nullTS(sentAt), nullID(ref.CaseID), nullID(ref.OrderID), o.ID); err != nil {
		return nil, err
	}
	if o.State == store.OutSent && !ref.IsZero() {
		if _, err := t.exec(qThreadOutbound, nullID(ref.CaseID), nullID(ref.OrderID), o.ID, cur.MessageID,
			cur.Subject, ts(sentAt)); err != nil {
			return nil, err
		}
	}
	if o.State != cur.State && o.State != store.OutPending && o.State != store.OutCommitting {
		detail := cur.Kind + " to " + cur.Recipient
		if o.Reason != "" {
			detail += ": " + o.Reason
		}
		if err := t.event(store.Event{Kind: "outbound." + string(o.State), Ref: ref, InboundID: cur.InboundID,
			Detail: detail}); err != nil {
			return nil, err
		}
	}
	got := *cur
	got.State, got.Reason, got.Attempts, got.LastError = o.State, o.Reason, o.Attempts, o.LastError
	got.SentAt, got.Ref = normTS(sentAt), ref
	return &got, nil
}

// OutboundByMessageID loads the record with messageID (angle brackets
// ignored).
func (d *DB) OutboundByMessageID(ctx context.Context, messageID string) (*store.Outbound, error) {
	mid := cleanMessageID(messageID)
	o, err := scanOutbound(d.r.queryRow(ctx, qOutboundByMID, mid))
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("outbound %q: %w", mid, store.ErrNotFound)
	}
	return o, d.wrap("outbound by message id", err)
}

// CountSent counts outbound mail sent or pending to recipient (case
// ignored) and for ref since the given time: the loop caps of invariant 3.
// An empty recipient or a zero ref counts 0.
func (d *DB) CountSent(ctx context.Context, recipient string, ref store.Ref, since time.Time) (toRecipient, forRef int, err error) {
	key, at := addrKey(recipient), ts(since)
	var forCase, forOrder int
	err = d.r.queryRow(ctx, qCountSent, key, key, at, nullID(ref.CaseID), at, nullID(ref.OrderID), at).
		Scan(&toRecipient, &forCase, &forOrder)
	if err != nil {
		return 0, 0, d.wrap("count sent", err)
	}
	if ref.CaseID != 0 {
		return toRecipient, forCase, nil
	}
	return toRecipient, forOrder, nil
}

// MarkAddressFailing records a hard bounce for addr (case ignored); a
// repeated mark updates the reason and counts.
func (d *DB) MarkAddressFailing(ctx context.Context, addr, reason string) error {
	key := addrKey(addr)
	if key == "" {
		return d.wrap("mark address failing", invalid("empty address"))
	}
	return d.write(ctx, "mark address failing", func(t *tx) error {
		_, err := t.exec(qMarkFailing, key, reason, ts(t.now))
		return err
	})
}

// AddressFailing tells whether addr is marked failing.
func (d *DB) AddressFailing(ctx context.Context, addr string) (bool, error) {
	var n int
	err := d.r.queryRow(ctx, qAddressFailing, addrKey(addr)).Scan(&n)
	return n > 0, d.wrap("address failing", err)
}

// ClearAddressFailing removes the mark on addr (the customer fixed their
// mailbox); clearing an unmarked address is not an error.
func (d *DB) ClearAddressFailing(ctx context.Context, addr string) error {
	return d.write(ctx, "clear address failing", func(t *tx) error {
		_, err := t.exec(`DELETE FROM failing_addresses WHERE addr = ?`, addrKey(addr))
		return err
	})
}
