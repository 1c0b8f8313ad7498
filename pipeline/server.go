package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"

	"github.com/frontdesk/frontdesk/store"
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
func (h *Handlers) taskError(tctx context.Context, t *asynq.Task, err error) {
	retried, _ := asynq.GetRetryCount(tctx)
	maxRetry, _ := asynq.GetMaxRetry(tctx)
	// asynq may call this with the task's context already cancelled (lease
	// lost, deadline): the failure must still be recorded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(tctx), 30*time.Second)
	defer cancel()
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
	if t.Type() == TypeAck {
		// The acknowledgement gave up (an SMTP outage longer than the retry
		// budget): the case and its work stand; the failure is recorded on
		// the send record and the case's events, not on the message.
		h.ackGaveUp(ctx, in, err)
		return
	}
	if ferr := h.fail(ctx, in, fmt.Sprintf("%s gave up after %d attempts: %v", t.Type(), retried+1, err)); ferr != nil {
		h.Log.Error("task archived; failure not recorded", "task", t.Type(), "inbound_id", id, "err", ferr)
	}
}

// Archived marks a row failed whose next step asynq archived: it satisfies
// Sweeper.Archived.
func (h *Handlers) Archived(ctx context.Context, in *store.Inbound, reason string) error {
	if in.Status == store.StatusRegistered && !in.AckDone && in.RouteDone {
		h.ackGaveUp(ctx, in, errors.New(reason))
		return nil
	}
	return h.fail(ctx, in, reason)
}

func (h *Handlers) ackGaveUp(ctx context.Context, in *store.Inbound, cause error) {
	// The send record keeps its last error; the event makes it visible.
	h.event(ctx, in, store.Ref{CaseID: in.CaseID, OrderID: in.OrderID}, "ack.gave_up", cause.Error())
	if err := h.Store.SetAckDone(ctx, in.ID); err != nil {
		h.Log.Error("ack gave up; not recorded", "inbound_id", in.ID, "err", err)
	}
}

// slogAdapter lets asynq log through slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
