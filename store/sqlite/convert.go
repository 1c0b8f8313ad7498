package sqlite

import (
	"database/sql"
	"math"
	"strings"
	"time"
)

// Times are stored as UTC unix nanoseconds; an unset time is NULL, except
// work_items.due_at, where noDue stands for "no due time" so that it sorts
// last.
const noDue = math.MaxInt64

func ts(t time.Time) int64 { return t.UnixNano() }

func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromTS(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullTS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromTS(n.Int64)
}

func dueTS(t time.Time) int64 {
	if t.IsZero() {
		return noDue
	}
	return t.UnixNano()
}

func fromDue(n int64) time.Time {
	if n == noDue {
		return time.Time{}
	}
	return fromTS(n)
}

// nullID stores an optional reference: 0 is NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// cleanMessageID strips white space and angle brackets.
func cleanMessageID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	return strings.TrimSpace(id)
}

// addrKey is the lower-case form of an address used for lookups.
func addrKey(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// normTS is t as it reads back once stored: UTC, to the nanosecond; zero
// stays zero.
func normTS(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return fromTS(ts(t))
}
