package blob

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The machine these run on is shared, so beside the wall-clock rate the
// benchmarks report the process's CPU time per Put (user+system, from
// getrusage): what one Put costs whatever the neighbours do. Wall-clock
// time is dominated by the two fsyncs of every new blob.

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// benchContent returns a message-sized blob made unique by n.
func benchContent(n uint64, size int) []byte {
	line := []byte("Subject: order question\r\nDear desk, about my order...\r\n")
	b := bytes.Repeat(line, size/len(line)+1)[:size]
	binary.BigEndian.PutUint64(b, n)
	return b
}

// BenchmarkPut stores distinct 4 KiB messages (the size of typical
// customer mail), one after another and from many goroutines at once (as
// the IMAP poller and the normaliser do), and the same content again (a
// message fetched a second time).
func BenchmarkPut(b *testing.B) {
	const size = 4 << 10
	b.Run("sequential", func(b *testing.B) {
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		cpu0 := cpuTime()
		var n uint64
		for b.Loop() {
			n++
			if _, _, err := s.Put(b.Context(), bytes.NewReader(benchContent(n, size))); err != nil {
				b.Fatal(err)
			}
		}
		report(b, cpu0)
	})
	b.Run("parallel", func(b *testing.B) {
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		// Eight writers per core: the poller accepts eight messages of a
		// chunk at once, and asynq workers store attachments meanwhile.
		b.SetParallelism(8)
		var n atomic.Uint64
		cpu0 := cpuTime()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := s.Put(b.Context(), bytes.NewReader(benchContent(n.Add(1), size))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b, cpu0)
	})
	b.Run("existing", func(b *testing.B) {
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		content := benchContent(0, size)
		if _, _, err := s.Put(b.Context(), bytes.NewReader(content)); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		cpu0 := cpuTime()
		for b.Loop() {
			if _, _, err := s.Put(b.Context(), bytes.NewReader(content)); err != nil {
				b.Fatal(err)
			}
		}
		report(b, cpu0)
	})
}
