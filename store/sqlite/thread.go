package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

const (
	// qThreadInbound adds inbound id to a thread once, copying the
	// searchable columns of its normalised message (if saved yet).
	qThreadInbound = `INSERT INTO thread_messages (case_id, order_id, inbound_id, direction, message_id,
			from_addr, subject, flag, created_at)
		SELECT ?, ?, i.id, 'in', coalesce(n.message_id, ''), coalesce(n.from_addr, ''),
			coalesce(n.subject, ''), ?, i.received_at
		FROM inbound i LEFT JOIN normalised n ON n.inbound_id = i.id
		WHERE i.id = ?
		ON CONFLICT (inbound_id) WHERE inbound_id IS NOT NULL DO NOTHING`
	qThreadRefOf = `SELECT case_id, order_id FROM thread_messages WHERE inbound_id = ?`
	qThread      = `SELECT t.id, t.case_id, t.order_id, t.inbound_id, t.direction, t.message_id,
			t.from_addr, t.subject, t.flag, t.created_at, n.body
		FROM thread_messages t LEFT JOIN normalised n ON n.inbound_id = t.inbound_id
		WHERE %s = ? ORDER BY t.created_at, t.id`

	// maxThreadIDs bounds the Message-IDs FindThread looks up.
	maxThreadIDs = 200
)

// findThreadQuery is FindThread's statement for n Message-IDs: inbound
// thread messages first, then outbound records (which stand for our sent
// thread messages too), each in id order.
func findThreadQuery(n int) string {
	marks := strings.TrimSuffix(strings.Repeat("?,", n), ",")
	return `SELECT message_id, case_id, order_id, 0 AS src, id FROM thread_messages
			WHERE message_id <> '' AND direction = 'in' AND message_id IN (` + marks + `)
		UNION ALL
		SELECT message_id, case_id, order_id, 1 AS src, id FROM outbound WHERE message_id IN (` + marks + `)
			AND (case_id IS NOT NULL OR order_id IS NOT NULL)
		ORDER BY src, id`
}

// validRef reports whether ref names exactly one case or order.
func validRef(ref store.Ref) bool { return (ref.CaseID != 0) != (ref.OrderID != 0) }

// register puts inbound id in ref's thread (once), links the row to ref and
// moves it to registered. added says whether the thread row is new.
func (t *tx) register(id int64, ref store.Ref, flag string) (added bool, err error) {
	res, err := t.exec(qThreadInbound, nullID(ref.CaseID), nullID(ref.OrderID), flag, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if _, err := t.exec(qRegistered, nullID(ref.CaseID), nullID(ref.OrderID), ts(t.now), id); err != nil {
		return false, err
	}
	return n > 0, nil
}

// refStatus checks that the case or order ref names exists and returns its
// status; ErrNotFound when it does not. A zero ref is fine.
func (t *tx) refStatus(ref store.Ref) (string, error) {
	var (
		q, what string
		id      int64
	)
	switch {
	case ref.CaseID != 0:
		q, what, id = qCaseStatus, "case", ref.CaseID
	case ref.OrderID != 0:
		q, what, id = qOrderStatus, "order", ref.OrderID
	default:
		return "", nil
	}
	var status string
	err := t.queryRow(q, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s %d: %w", what, id, store.ErrNotFound)
	}
	return status, err
}

// AttachInbound adds inbound id to the thread of ref with flag, once per
// inbound id, links the row to ref and moves it to registered, with a
// "message.attached" event. A case waiting on the customer goes back to
// open unless flag is set. Attaching a message already in another thread
// is ErrConflict.
func (d *DB) AttachInbound(ctx context.Context, id int64, ref store.Ref, flag string) error {
	const op = "attach inbound"
	if !validRef(ref) {
		return d.wrap(op, invalid(fmt.Sprintf("ref %+v must name one case or one order", ref)))
	}
	return d.write(ctx, op, func(t *tx) error {
		if _, _, _, err := t.inboundState(id); err != nil {
			return err
		}
		caseStatus, err := t.refStatus(ref)
		if err != nil {
			return err
		}
		var c, o sql.NullInt64
		err = t.queryRow(qThreadRefOf, id).Scan(&c, &o)
		switch {
		case err == nil:
			if (store.Ref{CaseID: c.Int64, OrderID: o.Int64}) != ref {
				return fmt.Errorf("inbound %d is already in another thread: %w", id, store.ErrConflict)
			}
			return nil // attached before
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := t.register(id, ref, flag); err != nil {
			return err
		}
		if ref.CaseID != 0 {
			if _, err := t.exec(qTouchCase, ts(t.now), ref.CaseID); err != nil {
				return err
			}
			if caseStatus == string(store.CaseWaitingCustomer) && flag == "" {
				if err := t.setCaseStatus(ref.CaseID, store.CaseWaitingCustomer, store.CaseOpen); err != nil {
					return err
				}
			}
		} else if _, err := t.exec(qTouchOrder, ts(t.now), ref.OrderID); err != nil {
			return err
		}
		return t.event(store.Event{Kind: "message.attached", Ref: ref, InboundID: id, Detail: flag})
	})
}

// FindThread returns the case or order whose thread holds a message with
// one of messageIDs: an inbound message attached to it, or an outbound one
// recorded for it (from CreateOutbound on, before it is sent). Angle
// brackets are ignored; the first ID that matches wins (callers pass
// In-Reply-To first). ErrNotFound when none matches.
func (d *DB) FindThread(ctx context.Context, messageIDs []string) (store.Ref, error) {
	const op = "find thread"
	ids := make([]string, 0, len(messageIDs))
	seen := make(map[string]bool, len(messageIDs))
	for _, id := range messageIDs {
		id = cleanMessageID(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
		if len(ids) == maxThreadIDs {
			break
		}
	}
	if len(ids) == 0 {
		return store.Ref{}, d.wrap(op, fmt.Errorf("no message ids: %w", store.ErrNotFound))
	}
	// Pad the list to a power of two with its last ID (harmless in IN):
	// a handful of statement shapes, each prepared once per connection.
	n := 1
	for n < len(ids) {
		n *= 2
	}
	args := make([]any, 0, 2*n)
	for range 2 {
		for i := range n {
			args = append(args, ids[min(i, len(ids)-1)])
		}
	}
	q := findThreadQuery(n)
	found := make(map[string]store.Ref)
	err := d.r.queryRows(ctx, q, args, func(vals []any) error {
		var (
			mid        string
			c, o       sql.NullInt64
			src, rowID int64
		)
		if err := (values{vals: vals}).Scan(&mid, &c, &o, &src, &rowID); err != nil {
			return err
		}
		if _, ok := found[mid]; !ok {
			found[mid] = store.Ref{CaseID: c.Int64, OrderID: o.Int64}
		}
		return nil
	})
	if err != nil {
		return store.Ref{}, d.wrap(op, err)
	}
	for _, id := range ids {
		if ref, ok := found[id]; ok {
			return ref, nil
		}
	}
	return store.Ref{}, d.wrap(op, fmt.Errorf("thread of %d message ids: %w", len(ids), store.ErrNotFound))
}

// Thread lists the messages of ref, oldest first, with the normalised
// content of inbound ones.
func (d *DB) Thread(ctx context.Context, ref store.Ref) ([]store.ThreadMessage, error) {
	const op = "thread"
	var col string
	var key int64
	switch {
	case !validRef(ref):
		return nil, d.wrap(op, invalid(fmt.Sprintf("ref %+v must name one case or one order", ref)))
	case ref.CaseID != 0:
		col, key = "t.case_id", ref.CaseID
	default:
		col, key = "t.order_id", ref.OrderID
	}
	rows, err := d.r.query(ctx, fmt.Sprintf(qThread, col), key)
	if err != nil {
		return nil, d.wrap(op, err)
	}
	defer rows.Close()
	var out []store.ThreadMessage
	for rows.Next() {
		var (
			m         store.ThreadMessage
			c, o, inb sql.NullInt64
			dir       string
			created   int64
			body      sql.NullString
		)
		if err := rows.Scan(&m.ID, &c, &o, &inb, &dir, &m.MessageID, &m.From, &m.Subject, &m.Flag, &created, &body); err != nil {
			return nil, d.wrap(op, err)
		}
		m.Ref = store.Ref{CaseID: c.Int64, OrderID: o.Int64}
		m.InboundID, m.Direction, m.CreatedAt = inb.Int64, store.Direction(dir), fromTS(created)
		if body.Valid {
			m.Message = new(message.Message)
			if err := json.Unmarshal([]byte(body.String), m.Message); err != nil {
				return nil, d.wrap(op, fmt.Errorf("decode message of inbound %d: %w", m.InboundID, err))
			}
		}
		out = append(out, m)
	}
	return out, d.wrap(op, rows.Err())
}
