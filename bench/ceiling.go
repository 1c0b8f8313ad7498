package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Ceiling measures asynq's no-op task throughput against the Redis at
// addr: producers enqueue n tasks while a server with the given
// concurrency and task-check interval runs a handler that does nothing.
// It returns tasks per second from the first enqueue to the last task
// done: the most any asynq pipeline can do on this machine and Redis.
func Ceiling(ctx context.Context, addr string, n, concurrency int, check time.Duration) (float64, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr, PoolSize: concurrency + 16})
	defer rc.Close()
	if err := rc.FlushAll(ctx).Err(); err != nil {
		return 0, fmt.Errorf("flush redis: %w", err)
	}
	defer rc.FlushAll(context.WithoutCancel(ctx))

	var done atomic.Int64
	finished := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(rc, asynq.Config{
		Concurrency:       concurrency,
		TaskCheckInterval: check,
		Queues:            map[string]int{"noop": 1},
		LogLevel:          asynq.WarnLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("noop", func(context.Context, *asynq.Task) error {
		if done.Add(1) == int64(n) {
			close(finished)
		}
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return 0, fmt.Errorf("asynq server: %w", err)
	}
	defer srv.Shutdown()

	client := asynq.NewClientFromRedisClient(rc)
	const producers = 8
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += producers {
				if _, err := client.EnqueueContext(ctx, asynq.NewTask("noop", nil),
					asynq.Queue("noop"), asynq.TaskID(fmt.Sprintf("noop:%d", i))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	select {
	case <-finished:
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("no-op tasks: %d of %d done in 5 minutes", done.Load(), n)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
