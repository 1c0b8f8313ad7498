package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Enqueuer puts pipeline tasks on asynq. Enqueueing a step that is already
// queued, running or waiting to retry is a no-op; one that asynq archived
// (retries exhausted without the row being marked failed, e.g. a worker
// killed every time) returns an *ArchivedError.
type Enqueuer struct {
	client    *asynq.Client
	inspector *asynq.Inspector
	maxRetry  int
}

// NewEnqueuer returns an Enqueuer on the given Redis client (which it does
// not close).
func NewEnqueuer(rc redis.UniversalClient, maxRetry int) *Enqueuer {
	return &Enqueuer{
		client:    asynq.NewClientFromRedisClient(rc),
		inspector: asynq.NewInspectorFromRedisClient(rc),
		maxRetry:  maxRetry,
	}
}

// ArchivedError says a step's task is in asynq's archive: it will not run
// again by itself.
type ArchivedError struct {
	Type    string
	LastErr string
}

func (e *ArchivedError) Error() string {
	return fmt.Sprintf("pipeline: %s was archived by asynq: %s", e.Type, e.LastErr)
}

// EnqueueInbound starts the pipeline for an accepted message; it
// satisfies intake.Enqueuer.
func (e *Enqueuer) EnqueueInbound(ctx context.Context, inboundID int64) error {
	return e.Enqueue(ctx, TypeProcess, inboundID)
}

// Enqueue queues step typ for inbound id.
func (e *Enqueuer) Enqueue(ctx context.Context, typ string, inboundID int64) error {
	_, err := e.client.EnqueueContext(ctx, NewTask(typ, inboundID),
		asynq.TaskID(TaskID(typ, inboundID)),
		asynq.Queue(queueOf(typ)),
		asynq.MaxRetry(e.maxRetry),
	)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		info, ierr := e.inspector.GetTaskInfo(queueOf(typ), TaskID(typ, inboundID))
		if ierr == nil && info.State == asynq.TaskStateArchived {
			return &ArchivedError{Type: typ, LastErr: info.LastErr}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("pipeline: enqueue %s for inbound %d: %w", typ, inboundID, err)
	}
	return nil
}
