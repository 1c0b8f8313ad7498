package bench

import "time"

// Scenario is one fixed load through one intake channel.
type Scenario struct {
	Name string `json:"name"`
	// Server is where the load goes in: "imapmem" (APPEND to go-imap's
	// in-process server, which the daemon polls), "dovecot" (the same
	// with Dovecot) or "forms" (signed web-form posts to the daemon's own
	// HTTP listener, POST /intake/forms/{form}; no IMAP server).
	Server string `json:"server"`
	// Rate is the offered load in messages (or submissions) per second,
	// for Duration.
	Rate     float64       `json:"rate"`
	Duration time.Duration `json:"duration"`
	// Concurrency is the daemon's pipeline.concurrency.
	Concurrency int `json:"concurrency"`
	// Appenders is how many IMAP connections deliver the load or, for
	// forms, how many keep-alive HTTP connections post it.
	Appenders int `json:"appenders"`
	// OrderEvery sends every n-th message to the orders mailbox, or posts
	// it to the order form (0: none).
	OrderEvery int `json:"order_every"`
	// Drain bounds the wait for the last acknowledgements after the load.
	Drain time.Duration `json:"drain"`
	// Target is what the run must meet on this 2-core machine.
	Target Target `json:"target"`
}

// Target is a scenario's pass criterion; zero fields are not checked.
// Losses and duplicates must always be 0.
type Target struct {
	P99           time.Duration `json:"p99,omitempty"`
	MinThroughput float64       `json:"min_throughput,omitempty"` // messages/s
	MaxRSS        int64         `json:"max_rss,omitempty"`        // bytes
	// MinAcceptRate is submissions answered 202 per second (forms only).
	MinAcceptRate float64 `json:"min_accept_rate,omitempty"`
}

// Servers (Scenario.Server).
const (
	ServerIMAPMem = "imapmem"
	ServerDovecot = "dovecot"
	ServerForms   = "forms"
)

// Scenarios are the standard runs of `make bench`, with issue 4's targets
// for the IMAP ones and issue 5's for the web-form ones.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name: "imapmem-50", Server: ServerIMAPMem, Rate: 50, Duration: 30 * time.Second,
			Concurrency: 10, Appenders: 2, OrderEvery: 5, Drain: time.Minute,
			Target: Target{P99: 100 * time.Millisecond},
		},
		{
			Name: "dovecot-20", Server: ServerDovecot, Rate: 20, Duration: 30 * time.Second,
			Concurrency: 10, Appenders: 2, OrderEvery: 5, Drain: time.Minute,
			Target: Target{P99: 800 * time.Millisecond},
		},
		{
			Name: "saturation", Server: ServerIMAPMem, Rate: 1200, Duration: 30 * time.Second,
			Concurrency: 64, Appenders: 8, OrderEvery: 5, Drain: 3 * time.Minute,
			Target: Target{MinThroughput: 1000, MaxRSS: 250 << 20},
		},
		{
			// Issue 5 leaves the latency figure open; 500 ms is ours
			// (imapmem-50's target is 100 ms), measured from the start of
			// the POST to the acknowledgement at the SMTP peer.
			Name: "webhook-200", Server: ServerForms, Rate: 200, Duration: 30 * time.Second,
			Concurrency: 10, Appenders: 16, OrderEvery: 5, Drain: 2 * time.Minute,
			Target: Target{P99: 500 * time.Millisecond},
		},
		{
			// Offered well above capacity: what counts is submissions
			// answered 202 per second, and the pipeline registering and
			// acknowledging every one of them exactly once afterwards.
			// The accept step is latency-bound (each submission waits for
			// its group commit and its enqueue), so the accepted rate grows
			// with the senders' concurrency: 128 keep-alive connections,
			// as many busy form back ends would hold (64 measured about
			// 1,250–1,330/s on the reference machine, 128 about 1,700/s).
			Name: "webhook-saturation", Server: ServerForms, Rate: 2500, Duration: 30 * time.Second,
			Concurrency: 64, Appenders: 128, OrderEvery: 5, Drain: 10 * time.Minute,
			Target: Target{MinAcceptRate: 1500},
		},
	}
}

// Short returns s cut to a few seconds at a gentle rate: the form the test
// suite runs, which checks the counts but not the targets.
func (s Scenario) Short() Scenario {
	s.Name += "-short"
	s.Rate = min(s.Rate, 20)
	s.Duration = 2 * time.Second
	s.Drain = 90 * time.Second
	s.Target = Target{}
	return s
}
