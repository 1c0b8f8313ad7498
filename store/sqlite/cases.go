package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// Case and order numbers are derived from their ids.
const (
	casePrefix  = "C-"
	orderPrefix = "O-"
)

// CaseNumber formats a case id as its number, "C-000123".
func CaseNumber(id int64) string { return fmt.Sprintf("C-%06d", id) }

// OrderNumber formats an order id as its number, "O-000123".
func OrderNumber(id int64) string { return fmt.Sprintf("O-%06d", id) }

// parseNumber returns the id in a number such as "C-000123" (prefix matched
// without regard to case).
func parseNumber(prefix, number string) (int64, bool) {
	number = strings.TrimSpace(number)
	if len(number) <= len(prefix) || !strings.EqualFold(number[:len(prefix)], prefix) {
		return 0, false
	}
	digits := number[len(prefix):]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	return id, err == nil && id > 0
}

const (
	caseCols  = `id, kind, category, priority, status, queue, channel, customer, subject, inbound_id, created_at, updated_at`
	orderCols = `id, status, priority, queue, channel, customer, subject, inbound_id, created_at, updated_at`

	qCaseByID  = `SELECT ` + caseCols + ` FROM cases WHERE id = ?`
	qOrderByID = `SELECT ` + orderCols + ` FROM orders WHERE id = ?`
	// qRegisterState is what RegisterCase and RegisterOrder decide on: the
	// inbound row's status and links, and the case or order it opened.
	qRegisterState = `SELECT i.status, i.case_id, i.order_id, c.id, o.id FROM inbound i
		LEFT JOIN cases c ON c.inbound_id = i.id LEFT JOIN orders o ON o.inbound_id = i.id
		WHERE i.id = ?`
	// qNewCase opens the case of an inbound row that is in no thread yet
	// and opened none; nothing for any other (or a missing) row.
	// The case (order) reserved for the row, else the next id past
	// every case (order) and every reservation.
	qNewCase = `INSERT INTO cases (id, kind, category, priority, status, queue, channel, customer, subject, inbound_id,
			created_at, updated_at)
		SELECT CASE WHEN reserved_kind = 'case' THEN reserved_id ELSE ` + nextCaseID + ` END,
			?, ?, ?, ?, ?, ?, ?, ?, id, ?, ? FROM inbound
		WHERE id = ? AND case_id IS NULL AND order_id IS NULL
		ON CONFLICT (inbound_id) DO NOTHING`
	qNewOrder = `INSERT INTO orders (id, status, priority, queue, channel, customer, subject, inbound_id, created_at, updated_at)
		SELECT CASE WHEN reserved_kind = 'order' THEN reserved_id ELSE ` + nextOrderID + ` END,
			?, ?, ?, ?, ?, ?, id, ?, ? FROM inbound
		WHERE id = ? AND case_id IS NULL AND order_id IS NULL
		ON CONFLICT (inbound_id) DO NOTHING`
	// nextCaseID and nextOrderID are the next free id, past reservations
	// (both maxima are index look-ups).
	nextCaseID = `max((SELECT coalesce(max(id), 0) FROM cases),
			(SELECT coalesce(max(reserved_id), 0) FROM inbound WHERE reserved_kind = 'case' AND reserved_id IS NOT NULL)) + 1`
	nextOrderID = `max((SELECT coalesce(max(id), 0) FROM orders),
			(SELECT coalesce(max(reserved_id), 0) FROM inbound WHERE reserved_kind = 'order' AND reserved_id IS NOT NULL)) + 1`
	qCaseStatus    = `SELECT status FROM cases WHERE id = ?`
	qOrderStatus   = `SELECT status FROM orders WHERE id = ?`
	qSetCaseStatus = `UPDATE cases SET status = ?, updated_at = ? WHERE id = ?`
	qTouchCase     = `UPDATE cases SET updated_at = ? WHERE id = ?`
	qTouchOrder    = `UPDATE orders SET updated_at = ? WHERE id = ?`
)

// registerState is the result of qRegisterState.
type registerState struct {
	caseID, orderID   int64 // the row's links (opened or joined)
	opened, openedOrd int64 // the case or order this row opened
}

func (t *tx) registerState(id int64) (registerState, error) {
	var (
		st                      string
		c, o, opened, openedOrd sql.NullInt64
	)
	err := t.queryRow(qRegisterState, id).Scan(&st, &c, &o, &opened, &openedOrd)
	if errors.Is(err, sql.ErrNoRows) {
		return registerState{}, fmt.Errorf("inbound %d: %w", id, store.ErrNotFound)
	}
	return registerState{caseID: c.Int64, orderID: o.Int64, opened: opened.Int64, openedOrd: openedOrd.Int64}, err
}

func scanCase(s scanner) (*store.Case, error) {
	var (
		c                     store.Case
		prio, status, channel string
		created, updated      int64
	)
	if err := s.Scan(&c.ID, &c.Kind, &c.Category, &prio, &status, &c.Queue, &channel, &c.Customer, &c.Subject,
		&c.InboundID, &created, &updated); err != nil {
		return nil, err
	}
	c.Number = CaseNumber(c.ID)
	c.Priority, c.Status, c.Channel = store.Priority(prio), store.CaseStatus(status), message.Channel(channel)
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	return &c, nil
}

func scanOrder(s scanner) (*store.Order, error) {
	var (
		o                     store.Order
		prio, status, channel string
		created, updated      int64
	)
	if err := s.Scan(&o.ID, &status, &prio, &o.Queue, &channel, &o.Customer, &o.Subject,
		&o.InboundID, &created, &updated); err != nil {
		return nil, err
	}
	o.Number = OrderNumber(o.ID)
	o.Priority, o.Status, o.Channel = store.Priority(prio), store.OrderStatus(status), message.Channel(channel)
	o.CreatedAt, o.UpdatedAt = fromTS(created), fromTS(updated)
	return &o, nil
}

func validPriority(p store.Priority) bool {
	switch p {
	case store.PriorityUrgent, store.PriorityHigh, store.PriorityNormal, store.PriorityLow:
		return true
	}
	return false
}

// priorityOr returns p, or normal when p is empty; ok is false for an
// unknown priority.
func priorityOr(p store.Priority) (store.Priority, bool) {
	if p == "" {
		return store.PriorityNormal, true
	}
	return p, validPriority(p)
}

// RegisterCase creates the case opened by nc.InboundID, or returns the case
// it already opened (or joined); the inbound message joins the case's thread
// and its row moves to registered, all in one transaction, with a
// "case.created" event. An inbound already registered as an order is
// ErrConflict.
func (d *DB) RegisterCase(ctx context.Context, nc store.NewCase) (c *store.Case, created bool, err error) {
	const op = "register case"
	prio, ok := priorityOr(nc.Priority)
	if nc.InboundID == 0 || !ok {
		return nil, false, d.wrap(op, invalid("case needs an inbound id and a known priority"))
	}
	customer := addrKey(nc.Customer)
	err = d.write(ctx, op, func(t *tx) error {
		c, created = nil, false
		// The common case first: a row that is in no thread yet opens its
		// case. The insert adds nothing for a missing row, a row already
		// registered, or one whose case exists.
		id, ok, err := t.insert(qNewCase, nc.Kind, nc.Category, string(prio), string(store.CaseOpen), nc.Queue,
			string(nc.Channel), customer, nc.Subject, ts(t.now), ts(t.now), nc.InboundID)
		if err != nil {
			return err
		}
		if ok {
			at := fromTS(ts(t.now))
			c = &store.Case{ID: id, Number: CaseNumber(id), Kind: nc.Kind, Category: nc.Category, Priority: prio,
				Status: store.CaseOpen, Queue: nc.Queue, Channel: nc.Channel, Customer: customer, Subject: nc.Subject,
				InboundID: nc.InboundID, CreatedAt: at, UpdatedAt: at}
			ref := store.Ref{CaseID: id}
			if _, err := t.register(nc.InboundID, ref, ""); err != nil {
				return err
			}
			created = true
			return t.event(store.Event{Kind: "case.created", Ref: ref, InboundID: nc.InboundID, Detail: c.Number})
		}
		rs, err := t.registerState(nc.InboundID)
		if err != nil {
			return err
		}
		switch {
		case rs.opened != 0:
			// A re-run: make sure the rest of the first run stands.
			if _, err := t.register(nc.InboundID, store.Ref{CaseID: rs.opened}, ""); err != nil {
				return err
			}
			c, err = scanCase(t.queryRow(qCaseByID, rs.opened))
			return err
		case rs.orderID != 0:
			return fmt.Errorf("inbound %d is registered as order %s: %w", nc.InboundID, OrderNumber(rs.orderID), store.ErrConflict)
		case rs.caseID != 0:
			// It joined an existing case earlier: that is its case.
			c, err = scanCase(t.queryRow(qCaseByID, rs.caseID))
			return err
		}
		return fmt.Errorf("inbound %d: no case made and none found", nc.InboundID)
	})
	if err != nil {
		return nil, false, err
	}
	return c, created, nil
}

// RegisterOrder is RegisterCase for orders, with an "order.created" event.
func (d *DB) RegisterOrder(ctx context.Context, no store.NewOrder) (o *store.Order, created bool, err error) {
	const op = "register order"
	prio, ok := priorityOr(no.Priority)
	if no.InboundID == 0 || !ok {
		return nil, false, d.wrap(op, invalid("order needs an inbound id and a known priority"))
	}
	customer := addrKey(no.Customer)
	err = d.write(ctx, op, func(t *tx) error {
		o, created = nil, false
		id, ok, err := t.insert(qNewOrder, string(store.OrderReceived), string(prio), no.Queue, string(no.Channel),
			customer, no.Subject, ts(t.now), ts(t.now), no.InboundID)
		if err != nil {
			return err
		}
		if ok {
			at := fromTS(ts(t.now))
			o = &store.Order{ID: id, Number: OrderNumber(id), Status: store.OrderReceived, Priority: prio,
				Queue: no.Queue, Channel: no.Channel, Customer: customer, Subject: no.Subject, InboundID: no.InboundID,
				CreatedAt: at, UpdatedAt: at}
			ref := store.Ref{OrderID: id}
			if _, err := t.register(no.InboundID, ref, ""); err != nil {
				return err
			}
			created = true
			return t.event(store.Event{Kind: "order.created", Ref: ref, InboundID: no.InboundID, Detail: o.Number})
		}
		rs, err := t.registerState(no.InboundID)
		if err != nil {
			return err
		}
		switch {
		case rs.openedOrd != 0:
			if _, err := t.register(no.InboundID, store.Ref{OrderID: rs.openedOrd}, ""); err != nil {
				return err
			}
			o, err = scanOrder(t.queryRow(qOrderByID, rs.openedOrd))
			return err
		case rs.caseID != 0:
			return fmt.Errorf("inbound %d is registered as case %s: %w", no.InboundID, CaseNumber(rs.caseID), store.ErrConflict)
		case rs.orderID != 0:
			o, err = scanOrder(t.queryRow(qOrderByID, rs.orderID))
			return err
		}
		return fmt.Errorf("inbound %d: no order made and none found", no.InboundID)
	})
	if err != nil {
		return nil, false, err
	}
	return o, created, nil
}

// Case loads a case.
func (d *DB) Case(ctx context.Context, id int64) (*store.Case, error) {
	c, err := scanCase(d.r.queryRow(ctx, qCaseByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("case %d: %w", id, store.ErrNotFound)
	}
	return c, d.wrap("case", err)
}

// CaseByNumber loads a case by its number ("C-000123"; the prefix is
// matched without regard to case).
func (d *DB) CaseByNumber(ctx context.Context, number string) (*store.Case, error) {
	id, ok := parseNumber(casePrefix, number)
	if !ok {
		return nil, d.wrap("case by number", fmt.Errorf("case %q: %w", number, store.ErrNotFound))
	}
	return d.Case(ctx, id)
}

// Order loads an order.
func (d *DB) Order(ctx context.Context, id int64) (*store.Order, error) {
	o, err := scanOrder(d.r.queryRow(ctx, qOrderByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("order %d: %w", id, store.ErrNotFound)
	}
	return o, d.wrap("order", err)
}

// OrderByNumber loads an order by its number ("O-000123").
func (d *DB) OrderByNumber(ctx context.Context, number string) (*store.Order, error) {
	id, ok := parseNumber(orderPrefix, number)
	if !ok {
		return nil, d.wrap("order by number", fmt.Errorf("order %q: %w", number, store.ErrNotFound))
	}
	return d.Order(ctx, id)
}

func validCaseStatus(s store.CaseStatus) bool {
	switch s {
	case store.CaseOpen, store.CaseWaitingCustomer, store.CaseResolved, store.CaseClosed:
		return true
	}
	return false
}

// SetCaseStatus changes a case's status, with a "case.status" event
// ("open -> resolved") when it changes.
func (d *DB) SetCaseStatus(ctx context.Context, id int64, s store.CaseStatus) error {
	const op = "set case status"
	if !validCaseStatus(s) {
		return d.wrap(op, invalid(fmt.Sprintf("unknown case status %q", s)))
	}
	return d.write(ctx, op, func(t *tx) error {
		var cur string
		err := t.queryRow(qCaseStatus, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("case %d: %w", id, store.ErrNotFound)
		}
		if err != nil || cur == string(s) {
			return err
		}
		return t.setCaseStatus(id, store.CaseStatus(cur), s)
	})
}

func (t *tx) setCaseStatus(id int64, from, to store.CaseStatus) error {
	if _, err := t.exec(qSetCaseStatus, string(to), ts(t.now), id); err != nil {
		return err
	}
	return t.event(store.Event{Kind: "case.status", Ref: store.Ref{CaseID: id}, Detail: string(from) + " -> " + string(to)})
}
