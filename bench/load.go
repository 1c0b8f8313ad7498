package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// delivery is one message appended to the IMAP server.
type delivery struct {
	index  int
	folder string
	// At is when the harness began the APPEND: the message's arrival.
	// Acknowledgement latency is measured from here, so it includes the
	// append itself.
	At time.Time
	// Lag is how late the APPEND began against the fixed schedule.
	Lag time.Duration
}

// offer appends count messages to acct at rate per second, open-loop: the
// i-th message is due at start + i/rate whatever happened to the others,
// spread over appenders connections. folderOf names the folder of message
// i; mk builds it. It returns the deliveries in index order.
func offer(ctx context.Context, acct *testenv.IMAPAccount, appenders int, rate float64, count int,
	folderOf func(i int) string, mk func(i int, now time.Time) []byte) ([]delivery, error) {
	if appenders < 1 {
		appenders = 1
	}
	clients := make([]*imapclient.Client, appenders)
	for i := range clients {
		c, err := acct.DialIMAP()
		if err != nil {
			for _, c := range clients[:i] {
				_ = c.Close()
			}
			return nil, fmt.Errorf("appender %d: %w", i, err)
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			_ = c.Logout().Wait()
			_ = c.Close()
		}
	}()

	out := make([]delivery, count)
	jobs := make(chan int, count)
	errs := make(chan error, appenders)
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				}
				now := time.Now()
				folder := folderOf(i)
				if _, err := testenv.AppendIMAP(c, folder, mk(i, now)); err != nil {
					errs <- fmt.Errorf("append message %d to %s: %w", i, folder, err)
					return
				}
				out[i] = delivery{index: i, folder: folder, At: now, Lag: now.Sub(due)}
			}
		}()
	}
	for i := range count {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		return nil, err
	}
	return out, ctx.Err()
}
