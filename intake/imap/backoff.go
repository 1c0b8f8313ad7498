package imap

import (
	"math/rand/v2"
	"time"
)

// backoff is exponential backoff with jitter: the n-th delay is drawn from
// [d/2, d] where d = min·2ⁿ capped at max (and never below min), so that
// many pollers cut off by the same outage do not come back in step.
type backoff struct {
	min, max time.Duration
	n        int
	// jitter returns a number in [0, 1); nil means math/rand/v2.
	jitter func() float64
}

// next returns the delay before the next attempt and counts the attempt.
func (b *backoff) next() time.Duration {
	d := b.min
	for i := 0; i < b.n && d < b.max; i++ {
		d *= 2
	}
	if d > b.max {
		d = b.max
	}
	b.n++
	j := rand.Float64
	if b.jitter != nil {
		j = b.jitter
	}
	half := d / 2
	return max(b.min, half+time.Duration(j()*float64(d-half)))
}

// reset starts over at min, after a healthy session.
func (b *backoff) reset() { b.n = 0 }
