package mailparse

import (
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/frontdesk/frontdesk/message"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConcurrentParse runs one Parser from several goroutines (under
// -race): a Parser is shared by all workers of a process.
func TestConcurrentParse(t *testing.T) {
	p := New(testOptions(newMemBlobs()))
	raws := [][]byte{
		readFile(t, "testdata/own/alternative.eml"),
		readFile(t, "testdata/own/html-only.eml"),
		readFile(t, "testdata/own/cards.eml"),
		readFile(t, "testdata/own/dsn-own.eml"),
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				raw := raws[(g+i)%len(raws)]
				if _, err := p.Parse(t.Context(), message.ChannelIMAP, raw); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
