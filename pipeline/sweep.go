package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/frontdesk/frontdesk/store"
)

// Unfinished lists inbound rows whose pipeline is not finished.
type Unfinished interface {
	Unfinished(ctx context.Context, before time.Time, after store.Cursor, limit int) ([]store.Inbound, error)
}

// Sweeper re-enqueues the next step of every unfinished inbound row: all of
// them once at start-up, then, every Interval, those untouched for Age. It
// makes Redis a work queue rather than the system of record (invariant 1):
// tasks lost with a Redis restart come back; tasks still queued are not
// doubled, since every step has a fixed task id.
type Sweeper struct {
	Store    Unfinished
	Tasks    Tasks
	Interval time.Duration
	Age      time.Duration
	Batch    int // rows per pass; default 1000
	Log      *slog.Logger
	Now      func() time.Time
	// Archived is called for a row whose next step asynq archived; it
	// should mark the row failed and show it to a person.
	Archived func(ctx context.Context, in *store.Inbound, reason string) error
}

// Run sweeps until ctx is done.
func (s *Sweeper) Run(ctx context.Context) error {
	s.SweepOnce(ctx, s.Now())
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.SweepOnce(ctx, s.Now().Add(-s.Age))
		}
	}
}

// SweepOnce re-enqueues unfinished rows last updated before `before`, page
// by page through all of them, and returns how many it enqueued for.
func (s *Sweeper) SweepOnce(ctx context.Context, before time.Time) int {
	batch := s.Batch
	if batch <= 0 {
		batch = 1000
	}
	n := 0
	var after store.Cursor
	for ctx.Err() == nil {
		rows, err := s.Store.Unfinished(ctx, before, after, batch)
		if err != nil {
			s.Log.Warn("sweep: list unfinished", "err", err)
			break
		}
		for i := range rows {
			err := next(ctx, s.Tasks, &rows[i])
			var ae *ArchivedError
			if errors.As(err, &ae) && s.Archived != nil {
				err = s.Archived(ctx, &rows[i], ae.Error())
			}
			if err != nil {
				s.Log.Warn("sweep: enqueue", "inbound_id", rows[i].ID, "status", rows[i].Status, "err", err)
				return n
			}
			n++
		}
		if len(rows) < batch {
			break
		}
		after = store.CursorOf(rows[len(rows)-1])
	}
	if n > 0 {
		s.Log.Info("sweep re-enqueued unfinished messages", "count", n)
	}
	return n
}
