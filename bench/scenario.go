package bench

import "time"

// Scenario is one fixed load against one IMAP server.
type Scenario struct {
	Name string `json:"name"`
	// Server is "imapmem" (go-imap's in-process server) or "dovecot".
	Server string `json:"server"`
	// Rate is the offered load in messages per second, for Duration.
	Rate     float64       `json:"rate"`
	Duration time.Duration `json:"duration"`
	// Concurrency is the daemon's pipeline.concurrency.
	Concurrency int `json:"concurrency"`
	// Appenders is how many IMAP connections deliver the load.
	Appenders int `json:"appenders"`
	// OrderEvery sends every n-th message to the orders mailbox (0: none).
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
}

// Scenarios are the standard runs of `make bench`, with issue 4's targets.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name: "imapmem-50", Server: "imapmem", Rate: 50, Duration: 30 * time.Second,
			Concurrency: 10, Appenders: 2, OrderEvery: 5, Drain: time.Minute,
			Target: Target{P99: 100 * time.Millisecond},
		},
		{
			Name: "dovecot-20", Server: "dovecot", Rate: 20, Duration: 30 * time.Second,
			Concurrency: 10, Appenders: 2, OrderEvery: 5, Drain: time.Minute,
			Target: Target{P99: 800 * time.Millisecond},
		},
		{
			Name: "saturation", Server: "imapmem", Rate: 1200, Duration: 30 * time.Second,
			Concurrency: 64, Appenders: 8, OrderEvery: 5, Drain: 3 * time.Minute,
			Target: Target{MinThroughput: 1000, MaxRSS: 250 << 20},
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
