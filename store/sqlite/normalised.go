package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// SaveNormalised stores m for inbound id, replacing an earlier one, with its
// Message-ID, sender and subject in searchable columns, and moves an
// accepted row to normalised.
func (d *DB) SaveNormalised(ctx context.Context, id int64, m *message.Message) error {
	const op = "save normalised"
	nm, err := encodeNormalised(m)
	if err != nil {
		return d.wrap(op, err)
	}
	return d.write(ctx, op, func(t *tx) error {
		return t.saveNormalised(id, nm, qNormalisedEarly, qTouch, ts(t.now), id)
	})
}

// normalisedRow is a message as the normalised table keeps it.
type normalisedRow struct {
	mid, from, subject, body string
}

// encodeNormalised encodes m (outside the writer: the writer's time is the
// scarcest there is).
func encodeNormalised(m *message.Message) (normalisedRow, error) {
	if m == nil {
		return normalisedRow{}, invalid("nil message")
	}
	body, err := json.Marshal(m)
	if err != nil {
		return normalisedRow{}, fmt.Errorf("encode message: %w", err)
	}
	return normalisedRow{mid: cleanMessageID(m.MessageID), from: addrKey(m.From.Addr), subject: m.Subject, body: string(body)}, nil
}

// saveNormalised updates inbound row id with early (for a row that cannot
// be in a thread yet) or, failing that, with late (any row; both take
// args), then stores nm for it: rows that may be in a thread (registered,
// done, failed) have their thread row made searchable by its new content.
// A missing row is ErrNotFound.
func (t *tx) saveNormalised(id int64, nm normalisedRow, early, late string, args ...any) error {
	res, err := t.exec(early, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		if err := t.execOne(fmt.Sprintf("inbound %d", id), late, args...); err != nil {
			return err
		}
		if _, err := t.exec(qThreadRenormalised, nm.mid, nm.from, nm.subject, id); err != nil {
			return err
		}
	}
	_, err = t.exec(qSaveNormalised, id, nm.mid, nm.from, nm.subject, nm.body, ts(t.now))
	return err
}

// Normalised loads what SaveNormalised stored; ErrNotFound when nothing was.
func (d *DB) Normalised(ctx context.Context, id int64) (*message.Message, error) {
	var body string
	err := d.r.queryRow(ctx, qNormalised, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, d.wrap("normalised", fmt.Errorf("normalised message of inbound %d: %w", id, store.ErrNotFound))
	}
	if err != nil {
		return nil, d.wrap("normalised", err)
	}
	var m message.Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return nil, d.wrap("normalised", fmt.Errorf("decode message of inbound %d: %w", id, err))
	}
	return &m, nil
}

// SaveClassification stores c for inbound id and moves a normalised row to
// classified.
func (d *DB) SaveClassification(ctx context.Context, id int64, c store.Classification) error {
	return d.write(ctx, "save classification", func(t *tx) error {
		return t.execOne(fmt.Sprintf("inbound %d", id), qClassified, ts(t.now), string(c.Intent), c.Category,
			string(c.Priority), c.Queue, c.Rule, id)
	})
}

// SaveAnalysis stores the normalised message m, the automation rule that
// matched (unless automatedRule is empty) and the classification c of
// inbound id in one write, and moves an accepted or normalised row to
// classified.
func (d *DB) SaveAnalysis(ctx context.Context, id int64, m *message.Message, c store.Classification, automatedRule string) error {
	const op = "save analysis"
	nm, err := encodeNormalised(m)
	if err != nil {
		return d.wrap(op, err)
	}
	return d.write(ctx, op, func(t *tx) error {
		return t.saveNormalised(id, nm, qAnalysedEarly, qAnalysed, ts(t.now), automatedRule, automatedRule,
			string(c.Intent), c.Category, string(c.Priority), c.Queue, c.Rule, id)
	})
}

// Classification loads what SaveClassification stored.
func (d *DB) Classification(ctx context.Context, id int64) (store.Classification, error) {
	var (
		c                                   store.Classification
		intent, category, prio, queue, rule sql.NullString
	)
	err := d.r.queryRow(ctx, qClassification, id).Scan(&intent, &category, &prio, &queue, &rule)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !intent.Valid) {
		return c, d.wrap("classification", fmt.Errorf("classification of inbound %d: %w", id, store.ErrNotFound))
	}
	if err != nil {
		return c, d.wrap("classification", err)
	}
	c.Intent, c.Category, c.Priority = message.Intent(intent.String), category.String, store.Priority(prio.String)
	c.Queue, c.Rule = queue.String, rule.String
	return c, nil
}
