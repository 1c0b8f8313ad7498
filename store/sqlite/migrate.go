package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles are the schema versions, migrations/NNNN_name.sql, applied
// in order. A released file is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads NNNN_name.sql files from fsys (under migrations/),
// sorted, and checks that their versions run 1, 2, 3... without a gap.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlite: migrations: %w", err)
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, rest, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlite: migration file %q is not named NNNN_name.sql", base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("sqlite: migrations: %w", err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(rest, ".sql"), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlite: migrations: expected version %d, found %d (%s)", i+1, m.version, m.name)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("sqlite: no migrations")
	}
	return ms, nil
}

const qCreateMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
) STRICT`

// migrate brings the database to the last of ms, each migration in its own
// BEGIN IMMEDIATE transaction together with its schema_migrations row, so a
// failed migration leaves the previous version intact and two processes
// opening the same file apply each migration once. It refuses a database
// whose version is beyond ms (ErrSchemaTooNew).
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger, ms []migration, now func() time.Time) error {
	if _, err := db.ExecContext(ctx, qCreateMigrations); err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	cur, err := schemaVersion(ctx, db)
	if err != nil {
		return err
	}
	if cur > latest {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d", ErrSchemaTooNew, cur, latest)
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		applied, err := applyMigration(ctx, db, m, now)
		if err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
		if applied {
			log.Info("sqlite: applied migration", slog.Int("version", m.version), slog.String("name", m.name))
		}
	}
	// A newer binary may have migrated further meanwhile.
	if cur, err = schemaVersion(ctx, db); err != nil {
		return err
	}
	if cur > latest {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d", ErrSchemaTooNew, cur, latest)
	}
	return nil
}

func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration, now func() time.Time) (applied bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// Another process may have applied it since we looked.
	cur, err := schemaVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	if cur >= m.version {
		return false, tx.Rollback()
	}
	if cur != m.version-1 {
		return false, fmt.Errorf("database is at version %d, cannot apply %d", cur, m.version)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, ts(now())); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	return true, nil
}

// SchemaVersion returns the database's schema version.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, d.r.db)
	return v, d.wrap("schema version", err)
}
