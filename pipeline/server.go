package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/frontdesk/frontdesk/config"
)

// NewServer returns the asynq server that runs h, tuned from cfg: a short
// TaskCheckInterval (asynq's 1 s default would add up to a second to every
// acknowledgement), capped exponential retry delays, acknowledgements
// weighted first, and exhausted tasks recorded on their inbound row.
func NewServer(rc redis.UniversalClient, cfg config.Pipeline, h *Handlers, log *slog.Logger) *asynq.Server {
	return asynq.NewServerFromRedisClient(rc, asynq.Config{
		Concurrency:              cfg.Concurrency,
		TaskCheckInterval:        cfg.TaskCheckInterval,
		DelayedTaskCheckInterval: time.Second,
		Queues:                   map[string]int{QueueAck: 6, QueueDefault: 3},
		RetryDelayFunc:           retryDelay,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		Logger:                   slogAdapter{log.With("component", "asynq")},
		ErrorHandler:             asynq.ErrorHandlerFunc(h.taskError),
	})
}

// Mux returns the handler that dispatches every pipeline task type, with
// panics recovered at the task boundary.
func (h *Handlers) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(h.recoverer)
	h.Register(mux)
	return mux
}

func (h *Handlers) recoverer(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) (err error) {
		defer func() {
			if r := recover(); r != nil {
				h.Log.Error("task panicked", "task", t.Type(), "payload", string(t.Payload()), "panic", r)
				err = fmt.Errorf("pipeline: %s panicked: %v", t.Type(), r)
			}
		}()
		return next.ProcessTask(ctx, t)
	})
}

// retryDelay backs off exponentially from 1 s to 10 min, with jitter.
func retryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	d := time.Second << min(n, 10)
	d = min(d, 10*time.Minute)
	return d/2 + rand.N(d/2+1)
}

// taskError logs task failures; when a task has exhausted its retries (or
// refused to retry), the message is marked failed and shown to a person, so
// an archived task is never a silent loss (invariant 5).
func (h *Handlers) taskError(ctx context.Context, t *asynq.Task, err error) {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	id, _ := inboundID(t)
	final := retried >= maxRetry || errors.Is(err, asynq.SkipRetry)
	h.Log.Warn("task failed", "task", t.Type(), "inbound_id", id, "retried", retried, "final", final, "err", err)
	if !final || id == 0 {
		return
	}
	in, lerr := h.Store.Inbound(ctx, id)
	if lerr != nil {
		h.Log.Error("task archived; inbound not found", "task", t.Type(), "inbound_id", id, "err", lerr)
		return
	}
	if in.Status.Final() {
		return
	}
	if ferr := h.fail(ctx, in, fmt.Sprintf("%s gave up after %d attempts: %v", t.Type(), retried+1, err)); ferr != nil {
		h.Log.Error("task archived; failure not recorded", "task", t.Type(), "inbound_id", id, "err", ferr)
	}
}

// slogAdapter lets asynq log through slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
