package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// delivery is one message appended to the IMAP server, or one web-form
// submission posted to the daemon.
type delivery struct {
	index  int
	folder string
	// At is when the harness began the APPEND (or the POST): the message's
	// arrival. Acknowledgement latency is measured from here, so it
	// includes the append (or the HTTP exchange) itself.
	At time.Time
	// Lag is how late the APPEND (POST) began against the fixed schedule.
	Lag time.Duration
	// Answered is when the APPEND's OK (the POST's answer) was in.
	Answered time.Time
	// Accepted says the message went in: the APPEND succeeded, or the
	// POST was answered 202 as a new submission. Status is the HTTP
	// status (0 for IMAP, or when the request failed: Err says why);
	// Duplicate says a 202 took the submission for a re-post.
	Accepted  bool
	Status    int
	Duplicate bool
	Err       string
}

// imapLoad appends customer mail to an IMAP server the daemon polls:
// every OrderEvery-th message to the Orders folder, the rest to INBOX.
type imapLoad struct {
	acct       *testenv.IMAPAccount
	orderEvery int
	stop       func() // stops the IMAP server
}

var _ intakeLoad = (*imapLoad)(nil)

func (l *imapLoad) folderOf(i int) string {
	if isOrder(i, l.orderEvery) {
		return "Orders"
	}
	return "INBOX"
}

func (l *imapLoad) offer(ctx context.Context, run string, conns int, rate float64, count int) ([]delivery, error) {
	return offer(ctx, l.acct, conns, rate, count, l.folderOf, func(i int, now time.Time) []byte {
		return customerMail(run, i, now)
	})
}

// match matches an acknowledgement to message i of run by its
// In-Reply-To, msgID(run, i).
func (l *imapLoad) match(run string) func(testenv.Received) (int, bool) {
	prefix := run + "."
	return func(a testenv.Received) (int, bool) {
		irt := strings.Trim(strings.TrimSpace(a.Header.Get("In-Reply-To")), "<>")
		rest, ok := strings.CutPrefix(irt, prefix)
		if !ok {
			return 0, false
		}
		var i int
		if _, err := fmt.Sscanf(rest, "%d@", &i); err != nil || i < 0 {
			return 0, false
		}
		return i, true
	}
}

func (l *imapLoad) close() { l.stop() }

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
				out[i] = delivery{index: i, folder: folder, At: now, Lag: now.Sub(due), Answered: time.Now(), Accepted: true}
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
