package bench

import (
	"context"
	"database/sql"
	"fmt"

	_ "modernc.org/sqlite" // the daemon's store; read-only here
)

// Ledger is what the daemon's SQLite ledger holds at the end of a run.
type Ledger struct {
	Inbound  int `json:"inbound"`   // messages accepted
	Done     int `json:"done"`      // ... fully processed (registered, acknowledged, routed)
	Failed   int `json:"failed"`    // ... failed and shown to a person
	Cases    int `json:"cases"`     // cases registered
	Orders   int `json:"orders"`    // orders registered
	Routed   int `json:"routed"`    // work items on CSR queues
	AcksSent int `json:"acks_sent"` // acknowledgements recorded as sent
}

// readLedger counts rows in the daemon's database at path, read-only, while
// the daemon may still run (WAL lets readers in).
func readLedger(ctx context.Context, path string) (Ledger, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return Ledger{}, err
	}
	defer db.Close()
	var l Ledger
	for _, q := range []struct {
		dst *int
		sql string
	}{
		{&l.Inbound, `SELECT count(*) FROM inbound`},
		{&l.Done, `SELECT count(*) FROM inbound WHERE status = 'done'`},
		{&l.Failed, `SELECT count(*) FROM inbound WHERE status = 'failed'`},
		{&l.Cases, `SELECT count(*) FROM cases`},
		{&l.Orders, `SELECT count(*) FROM orders`},
		{&l.Routed, `SELECT count(*) FROM work_items`},
		{&l.AcksSent, `SELECT count(*) FROM outbound WHERE kind = 'ack' AND state = 'sent'`},
	} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			return Ledger{}, fmt.Errorf("ledger %q: %w", q.sql, err)
		}
	}
	return l, nil
}
