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
	// Within CreateOutbound's transaction the (inbound_id, kind) key was
	// looked up first, so a conflict here is a Message-ID in use.
	qInsertOutbound = `INSERT INTO outbound (inbound_id, kind, case_id, order_id, message_id, recipient, rcpt_key,
			subject, template, state, reason, attempts, last_error, created_at, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING RETURNING ` + outboundCols
	qUpdateOutbound = `UPDATE outbound SET state = ?, reason = ?, attempts = ?, last_error = ?, sent_at = ?,
		case_id = ?, order_id = ? WHERE id = ? RETURNING ` + outboundCols
	qThreadOutbound = `INSERT INTO thread_messages (case_id, order_id, outbound_id, direction, message_id,
			from_addr, subject, flag, created_at)
		VALUES (?, ?, ?, 'out', ?, '', ?, '', ?)
		ON CONFLICT (outbound_id) WHERE outbound_id IS NOT NULL DO NOTHING`
	// Mail counts against the caps from the moment it is recorded: sent
	// mail at its sending time, pending and committing mail at its creation.
	qCountToRecipient = `SELECT count(*) FROM outbound
		WHERE rcpt_key = ? AND state IN ('pending', 'committing', 'sent') AND coalesce(sent_at, created_at) >= ?`
	qCountForCase = `SELECT count(*) FROM outbound
		WHERE case_id = ? AND state IN ('pending', 'committing', 'sent') AND coalesce(sent_at, created_at) >= ?`
	qCountForOrder = `SELECT count(*) FROM outbound
		WHERE order_id = ? AND state IN ('pending', 'committing', 'sent') AND coalesce(sent_at, created_at) >= ?`
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
	if o.State == "" {
		o.State = store.OutPending
	}
	if !validOutState(o.State) || (o.Ref.CaseID != 0 && o.Ref.OrderID != 0) {
		return false, d.wrap(op, invalid(fmt.Sprintf("bad outbound state %q or ref %+v", o.State, o.Ref)))
	}
	mid := cleanMessageID(o.MessageID)
	err = d.write(ctx, op, func(t *tx) error {
		if o.InboundID != 0 {
			got, err := scanOutbound(t.queryRow(qOutboundByKey, o.InboundID, o.Kind))
			if err == nil {
				*o = *got
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		createdAt := o.CreatedAt
		if createdAt.IsZero() {
			createdAt = t.now
		}
		// A missing inbound row, case or order fails the foreign keys
		// (ErrNotFound).
		got, err := scanOutbound(t.queryRow(qInsertOutbound, nullID(o.InboundID), o.Kind, nullID(o.Ref.CaseID),
			nullID(o.Ref.OrderID), mid, o.Recipient, addrKey(o.Recipient), o.Subject, o.Template, string(o.State),
			o.Reason, o.Attempts, o.LastError, ts(createdAt), nullTS(o.SentAt)))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("Message-ID %q is in use: %w", mid, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		*o = *got
		created = true
		return nil
	})
	return created, err
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
	return d.write(ctx, op, func(t *tx) error {
		cur, err := scanOutbound(t.queryRow(qOutboundByID, o.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("outbound %d: %w", o.ID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur.State == store.OutSent && o.State != store.OutSent && o.State != store.OutFailed {
			return fmt.Errorf("outbound %d was sent, cannot become %s: %w", o.ID, o.State, store.ErrConflict)
		}
		ref := cur.Ref
		if ref.IsZero() && validRef(o.Ref) {
			if _, err := t.refStatus(o.Ref); err != nil {
				return err
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
		got, err := scanOutbound(t.queryRow(qUpdateOutbound, string(o.State), o.Reason, o.Attempts, o.LastError,
			nullTS(sentAt), nullID(ref.CaseID), nullID(ref.OrderID), o.ID))
		if err != nil {
			return err
		}
		if o.State == store.OutSent && !ref.IsZero() {
			if _, err := t.exec(qThreadOutbound, nullID(ref.CaseID), nullID(ref.OrderID), o.ID, cur.MessageID,
				cur.Subject, ts(sentAt)); err != nil {
				return err
			}
		}
		if o.State != cur.State && o.State != store.OutPending && o.State != store.OutCommitting {
			detail := cur.Kind + " to " + cur.Recipient
			if o.Reason != "" {
				detail += ": " + o.Reason
			}
			if err := t.event(store.Event{Kind: "outbound." + string(o.State), Ref: ref, InboundID: cur.InboundID,
				Detail: detail}); err != nil {
				return err
			}
		}
		*o = *got
		return nil
	})
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
	const op = "count sent"
	if key := addrKey(recipient); key != "" {
		if err := d.r.queryRow(ctx, qCountToRecipient, key, ts(since)).Scan(&toRecipient); err != nil {
			return 0, 0, d.wrap(op, err)
		}
	}
	switch {
	case ref.CaseID != 0:
		err = d.r.queryRow(ctx, qCountForCase, ref.CaseID, ts(since)).Scan(&forRef)
	case ref.OrderID != 0:
		err = d.r.queryRow(ctx, qCountForOrder, ref.OrderID, ts(since)).Scan(&forRef)
	}
	if err != nil {
		return 0, 0, d.wrap(op, err)
	}
	return toRecipient, forRef, nil
}

// MarkAddressFailing records a hard bounce for addr (case ignored); a
// repeated mark updates the reason and counts.
func (d *DB) MarkAddressFailing(ctx context.Context, addr, reason string) error {
	key := addrKey(addr)
	if key == "" {
		return d.wrap("mark address failing", invalid("empty address"))
	}
	return d.write(ctx, "mark address failing", func(t *tx) error {
		_, err := t.exec(`INSERT INTO failing_addresses (addr, reason, marked_at) VALUES (?, ?, ?)
			ON CONFLICT (addr) DO UPDATE SET reason = excluded.reason, marked_at = excluded.marked_at,
				count = count + 1`, key, reason, ts(t.now))
		return err
	})
}

// AddressFailing tells whether addr is marked failing.
func (d *DB) AddressFailing(ctx context.Context, addr string) (bool, error) {
	var n int
	err := d.r.queryRow(ctx, `SELECT count(*) FROM failing_addresses WHERE addr = ?`, addrKey(addr)).Scan(&n)
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
