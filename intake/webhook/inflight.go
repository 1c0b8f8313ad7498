package webhook

import "sync"

// ReasonBusy refuses a submission over the in-flight bounds (503).
const ReasonBusy = "busy"

// unknownBodyBytes is what a body of unknown length (chunked) counts
// against MaxInflightBytes; the endpoint's own body limit still applies
// when it is read.
const unknownBodyBytes = 1 << 20

// inflight counts the submissions being served and the body bytes they
// declared, within bounds; the zero value bounds nothing.
type inflight struct {
	maxCount int
	maxBytes int64

	mu    sync.Mutex
	count int
	bytes int64
}

func (f *inflight) bounded() bool { return f.maxCount > 0 || f.maxBytes > 0 }

// acquire admits a submission declaring size body bytes (-1: unknown),
// or says no; release gives its share back.
func (f *inflight) acquire(size int64) (release func(), ok bool) {
	if !f.bounded() {
		return func() {}, true
	}
	if size < 0 {
		size = unknownBodyBytes
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// One submission alone is always admitted, however large: its
	// endpoint's body limit is what bounds it.
	if f.count > 0 && ((f.maxCount > 0 && f.count >= f.maxCount) || (f.maxBytes > 0 && f.bytes+size > f.maxBytes)) {
		return nil, false
	}
	f.count++
	f.bytes += size
	return func() {
		f.mu.Lock()
		f.count--
		f.bytes -= size
		f.mu.Unlock()
	}, true
}
