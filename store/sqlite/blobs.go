package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

// Small blobs kept in the database (the blobs table), for store/blob's
// tiered store: a row costs a share of a group commit where a durable file
// costs about a millisecond of kernel time. The database stores what it is
// given under the hash it is given; the blob store computes the hash and
// verifies content on every read.

const (
	// qPutBlob inserts a blob; a present copy is kept unless its size is
	// wrong (damaged), as the file store replaces a truncated file.
	qPutBlob = `INSERT INTO blobs (hash, size, data) VALUES (?, ?, ?)
		ON CONFLICT (hash) DO UPDATE SET size = excluded.size, data = excluded.data
		WHERE blobs.size <> excluded.size OR length(blobs.data) <> excluded.size`
	qGetBlob = `SELECT size, data FROM blobs WHERE hash = ?`
	// qQuarantineBlob copies a blob into quarantine (replacing an older
	// quarantined copy), qDropBlob then removes it from reach.
	qQuarantineBlob = `INSERT INTO blob_quarantine (hash, size, data, reason, quarantined_at)
		SELECT hash, size, data, ?, ? FROM blobs WHERE hash = ?
		ON CONFLICT (hash) DO UPDATE SET size = excluded.size, data = excluded.data,
			reason = excluded.reason, quarantined_at = excluded.quarantined_at`
	qDropBlob          = `DELETE FROM blobs WHERE hash = ?`
	qQuarantinedReason = `SELECT reason, quarantined_at FROM blob_quarantine WHERE hash = ?`
)

// maxBlob is the largest blob the database takes (SQLite's default
// SQLITE_MAX_LENGTH is 1e9; large blobs belong in files anyway).
const maxBlob = 256 << 20

// PutBlob stores data under hash (the caller's sha256 of it). Storing a
// present blob again changes nothing. It is committed when PutBlob returns
// but not fsynced: the next durable write (AcceptInbound, which the
// accept step makes right after) fsyncs the WAL, and the WAL is replayed
// as a prefix, so the blob is durable when that write returns. This saves
// the accept step one fsync per group commit.
func (d *DB) PutBlob(ctx context.Context, hash string, data []byte) error {
	const op = "put blob"
	if hash == "" {
		return d.wrap(op, invalid("blob needs a hash"))
	}
	if len(data) > maxBlob {
		return d.wrap(op, invalid(fmt.Sprintf("blob of %d bytes is over the database's limit of %d", len(data), maxBlob)))
	}
	return d.write(ctx, op, func(t *tx) error {
		_, err := t.exec(qPutBlob, hash, int64(len(data)), data)
		return err
	})
}

// GetBlob returns the content stored under hash as it is (the caller
// verifies it); store.ErrNotFound when there is none (never stored, or
// quarantined).
func (d *DB) GetBlob(ctx context.Context, hash string) ([]byte, error) {
	var (
		size int64
		data []byte
	)
	err := d.r.queryRow(ctx, qGetBlob, hash).Scan(&size, &data)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("blob %s: %w", hash, store.ErrNotFound)
	}
	if err != nil {
		return nil, d.wrap("get blob", err)
	}
	return data, nil
}

// QuarantineBlob moves the blob out of reach of GetBlob into
// blob_quarantine, with reason and the time, keeping its content for
// inspection. Quarantining a blob that is only in quarantine is a no-op;
// one that is nowhere is store.ErrNotFound. It is durable when it returns.
func (d *DB) QuarantineBlob(ctx context.Context, hash, reason string) error {
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" {
		reason = "unspecified"
	}
	return d.writeDurable(ctx, "quarantine blob", func(t *tx) error {
		res, err := t.exec(qQuarantineBlob, reason, ts(t.now), hash)
		if err != nil {
			return err
		}
		if res.changes > 0 {
			_, err = t.exec(qDropBlob, hash)
			return err
		}
		var at int64
		err = t.queryRow(qQuarantinedReason, hash).Scan(&reason, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("blob %s: %w", hash, store.ErrNotFound)
		}
		return err
	})
}

// BlobQuarantineReason returns why and when the blob was quarantined;
// store.ErrNotFound when it is not in quarantine.
func (d *DB) BlobQuarantineReason(ctx context.Context, hash string) (reason string, at time.Time, err error) {
	var n int64
	err = d.r.queryRow(ctx, qQuarantinedReason, hash).Scan(&reason, &n)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("blob %s: %w", hash, store.ErrNotFound)
	}
	if err != nil {
		return "", time.Time{}, d.wrap("blob quarantine reason", err)
	}
	return reason, fromTS(n), nil
}
