package imap

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, j := range []float64{0, 0.5, 0.999} {
		b := backoff{min: time.Second, max: 5 * time.Minute, jitter: func() float64 { return j }}
		prev := time.Duration(0)
		for i := range 20 {
			d := b.next()
			ceil := min(time.Second<<i, 5*time.Minute)
			if d < time.Second || d < ceil/2 || d > ceil {
				t.Fatalf("jitter %v attempt %d: %v outside [%v, %v]", j, i, d, max(ceil/2, time.Second), ceil)
			}
			if d < prev && ceil < 5*time.Minute {
				t.Fatalf("jitter %v attempt %d: %v shrank from %v", j, i, d, prev)
			}
			prev = d
		}
		b.reset()
		if d := b.next(); d > time.Second {
			t.Errorf("after reset: %v", d)
		}
	}
}
