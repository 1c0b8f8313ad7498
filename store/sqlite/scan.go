package sqlite

import (
	"database/sql"
	"fmt"
)

// values is one row read through an rconn, scanned like a *sql.Row.
type values struct {
	vals []any
	err  error
}

// Scan assigns the row's columns to dest, as (*sql.Row).Scan does for the
// destination types this package uses.
func (v values) Scan(dest ...any) error {
	if v.err != nil {
		return v.err
	}
	if len(dest) != len(v.vals) {
		return fmt.Errorf("sqlite: scan: %d destinations for %d columns", len(dest), len(v.vals))
	}
	for i, d := range dest {
		if err := assign(d, v.vals[i]); err != nil {
			return fmt.Errorf("sqlite: scan column %d: %w", i, err)
		}
	}
	return nil
}

// assign stores the column value src (nil, int64, float64, string or
// []byte) in the destination dst.
func assign(dst any, src any) error {
	switch d := dst.(type) {
	case *int64:
		if x, ok := src.(int64); ok {
			*d = x
			return nil
		}
	case *int:
		if x, ok := src.(int64); ok {
			*d = int(x)
			return nil
		}
	case *string:
		switch x := src.(type) {
		case string:
			*d = x
			return nil
		case []byte:
			*d = string(x)
			return nil
		}
	case *bool:
		if x, ok := src.(int64); ok {
			*d = x != 0
			return nil
		}
	case *sql.NullInt64:
		switch x := src.(type) {
		case nil:
			*d = sql.NullInt64{}
			return nil
		case int64:
			*d = sql.NullInt64{Int64: x, Valid: true}
			return nil
		}
	case *sql.NullString:
		switch x := src.(type) {
		case nil:
			*d = sql.NullString{}
			return nil
		case string:
			*d = sql.NullString{String: x, Valid: true}
			return nil
		case []byte:
			*d = sql.NullString{String: string(x), Valid: true}
			return nil
		}
	case *[]byte:
		if x, ok := src.([]byte); ok {
			*d = x
			return nil
		}
	case *any:
		*d = src
		return nil
	}
	return fmt.Errorf("cannot store %T in %T", src, dst)
}
