package sqlite

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// TestMigrationLeanHotPath opens a database of the release before
// migration 3: its classifications move onto their inbound rows, the
// indexes no query reads are gone, and the rest reads as before.
func TestMigrationLeanHotPath(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v2.db")
	old := migrateOnly(t, path, releaseMigrations(t, 2))
	for _, q := range []string{
		`INSERT INTO inbound (id, channel, source, source_key, blob, size, received_at, status, updated_at)
			VALUES (1, 'imap', 'INBOX', 'imap:INBOX:1:1', '` + strings.Repeat("b", 64) + `', 10, 1, 'classified', 1),
			(2, 'imap', 'INBOX', 'imap:INBOX:1:2', '` + strings.Repeat("c", 64) + `', 10, 1, 'normalised', 1)`,
		`INSERT INTO classification (inbound_id, intent, category, priority, queue, rule, saved_at)
			VALUES (1, 'order', 'parts', 'high', 'orders', 'kw:order', 2)`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, path, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := store.Classification{Intent: message.IntentOrder, Category: "parts", Priority: store.PriorityHigh, Queue: "orders", Rule: "kw:order"}
	if c, err := d.Classification(ctx, 1); err != nil || c != want {
		t.Fatalf("Classification after upgrade = %+v, %v; want %+v", c, err, want)
	}
	if _, err := d.Classification(ctx, 2); err == nil {
		t.Fatal("a row never classified has a classification")
	}
	if err := d.SaveClassification(ctx, 2, want); err != nil {
		t.Fatal(err)
	}
	if in, err := d.Inbound(ctx, 2); err != nil || in.Status != store.StatusClassified {
		t.Fatalf("row 2 = %+v, %v", in, err)
	}
	for _, name := range []string{"classification", "inbound_blob", "normalised_message_id", "normalised_from", "cases_customer", "orders_customer"} {
		var n int
		if err := d.r.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = ?`, name).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s still in the schema (%d, %v)", name, n, err)
		}
	}
}

// TestIndexesHaveReaders lists every index the schema declares with the
// statement that needs it, and checks that the statement's plan uses it:
// an index costs every write of its table, so one that nothing reads (or
// that no constraint needs) must not be there.
func TestIndexesHaveReaders(t *testing.T) {
	d := openTemp(t)
	ctx := t.Context()
	workDone := `SELECT ` + workCols + ` FROM work_items WHERE state = 'done' AND state = ? AND queue = ? ORDER BY completed_at DESC, id DESC LIMIT ?`
	readers := map[string]string{
		"inbound_unfinished": qUnfinished,
		"inbound_failed":     qFailed,
		"inbound_reserved":   qNewCase, // the next free id past reservations; and: one row per reservation
		"outbound_rcpt":      qCountSent,
		"outbound_case":      qCountSent,
		"outbound_order":     qCountSent,
		"thread_inbound":     qThreadRefOf, // and the ON CONFLICT of qThreadInbound
		"thread_outbound":    "",           // the ON CONFLICT of qThreadOutbound: one thread row per outbound record
		"thread_case":        fmt.Sprintf(qThread, "t.case_id"),
		"thread_order":       fmt.Sprintf(qThread, "t.order_id"),
		"thread_message_id":  findThreadQuery(2),
		"work_live_case":     qWorkLiveCase, // and: at most one live item per case
		"work_live_order":    qWorkLiveOrder,
		"work_claim":         qClaimNext,
		"work_done":          workDone,
		"events_case":        qEventsOfCase,
		"events_order":       qEventsOfOrder,
		"events_inbound":     qEventsOfInbound,
	}
	rows, err := d.r.db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		declared = append(declared, name)
	}
	rows.Close()
	var listed []string
	for name := range readers {
		listed = append(listed, name)
	}
	slices.Sort(listed)
	if !slices.Equal(declared, listed) {
		t.Fatalf("declared indexes %v; the ones with a known reader are %v", declared, listed)
	}
	for name, q := range readers {
		if q == "" {
			continue
		}
		if plan := explain(t, d, q); !regexp.MustCompile(`INDEX ` + name + `\b`).MatchString(plan) {
			t.Errorf("the plan of the reader of %s does not use it:\n%s\n%s", name, q, plan)
		}
	}
}

// TestHotReadsUseIndexes: no read of the hot path scans a table. (Inserts
// into a parent table from a SELECT plan a scan of the child tables for
// foreign keys, which runs only when a deferred violation is pending:
// never here.)
func TestHotReadsUseIndexes(t *testing.T) {
	d := openTemp(t)
	qs := append(hotReads(), qThreadInbound)
	for _, q := range hotWrites() {
		if isRead(q) {
			qs = append(qs, q)
		}
	}
	for _, q := range qs {
		plan := explain(t, d, q)
		for _, line := range strings.Split(plan, "\n") {
			if strings.Contains(line, "SCAN ") && !strings.Contains(line, "CONSTANT ROW") &&
				!strings.Contains(line, "USING INDEX") && !strings.Contains(line, "USING COVERING INDEX") {
				t.Errorf("%s\nscans a table: %s", q, line)
			}
		}
	}
}

// explain returns q's query plan, one step a line.
func explain(t *testing.T, d *DB, q string) string {
	t.Helper()
	args := make([]any, strings.Count(q, "?"))
	for i := range args {
		args[i] = 1
	}
	rows, err := d.r.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, detail)
	}
	return strings.TrimSpace(b.String())
}
