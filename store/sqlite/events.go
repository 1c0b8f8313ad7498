package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/frontdesk/frontdesk/store"
)

// The store records these events itself, inside the transaction of the
// change they describe, so each is written exactly once however often a
// task retries: case.created, order.created, message.attached,
// case.status, inbound.failed, outbound.sent, outbound.failed,
// outbound.suppressed, work.created, work.claimed, work.released,
// work.completed. Callers add their own with AddEvent.

const (
	eventCols    = `id, at, actor, kind, case_id, order_id, inbound_id, detail`
	qInsertEvent = `INSERT INTO events (at, actor, kind, case_id, order_id, inbound_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	qEventsOfCase    = `SELECT ` + eventCols + ` FROM events WHERE case_id = ? ORDER BY at, id`
	qEventsOfOrder   = `SELECT ` + eventCols + ` FROM events WHERE order_id = ? ORDER BY at, id`
	qEventsOfInbound = `SELECT ` + eventCols + ` FROM events WHERE inbound_id = ? ORDER BY at, id`
)

// event appends e inside t; At defaults to the transaction's time and Actor
// to "system".
func (t *tx) event(e store.Event) error {
	if e.At.IsZero() {
		e.At = t.now
	}
	if e.Actor == "" {
		e.Actor = "system"
	}
	_, err := t.exec(qInsertEvent, ts(e.At), e.Actor, e.Kind, nullID(e.Ref.CaseID), nullID(e.Ref.OrderID),
		nullID(e.InboundID), e.Detail)
	return err
}

// AddEvent appends e to the audit trail. A zero At means now; an empty
// Actor means "system".
func (d *DB) AddEvent(ctx context.Context, e store.Event) error {
	if e.Kind == "" {
		return d.wrap("add event", invalid("event without kind"))
	}
	return d.write(ctx, "add event", func(t *tx) error { return t.event(e) })
}

// Events lists the events of ref, oldest first.
func (d *DB) Events(ctx context.Context, ref store.Ref) ([]store.Event, error) {
	var (
		rows *sql.Rows
		err  error
	)
	switch {
	case ref.CaseID != 0 && ref.OrderID == 0:
		rows, err = d.r.query(ctx, qEventsOfCase, ref.CaseID)
	case ref.OrderID != 0 && ref.CaseID == 0:
		rows, err = d.r.query(ctx, qEventsOfOrder, ref.OrderID)
	default:
		return nil, d.wrap("events", invalid(fmt.Sprintf("ref %+v must name one case or one order", ref)))
	}
	if err != nil {
		return nil, d.wrap("events", err)
	}
	out, err := scanEvents(rows)
	return out, d.wrap("events", err)
}

// InboundEvents lists the events of one inbound message (its failure, the
// case it opened or joined...), oldest first.
func (d *DB) InboundEvents(ctx context.Context, inboundID int64) ([]store.Event, error) {
	rows, err := d.r.query(ctx, qEventsOfInbound, inboundID)
	if err != nil {
		return nil, d.wrap("inbound events", err)
	}
	out, err := scanEvents(rows)
	return out, d.wrap("inbound events", err)
}

func scanEvents(rows *sql.Rows) ([]store.Event, error) {
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var (
			e                    store.Event
			at                   int64
			caseID, orderID, inb sql.NullInt64
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Kind, &caseID, &orderID, &inb, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromTS(at)
		e.Ref = store.Ref{CaseID: caseID.Int64, OrderID: orderID.Int64}
		e.InboundID = inb.Int64
		out = append(out, e)
	}
	return out, rows.Err()
}
