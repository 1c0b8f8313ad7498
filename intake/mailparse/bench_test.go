package mailparse

import (
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/frontdesk/frontdesk/message"
)

// BenchmarkNormalise parses every message file of the mail corpus in one
// goroutine and reports the throughput in MB/s of raw input.
func BenchmarkNormalise(b *testing.B) {
	root := filepath.Join(corporaDir(b), "mail")
	var msgs [][]byte
	var total int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw := readFile(b, path)
		msgs = append(msgs, raw)
		total += int64(len(raw))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	blobs := newMemBlobs()
	p := New(Options{Blobs: blobs})
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range msgs {
			_, _ = p.Parse(b.Context(), message.ChannelIMAP, raw)
		}
		blobs.reset()
	}
}
