package imap_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/intake/imap"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// A poller for the orders mailbox: accepted mail moves to "Frontdesk/Taken".
// The acceptor and the store come from the wiring in cmd/frontdesk.
func ExampleNew() {
	var (
		acceptor *intake.Acceptor // blob store, ledger and enqueuer
		st       store.Store
	)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	p := imap.New(imap.Config{
		Name:     "orders",
		Host:     "imap.example.com",
		Username: "orders@example.com",
		Password: os.Getenv("ORDERS_IMAP_PASSWORD"),
		Intent:   message.IntentOrder,
		Queue:    "orders",
		MoveTo:   "Frontdesk/Taken",
		MaxBytes: 25 << 20,
	}, acceptor, st, log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := p.Run(ctx); err != nil {
		log.Error("imap poller", "err", err) // only an invalid configuration
	}
	// Readiness: p.Status().Healthy()
}
