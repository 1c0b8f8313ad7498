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
	if m == nil {
		return d.wrap(op, invalid("nil message"))
	}
	body, err := json.Marshal(m)
	if err != nil {
		return d.wrap(op, fmt.Errorf("encode message: %w", err))
	}
	return d.write(ctx, op, func(t *tx) error {
		if err := t.execOne(fmt.Sprintf("inbound %d", id), qAdvance, ts(t.now), string(store.StatusAccepted),
			string(store.StatusNormalised), id); err != nil {
			return err
		}
		mid, from := cleanMessageID(m.MessageID), addrKey(m.From.Addr)
		if _, err := t.exec(qSaveNormalised, id, mid, from, m.Subject, string(body), ts(t.now)); err != nil {
			return err
		}
		// Keep a thread row made before (re-)normalisation searchable.
		_, err := t.exec(qThreadRenormalised, mid, from, m.Subject, id)
		return err
	})
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
		if err := t.execOne(fmt.Sprintf("inbound %d", id), qAdvance, ts(t.now), string(store.StatusNormalised),
			string(store.StatusClassified), id); err != nil {
			return err
		}
		_, err := t.exec(qSaveClassification, id, string(c.Intent), c.Category, string(c.Priority),
			c.Queue, c.Rule, ts(t.now))
		return err
	})
}

// Classification loads what SaveClassification stored.
func (d *DB) Classification(ctx context.Context, id int64) (store.Classification, error) {
	var c store.Classification
	var intent, prio string
	err := d.r.queryRow(ctx, qClassification, id).Scan(&intent, &c.Category, &prio, &c.Queue, &c.Rule)
	if errors.Is(err, sql.ErrNoRows) {
		return c, d.wrap("classification", fmt.Errorf("classification of inbound %d: %w", id, store.ErrNotFound))
	}
	if err != nil {
		return c, d.wrap("classification", err)
	}
	c.Intent, c.Priority = message.Intent(intent), store.Priority(prio)
	return c, nil
}
