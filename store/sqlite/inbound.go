package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

const inboundCols = `id, channel, source, source_key, blob, size, intent, queue, received_at,
	status, fail_reason, ack_done, route_done, case_id, order_id, automated, updated_at, cards_masked,
	reserved_kind, reserved_id`

const (
	qInsertInbound = `INSERT INTO inbound (channel, source, source_key, blob, size, intent, queue,
		received_at, status, updated_at, cards_masked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?)
		ON CONFLICT (source_key) DO NOTHING`
	qInboundByKey = `SELECT ` + inboundCols + ` FROM inbound WHERE source_key = ?`
	// qReserveCase and qReserveOrder reserve the next case or order id for
	// a new row: past every case (order) and every reservation.
	qReserveCase = `UPDATE inbound SET reserved_kind = 'case', reserved_id = ` + nextCaseID + ` WHERE id = ?
		RETURNING reserved_id`
	qReserveOrder = `UPDATE inbound SET reserved_kind = 'order', reserved_id = ` + nextOrderID + ` WHERE id = ?
		RETURNING reserved_id`
	qInboundByID  = `SELECT ` + inboundCols + ` FROM inbound WHERE id = ?`
	qInboundState = `SELECT status, case_id, order_id FROM inbound WHERE id = ?`
	qUnfinished   = `SELECT ` + inboundCols + ` FROM inbound
		WHERE status NOT IN ('done', 'failed') AND updated_at < ?
			AND (updated_at > ? OR (updated_at = ? AND id > ?))
		ORDER BY updated_at, id LIMIT ?`
	qFailed = `SELECT ` + inboundCols + ` FROM inbound
		WHERE status = 'failed' ORDER BY updated_at DESC, id DESC LIMIT ?`
	// A step's flag is set; the row is done when both steps are and it
	// was registered.
	qSetAckDone = `UPDATE inbound SET ack_done = 1, updated_at = ?,
		status = CASE WHEN status = 'registered' AND route_done = 1 THEN 'done' ELSE status END
		WHERE id = ?`
	qSetRouteDone = `UPDATE inbound SET route_done = 1, updated_at = ?,
		status = CASE WHEN status = 'registered' AND ack_done = 1 THEN 'done' ELSE status END
		WHERE id = ?`
	// qRegistered moves a row that is not final to registered (or done,
	// when both later steps were recorded already) and links it to its case
	// or order.
	qRegistered = `UPDATE inbound SET case_id = ?, order_id = ?, updated_at = ?,
		status = CASE WHEN status IN ('done', 'failed') THEN status
			WHEN ack_done = 1 AND route_done = 1 THEN 'done' ELSE 'registered' END
		WHERE id = ?`
	qSaveNormalised = `INSERT INTO normalised (inbound_id, message_id, from_addr, subject, body, saved_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (inbound_id) DO UPDATE SET message_id = excluded.message_id,
			from_addr = excluded.from_addr, subject = excluded.subject, body = excluded.body,
			saved_at = excluded.saved_at`
	// qNormalisedEarly touches a row that cannot be in a thread yet and
	// moves it from accepted to normalised; qTouch touches any other.
	qNormalisedEarly = `UPDATE inbound SET updated_at = ?,
		status = CASE WHEN status = 'accepted' THEN 'normalised' ELSE status END
		WHERE id = ? AND status IN ('accepted', 'normalised', 'classified')`
	qTouch = `UPDATE inbound SET updated_at = ? WHERE id = ?`
	// qClassified stores a classification on its row and moves the row
	// from normalised to classified.
	qClassified = `UPDATE inbound SET updated_at = ?,
		cl_intent = ?, cl_category = ?, cl_priority = ?, cl_queue = ?, cl_rule = ?,
		status = CASE WHEN status = 'normalised' THEN 'classified' ELSE status END
		WHERE id = ?`
	// qAnalysed is qClassified for SaveAnalysis: from accepted too, with
	// the automation rule when there is one. The first form is for a row
	// that cannot be in a thread yet, the second for any.
	qAnalysedEarly = `UPDATE inbound SET updated_at = ?,
		automated = CASE WHEN ? <> '' THEN ? ELSE automated END,
		cl_intent = ?, cl_category = ?, cl_priority = ?, cl_queue = ?, cl_rule = ?,
		status = CASE WHEN status IN ('accepted', 'normalised') THEN 'classified' ELSE status END
		WHERE id = ? AND status IN ('accepted', 'normalised', 'classified')`
	qAnalysed = `UPDATE inbound SET updated_at = ?,
		automated = CASE WHEN ? <> '' THEN ? ELSE automated END,
		cl_intent = ?, cl_category = ?, cl_priority = ?, cl_queue = ?, cl_rule = ?
		WHERE id = ?`
	qSetAutomated       = `UPDATE inbound SET automated = ?, updated_at = ? WHERE id = ?`
	qThreadRenormalised = `UPDATE thread_messages SET message_id = ?, from_addr = ?, subject = ? WHERE inbound_id = ?`
	qNormalised         = `SELECT body FROM normalised WHERE inbound_id = ?`
	qClassification     = `SELECT cl_intent, cl_category, cl_priority, cl_queue, cl_rule FROM inbound WHERE id = ?`
)

func scanInbound(s scanner) (*store.Inbound, error) {
	var (
		in                      store.Inbound
		received, updated       int64
		ack, route              int64
		caseID, orderID         sql.NullInt64
		channel, intent, status string
		reservedKind            string
		reservedID              sql.NullInt64
	)
	err := s.Scan(&in.ID, &channel, &in.Source, &in.SourceKey, &in.Blob, &in.Size, &intent, &in.Queue,
		&received, &status, &in.FailReason, &ack, &route, &caseID, &orderID, &in.Automated, &updated, &in.CardsMasked,
		&reservedKind, &reservedID)
	if err != nil {
		return nil, err
	}
	in.Reserved, in.ReservedNumber = reservedRef(reservedKind, reservedID.Int64)
	in.Channel = message.Channel(channel)
	in.Intent = message.Intent(intent)
	in.Status = store.InboundStatus(status)
	in.ReceivedAt = fromTS(received)
	in.UpdatedAt = fromTS(updated)
	in.AckDone, in.RouteDone = ack != 0, route != 0
	in.CaseID, in.OrderID = caseID.Int64, orderID.Int64
	return &in, nil
}

func scanInbounds(rows *sql.Rows) ([]store.Inbound, error) {
	defer rows.Close()
	var out []store.Inbound
	for rows.Next() {
		in, err := scanInbound(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *in)
	}
	return out, rows.Err()
}

// AcceptInbound inserts in, or loads the row with in.SourceKey; created says
// which. Every field of in is set from the row either way. The row is
// durable (it survives a power loss) when AcceptInbound returns. A zero
// ReceivedAt means now; the status of a new row is always accepted.
func (d *DB) AcceptInbound(ctx context.Context, in *store.Inbound) (created bool, err error) {
	return d.acceptInbound(ctx, "accept inbound", in, nil)
}

// AcceptInboundBlob is PutBlob(in.Blob, raw) and AcceptInbound(in) in one
// durable write: the raw copy of a small message and its row cost the
// accept step one commit instead of two. in.Blob must be the sha256 (hex)
// of raw and in.Size its length.
func (d *DB) AcceptInboundBlob(ctx context.Context, in *store.Inbound, raw []byte) (created bool, err error) {
	if in != nil && (in.Size != int64(len(raw)) || len(raw) > maxBlob) {
		return false, d.wrap("accept inbound with blob", invalid("the raw copy's size does not match, or is over the database's limit"))
	}
	return d.acceptInbound(ctx, "accept inbound with blob", in, raw)
}

// acceptInbound is AcceptInbound, storing raw under in.Blob in the same
// write when raw is not nil.
func (d *DB) acceptInbound(ctx context.Context, op string, in *store.Inbound, raw []byte) (created bool, err error) {
	if in == nil || in.SourceKey == "" || in.Channel == "" || in.Blob == "" {
		return false, d.wrap(op, invalid("inbound needs a source key, a channel and a blob"))
	}
	now := d.now()
	received := in.ReceivedAt
	if received.IsZero() {
		received = now
	}
	if in.Reserve != "" && in.Reserve != message.IntentCase && in.Reserve != message.IntentOrder {
		return false, d.wrap(op, invalid("reserve a case or an order, not "+string(in.Reserve)))
	}
	var (
		id       int64
		reserved int64
		got      *store.Inbound // the existing row, for a duplicate
	)
	// Durable: the channel tells its source the message is taken (and the
	// source deletes its copy) as soon as this returns.
	err = d.writeDurable(ctx, op, func(t *tx) error {
		got = nil
		var (
			ok  bool
			err error
		)
		if raw != nil {
			if _, err := t.exec(qPutBlob, in.Blob, int64(len(raw)), raw); err != nil {
				return err
			}
		}
		id, ok, err = t.insert(qInsertInbound, string(in.Channel), in.Source, in.SourceKey, in.Blob, in.Size,
			string(in.Intent), in.Queue, ts(received), ts(now), in.CardsMasked)
		switch {
		case err == nil && !ok:
			// Read inside the write: the first row may be in this batch.
			got, err = scanInbound(t.queryRow(qInboundByKey, in.SourceKey))
		case err == nil && in.Reserve != "":
			reserved = 0
			q := qReserveCase
			if in.Reserve == message.IntentOrder {
				q = qReserveOrder
			}
			err = t.queryRow(q, id).Scan(&reserved)
		}
		return err
	})
	if err != nil {
		return false, err
	}
	if got != nil {
		*in = *got
		return false, nil
	}
	in.ID = id
	in.ReceivedAt = fromTS(ts(received))
	in.UpdatedAt = fromTS(ts(now))
	in.Status = store.StatusAccepted
	in.FailReason, in.AckDone, in.RouteDone = "", false, false
	in.CaseID, in.OrderID, in.Automated = 0, 0, ""
	in.Reserved, in.ReservedNumber = store.Ref{}, ""
	if in.Reserve != "" {
		in.Reserved, in.ReservedNumber = reservedRef(string(in.Reserve), reserved)
	}
	return true, nil
}

// reservedRef is the case or order of a reservation, and its number.
func reservedRef(kind string, id int64) (store.Ref, string) {
	switch {
	case id == 0:
		return store.Ref{}, ""
	case kind == string(message.IntentOrder):
		return store.Ref{OrderID: id}, OrderNumber(id)
	default:
		return store.Ref{CaseID: id}, CaseNumber(id)
	}
}

// Inbound loads one inbound row.
func (d *DB) Inbound(ctx context.Context, id int64) (*store.Inbound, error) {
	in, err := scanInbound(d.r.queryRow(ctx, qInboundByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("inbound %d: %w", id, store.ErrNotFound)
	}
	return in, d.wrap("inbound", err)
}

// Unfinished lists rows whose status is not final, last updated before
// before, oldest first, after the cursor. limit <= 0 means 100.
func (d *DB) Unfinished(ctx context.Context, before time.Time, after store.Cursor, limit int) ([]store.Inbound, error) {
	var at int64 = -1 << 63
	if !after.UpdatedAt.IsZero() {
		at = ts(after.UpdatedAt)
	}
	rows, err := d.r.query(ctx, qUnfinished, ts(before), at, at, after.ID, defLimit(limit))
	if err != nil {
		return nil, d.wrap("unfinished", err)
	}
	out, err := scanInbounds(rows)
	return out, d.wrap("unfinished", err)
}

// Failed lists failed inbound rows with their reasons, most recent first,
// for the mailroom's "what failed and why" (DESIGN.md invariant 5).
// limit <= 0 means 100.
func (d *DB) Failed(ctx context.Context, limit int) ([]store.Inbound, error) {
	rows, err := d.r.query(ctx, qFailed, defLimit(limit))
	if err != nil {
		return nil, d.wrap("failed", err)
	}
	out, err := scanInbounds(rows)
	return out, d.wrap("failed", err)
}

func defLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// inboundState loads the status and links of inbound id inside t.
func (t *tx) inboundState(id int64) (status store.InboundStatus, caseID, orderID int64, err error) {
	var s string
	var c, o sql.NullInt64
	err = t.queryRow(qInboundState, id).Scan(&s, &c, &o)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, 0, fmt.Errorf("inbound %d: %w", id, store.ErrNotFound)
	}
	return store.InboundStatus(s), c.Int64, o.Int64, err
}

// execOne runs, as a write of its own, an UPDATE that must touch one row;
// none is ErrNotFound.
func (d *DB) execOne(ctx context.Context, op, what string, q string, args ...any) error {
	return d.write(ctx, op, func(t *tx) error { return t.execOne(what, q, args...) })
}

// execOne runs, inside t, an UPDATE that must touch one row; none is
// ErrNotFound.
func (t *tx) execOne(what, q string, args ...any) error {
	res, err := t.exec(q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// SetAckDone records that the acknowledgement step is done (sent,
// suppressed or not due); with SetRouteDone the row becomes done.
func (d *DB) SetAckDone(ctx context.Context, id int64) error {
	return d.execOne(ctx, "set ack done", fmt.Sprintf("inbound %d", id), qSetAckDone, ts(d.now()), id)
}

// SetRouteDone records that the routing step is done.
func (d *DB) SetRouteDone(ctx context.Context, id int64) error {
	return d.execOne(ctx, "set route done", fmt.Sprintf("inbound %d", id), qSetRouteDone, ts(d.now()), id)
}

// FileInbound moves a row that is not final to registered without a case or
// order: automated mail that refers to nothing of ours, shown to a person.
func (d *DB) FileInbound(ctx context.Context, id int64) error {
	return d.execOne(ctx, "file inbound", fmt.Sprintf("inbound %d", id), qRegistered, nil, nil, ts(d.now()), id)
}

// SetAutomated records the automation rule that matched inbound id.
func (d *DB) SetAutomated(ctx context.Context, id int64, rule string) error {
	return d.execOne(ctx, "set automated", fmt.Sprintf("inbound %d", id), qSetAutomated, rule, ts(d.now()), id)
}

// FailInbound marks inbound id failed with reason (final) and records an
// "inbound.failed" event. Failing a failed row keeps the first reason;
// failing a done row is ErrConflict.
func (d *DB) FailInbound(ctx context.Context, id int64, reason string) error {
	if reason == "" {
		reason = "unspecified"
	}
	return d.write(ctx, "fail inbound", func(t *tx) error {
		status, caseID, orderID, err := t.inboundState(id)
		if err != nil {
			return err
		}
		switch status {
		case store.StatusFailed:
			return nil
		case store.StatusDone:
			return fmt.Errorf("inbound %d is done: %w", id, store.ErrConflict)
		}
		if _, err := t.exec(`UPDATE inbound SET status = 'failed', fail_reason = ?, updated_at = ? WHERE id = ?`,
			reason, ts(t.now), id); err != nil {
			return err
		}
		return t.event(store.Event{Kind: "inbound.failed", Ref: store.Ref{CaseID: caseID, OrderID: orderID},
			InboundID: id, Detail: reason})
	})
}
