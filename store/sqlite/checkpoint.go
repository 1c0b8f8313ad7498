package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/frontdesk/frontdesk/store"
)

const qSaveCheckpoint = `INSERT INTO checkpoints (source, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?)
	ON CONFLICT (source) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,
		updated_at = excluded.updated_at`

// Checkpoint loads the checkpoint of source; zero values when there is none.
func (d *DB) Checkpoint(ctx context.Context, source string) (store.Checkpoint, error) {
	cp := store.Checkpoint{Source: source}
	var validity, last int64
	err := d.r.queryRow(ctx, `SELECT uidvalidity, last_uid FROM checkpoints WHERE source = ?`, source).Scan(&validity, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return cp, nil
	}
	if err != nil {
		return cp, d.wrap("checkpoint", err)
	}
	cp.UIDValidity, cp.LastUID = uint32(validity), uint32(last)
	return cp, nil
}

// SaveCheckpoint stores cp, replacing the earlier one for cp.Source.
func (d *DB) SaveCheckpoint(ctx context.Context, cp store.Checkpoint) error {
	if cp.Source == "" {
		return d.wrap("save checkpoint", invalid("checkpoint without source"))
	}
	return d.write(ctx, "save checkpoint", func(t *tx) error {
		_, err := t.exec(qSaveCheckpoint, cp.Source, int64(cp.UIDValidity), int64(cp.LastUID), ts(t.now))
		return err
	})
}
