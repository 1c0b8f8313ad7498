package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// pool is a *sql.DB and, for the read pool, the raw reader connections
// (raw.go) that the point reads run on. The *sql.DB runs the scans, which
// watch their context, and the odd ad-hoc statement.
type pool struct {
	db      *sql.DB
	readers chan *rconn // the idle readers
	n       int         // readers opened
	closing chan struct{}
}

// openReaders opens n raw readers on path, with pragmas run on each, and
// prepares qs on the first (so a bad statement fails Open).
func (p *pool) openReaders(path string, n int, busy time.Duration, pragmas, qs []string) error {
	p.readers = make(chan *rconn, n)
	p.closing = make(chan struct{})
	for range n {
		r, err := openRaw(path, busy, pragmas...)
		if err != nil {
			return err
		}
		p.readers <- r
		p.n++
		// Preparing on one reader checks the statements; the others
		// prepare them on first use.
		if p.n == 1 {
			if err := r.prepare(qs...); err != nil {
				return err
			}
		}
	}
	return nil
}

// read runs fn on an idle reader, waiting for one.
func (p *pool) read(ctx context.Context, fn func(c *rconn) error) error {
	var r *rconn
	select {
	case r = <-p.readers:
	case <-p.closing:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { p.readers <- r }()
	return fn(r)
}

// queryRow runs a point read (one row by key, a count over an index). A
// cancelled ctx stops it before it starts; once started it runs to its end
// (microseconds). Scans over many rows use query, which watches ctx
// throughout.
func (p *pool) queryRow(ctx context.Context, q string, args ...any) values {
	if err := ctx.Err(); err != nil {
		return values{err: err}
	}
	var v values
	err := p.read(ctx, func(c *rconn) error {
		v.vals, v.err = c.queryRow(q, args)
		return nil
	})
	if err != nil {
		v.err = err
	}
	return v
}

// queryRows is queryRow for a read of a few rows by key: fn sees each
// row's values (valid during the call).
func (p *pool) queryRows(ctx context.Context, q string, args []any, fn func(vals []any) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.read(ctx, func(c *rconn) error { return c.query(q, args, fn) })
}

// query runs a scan through database/sql, which interrupts it when ctx is
// done.
func (p *pool) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return p.db.QueryContext(ctx, q, args...)
}

// close closes the readers, after the reads in progress (later ones fail),
// and the *sql.DB.
func (p *pool) close() error {
	var err error
	if p.closing != nil {
		close(p.closing)
		for range p.n {
			if cerr := (<-p.readers).close(); cerr != nil && err == nil {
				err = fmt.Errorf("close reader: %w", cerr)
			}
		}
		p.n = 0
	}
	if cerr := p.db.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
