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
	workCols = `id, queue, case_id, order_id, inbound_id, priority, due_at, state, reason, lease_owner,
		lease_expires, created_at, completed_at`

	qWorkByID      = `SELECT ` + workCols + ` FROM work_items WHERE id = ?`
	qWorkByInbound = `SELECT ` + workCols + ` FROM work_items WHERE inbound_id = ?`
	qWorkLiveCase  = `SELECT ` + workCols + ` FROM work_items WHERE case_id = ? AND state <> 'done'`
	qWorkLiveOrder = `SELECT ` + workCols + ` FROM work_items WHERE order_id = ? AND state <> 'done'`
	// qNewWork adds an item unless one stands for its inbound message or
	// (live) for its case or order.
	qNewWork = `INSERT INTO work_items (queue, case_id, order_id, inbound_id, priority, prank, due_at,
			state, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	// qClaimNext picks the best claimable item: highest priority, earliest
	// due, oldest; the work_claim index serves it in that order.
	qClaimNext = `SELECT ` + workCols + ` FROM work_items
		WHERE queue = ? AND state <> 'done' AND (state = 'open' OR lease_expires <= ?)
		ORDER BY prank, due_at, created_at, id LIMIT 1`
	qLease  = `UPDATE work_items SET state = 'claimed', lease_owner = ?, lease_expires = ? WHERE id = ?`
	qQueues = `SELECT queue,
			sum(state = 'open' OR lease_expires <= ?),
			sum(state = 'claimed' AND lease_expires > ?),
			min(CASE WHEN state = 'open' OR lease_expires <= ? THEN created_at END)
		FROM work_items WHERE state <> 'done' GROUP BY queue ORDER BY queue`
)

func scanWork(s scanner) (*store.WorkItem, error) {
	var (
		w                     store.WorkItem
		c, o, inb, completed  sql.NullInt64
		prio, state           string
		due, expires, created int64
	)
	if err := s.Scan(&w.ID, &w.Queue, &c, &o, &inb, &prio, &due, &state, &w.Reason, &w.LeaseOwner,
		&expires, &created, &completed); err != nil {
		return nil, err
	}
	w.Ref = store.Ref{CaseID: c.Int64, OrderID: o.Int64}
	w.InboundID = inb.Int64
	w.Priority, w.State = store.Priority(prio), store.WorkState(state)
	w.DueAt = fromDue(due)
	if expires != 0 {
		w.LeaseExpires = fromTS(expires)
	}
	w.CreatedAt, w.CompletedAt = fromTS(created), fromNullTS(completed)
	return &w, nil
}

func scanWorks(rows *sql.Rows) ([]store.WorkItem, error) {
	defer rows.Close()
	var out []store.WorkItem
	for rows.Next() {
		w, err := scanWork(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
	}
	return out, rows.Err()
}

// EnsureWorkItem creates a work item keyed by w.InboundID, unless one exists
// for that inbound or (when w.Ref is set) an open or claimed item exists for
// w.Ref; w is set to the item that stands. New items are open, with a
// "work.created" event; a zero CreatedAt means now, an empty Priority
// normal.
func (d *DB) EnsureWorkItem(ctx context.Context, w *store.WorkItem) (created bool, err error) {
	const op = "ensure work item"
	in, err := checkWork(w)
	if err != nil {
		return false, d.wrap(op, err)
	}
	var got *store.WorkItem
	err = d.write(ctx, op, func(t *tx) error {
		var err error
		got, created, err = t.ensureWork(in)
		return err
	})
	if err != nil {
		return false, err
	}
	*w = *got
	return created, nil
}

// RouteInbound is EnsureWorkItem(w) and SetRouteDone(w.InboundID) in one
// write.
func (d *DB) RouteInbound(ctx context.Context, w *store.WorkItem) (created bool, err error) {
	const op = "route inbound"
	if w != nil && w.InboundID == 0 {
		return false, d.wrap(op, invalid("routing needs the inbound id"))
	}
	in, err := checkWork(w)
	if err != nil {
		return false, d.wrap(op, err)
	}
	var got *store.WorkItem
	err = d.write(ctx, op, func(t *tx) error {
		var err error
		if got, created, err = t.ensureWork(in); err != nil {
			return err
		}
		return t.execOne(fmt.Sprintf("inbound %d", in.InboundID), qSetRouteDone, ts(t.now), in.InboundID)
	})
	if err != nil {
		return false, err
	}
	*w = *got
	return created, nil
}

// checkWork validates w and returns a copy with its defaults.
func checkWork(w *store.WorkItem) (store.WorkItem, error) {
	if w == nil || w.Queue == "" || (w.InboundID == 0 && w.Ref.IsZero()) || (w.Ref.CaseID != 0 && w.Ref.OrderID != 0) {
		return store.WorkItem{}, invalid("work item needs a queue and an inbound id or one case or order")
	}
	prio, ok := priorityOr(w.Priority)
	if !ok {
		return store.WorkItem{}, invalid(fmt.Sprintf("unknown priority %q", w.Priority))
	}
	in := *w
	in.Priority = prio
	return in, nil
}

// ensureWork makes the item w unless one stands (see EnsureWorkItem) and
// returns the item that stands.
func (t *tx) ensureWork(w store.WorkItem) (*store.WorkItem, bool, error) {
	if w.CreatedAt.IsZero() {
		w.CreatedAt = t.now
	}
	// The unique indexes on inbound_id and on the live item of a case or
	// order turn the insert into nothing when an item stands. A missing
	// inbound row, case or order fails the foreign keys (ErrNotFound).
	id, ok, err := t.insert(qNewWork, w.Queue, nullID(w.Ref.CaseID), nullID(w.Ref.OrderID), nullID(w.InboundID),
		string(w.Priority), w.Priority.Rank(), dueTS(w.DueAt), string(store.WorkOpen), w.Reason, ts(w.CreatedAt))
	if err != nil {
		return nil, false, err
	}
	if ok {
		w.ID, w.State, w.DueAt, w.CreatedAt = id, store.WorkOpen, normTS(w.DueAt), fromTS(ts(w.CreatedAt))
		w.LeaseOwner, w.LeaseExpires, w.CompletedAt = "", time.Time{}, time.Time{}
		if err := t.event(store.Event{Kind: "work.created", Ref: w.Ref, InboundID: w.InboundID, Detail: w.Queue}); err != nil {
			return nil, false, err
		}
		return &w, true, nil
	}
	var lookups [][2]any
	if w.InboundID != 0 {
		lookups = append(lookups, [2]any{qWorkByInbound, w.InboundID})
	}
	if w.Ref.CaseID != 0 {
		lookups = append(lookups, [2]any{qWorkLiveCase, w.Ref.CaseID})
	}
	if w.Ref.OrderID != 0 {
		lookups = append(lookups, [2]any{qWorkLiveOrder, w.Ref.OrderID})
	}
	for _, l := range lookups {
		got, err := scanWork(t.queryRow(l[0].(string), l[1].(int64)))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		return got, false, err
	}
	return nil, false, fmt.Errorf("work item for inbound %d, %+v: not made and none stands", w.InboundID, w.Ref)
}

// Queues lists every queue with open or claimed items, with its depth at
// now (claimable: open or lease expired; claimed: lease live) and the age of
// its oldest claimable item.
func (d *DB) Queues(ctx context.Context, now time.Time) ([]store.QueueStats, error) {
	n := ts(now)
	rows, err := d.r.query(ctx, qQueues, n, n, n)
	if err != nil {
		return nil, d.wrap("queues", err)
	}
	defer rows.Close()
	var out []store.QueueStats
	for rows.Next() {
		var (
			q      store.QueueStats
			oldest sql.NullInt64
		)
		if err := rows.Scan(&q.Queue, &q.Open, &q.Claimed, &oldest); err != nil {
			return nil, d.wrap("queues", err)
		}
		if oldest.Valid && oldest.Int64 < n {
			q.OldestAge = time.Duration(n - oldest.Int64)
		}
		out = append(out, q)
	}
	return out, d.wrap("queues", rows.Err())
}

// Claim leases the next item of queue to owner until now+lease: highest
// priority first, then earliest due (items without one last), then oldest;
// open items and items whose lease expired are claimable. One transaction
// picks and leases, so two claims never get the same item. ErrNotFound when
// nothing is claimable. A "work.claimed" event names the owner.
func (d *DB) Claim(ctx context.Context, queue, owner string, now time.Time, lease time.Duration) (*store.WorkItem, error) {
	const op = "claim"
	if queue == "" || owner == "" || lease <= 0 {
		return nil, d.wrap(op, invalid("claim needs a queue, an owner and a positive lease"))
	}
	var w *store.WorkItem
	err := d.write(ctx, op, func(t *tx) error {
		var err error
		w, err = scanWork(t.queryRow(qClaimNext, queue, ts(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("queue %q: %w", queue, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		expires := now.Add(lease)
		if _, err := t.exec(qLease, owner, ts(expires), w.ID); err != nil {
			return err
		}
		detail := ""
		if w.State == store.WorkClaimed {
			detail = "lease of " + w.LeaseOwner + " expired"
		}
		w.State, w.LeaseOwner, w.LeaseExpires = store.WorkClaimed, owner, fromTS(ts(expires))
		return t.event(store.Event{At: now, Actor: owner, Kind: "work.claimed", Ref: w.Ref, InboundID: w.InboundID, Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// held loads item id inside t and checks that owner holds a live lease on
// it at now: ErrNotFound, or ErrConflict when it does not.
func (t *tx) held(id int64, owner string, now time.Time) (*store.WorkItem, error) {
	w, err := scanWork(t.queryRow(qWorkByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("work item %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if w.State != store.WorkClaimed || w.LeaseOwner != owner || !w.LeaseExpires.After(now) {
		return nil, fmt.Errorf("work item %d is not leased to %q at %s: %w", id, owner, now.UTC().Format(time.RFC3339), store.ErrConflict)
	}
	return w, nil
}

// Renew extends owner's live lease on item id to now+lease.
func (d *DB) Renew(ctx context.Context, id int64, owner string, now time.Time, lease time.Duration) (*store.WorkItem, error) {
	const op = "renew"
	if lease <= 0 {
		return nil, d.wrap(op, invalid("renew needs a positive lease"))
	}
	var w *store.WorkItem
	err := d.write(ctx, op, func(t *tx) error {
		var err error
		if w, err = t.held(id, owner, now); err != nil {
			return err
		}
		expires := now.Add(lease)
		if _, err := t.exec(`UPDATE work_items SET lease_expires = ? WHERE id = ?`, ts(expires), id); err != nil {
			return err
		}
		w.LeaseExpires = fromTS(ts(expires))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Release gives item id back to its queue ("work.released").
func (d *DB) Release(ctx context.Context, id int64, owner string, now time.Time) error {
	return d.write(ctx, "release", func(t *tx) error {
		w, err := t.held(id, owner, now)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE work_items SET state = 'open', lease_owner = '', lease_expires = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		return t.event(store.Event{At: now, Actor: owner, Kind: "work.released", Ref: w.Ref, InboundID: w.InboundID})
	})
}

// Complete marks item id done ("work.completed"); LeaseOwner keeps who
// completed it.
func (d *DB) Complete(ctx context.Context, id int64, owner string, now time.Time) error {
	return d.write(ctx, "complete", func(t *tx) error {
		w, err := t.held(id, owner, now)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE work_items SET state = 'done', lease_expires = 0, completed_at = ? WHERE id = ?`, ts(now), id); err != nil {
			return err
		}
		return t.event(store.Event{At: now, Actor: owner, Kind: "work.completed", Ref: w.Ref, InboundID: w.InboundID})
	})
}

// WorkItem loads one work item.
func (d *DB) WorkItem(ctx context.Context, id int64) (*store.WorkItem, error) {
	w, err := scanWork(d.r.queryRow(ctx, qWorkByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("work item %d: %w", id, store.ErrNotFound)
	}
	return w, d.wrap("work item", err)
}

// WorkItems lists the items of queue ("" for every queue) in state (""
// for open and claimed ones). Live items come in claim order, done ones
// most recently completed first. limit <= 0 means 100.
func (d *DB) WorkItems(ctx context.Context, queue string, state store.WorkState, limit int) ([]store.WorkItem, error) {
	const op = "work items"
	var cond, order string
	switch state {
	case "":
		cond, order = `state <> 'done'`, `prank, due_at, created_at, id`
	case store.WorkOpen, store.WorkClaimed:
		cond, order = `state <> 'done' AND state = ?`, `prank, due_at, created_at, id`
	case store.WorkDone:
		cond, order = `state = 'done' AND state = ?`, `completed_at DESC, id DESC`
	default:
		return nil, d.wrap(op, invalid(fmt.Sprintf("unknown work state %q", state)))
	}
	var args []any
	if state != "" {
		args = append(args, string(state))
	}
	if queue != "" {
		cond += ` AND queue = ?`
		args = append(args, queue)
	}
	args = append(args, defLimit(limit))
	rows, err := d.r.query(ctx, `SELECT `+workCols+` FROM work_items WHERE `+cond+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, d.wrap(op, err)
	}
	out, err := scanWorks(rows)
	return out, d.wrap(op, err)
}
