package mailer

import (
	"testing"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// BenchmarkBuild measures building one acknowledgement.
func BenchmarkBuild(b *testing.B) {
	o := ack()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendSMTP sends acknowledgements one after another over one reused
// connection to the in-process peer and reports acks/s.
func BenchmarkSendSMTP(b *testing.B) {
	srv := testenv.StartSMTP(b)
	cfg := plainConfig(srv)
	cfg.PoolSize, cfg.MaxPerConn = 1, 1<<30
	s := newSender(b, cfg)
	o := ack()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(b.Context(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acks/s")
	if srv.Connections() != 1 {
		b.Errorf("%d connections", srv.Connections())
	}
}

// BenchmarkSendSMTPPool sends from many goroutines through the default
// pool of connections.
func BenchmarkSendSMTPPool(b *testing.B) {
	srv := testenv.StartSMTP(b)
	cfg := plainConfig(srv)
	cfg.MaxPerConn = 1 << 30
	s := newSender(b, cfg)
	o := ack()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Send(b.Context(), o); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acks/s")
}
