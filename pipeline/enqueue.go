package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Enqueuer puts pipeline tasks on asynq. Enqueueing a step that is already
// queued, running or waiting to retry is a no-op.
type Enqueuer struct {
	client   *asynq.Client
	maxRetry int
}

// NewEnqueuer returns an Enqueuer on the given Redis client (which it does
// not close).
func NewEnqueuer(rc redis.UniversalClient, maxRetry int) *Enqueuer {
	return &Enqueuer{client: asynq.NewClientFromRedisClient(rc), maxRetry: maxRetry}
}

// EnqueueNormalise starts the pipeline for an accepted message; it
// satisfies intake.Enqueuer.
func (e *Enqueuer) EnqueueNormalise(ctx context.Context, inboundID int64) error {
	return e.Enqueue(ctx, TypeNormalise, inboundID)
}

// Enqueue queues step typ for inbound id.
func (e *Enqueuer) Enqueue(ctx context.Context, typ string, inboundID int64) error {
	_, err := e.client.EnqueueContext(ctx, NewTask(typ, inboundID),
		asynq.TaskID(TaskID(typ, inboundID)),
		asynq.Queue(queueOf(typ)),
		asynq.MaxRetry(e.maxRetry),
	)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("pipeline: enqueue %s for inbound %d: %w", typ, inboundID, err)
	}
	return nil
}
