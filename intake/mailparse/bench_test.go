package mailparse

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

// BenchmarkNormalise parses every file of the mail corpus in one goroutine
// and reports the throughput in MB/s of raw input ("all"), then each
// corpus set alone. cpu-ms/op is the process's CPU time per op (user and
// system, the garbage collector's included), which holds up better than
// the wall clock on a machine shared with other work.
func BenchmarkNormalise(b *testing.B) {
	root := filepath.Join(corporaDir(b), "mail")
	sets, err := os.ReadDir(root)
	if err != nil {
		b.Fatal(err)
	}
	bySet := map[string][][]byte{}
	var names []string
	for _, s := range sets {
		if !s.IsDir() {
			continue
		}
		names = append(names, s.Name())
		err := filepath.WalkDir(filepath.Join(root, s.Name()), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			bySet[s.Name()] = append(bySet[s.Name()], readFile(b, path))
			bySet["all"] = append(bySet["all"], bySet[s.Name()][len(bySet[s.Name()])-1])
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, name := range append([]string{"all"}, names...) {
		b.Run(name, func(b *testing.B) { benchParse(b, bySet[name]) })
	}
}

func benchParse(b *testing.B, msgs [][]byte) {
	var total int64
	for _, m := range msgs {
		total += int64(len(m))
	}
	blobs := newMemBlobs()
	p := New(Options{Blobs: blobs})
	b.SetBytes(total)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		for _, raw := range msgs {
			_, _ = p.Parse(b.Context(), message.ChannelIMAP, raw)
		}
		blobs.reset()
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time this process has used (user+system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMaskRaw runs MaskRaw over every file of the mail corpus in one
// goroutine and reports the throughput in MB/s of raw input: as the
// corpus is ("corpus": nothing to mask, the common case) and with cards
// planted in every encoded text part and in a header field ("planted").
func BenchmarkMaskRaw(b *testing.B) {
	root := filepath.Join(corporaDir(b), "mail")
	var msgs, planted [][]byte
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw := readFile(b, path)
		msgs = append(msgs, raw)
		if pl, n, _ := plantCards(raw); n > 0 {
			planted = append(planted, pl)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// Hostile header text: encoded-word openings that never close, and
	// many adjacent words, in the file names of 200 parts (12 MB). Both
	// must stay linear.
	var hostile [][]byte
	for _, v := range []string{strings.Repeat("=?a?q?x", 60<<10/7), strings.Repeat("=?a?q?x?= ", 60<<10/10)} {
		var m strings.Builder
		m.WriteString("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
		for range 200 {
			m.WriteString("--b\r\nContent-Disposition: attachment; filename=\"" + v + "\"\r\n\r\nx\r\n")
		}
		m.WriteString("--b--\r\n")
		hostile = append(hostile, []byte(m.String()))
	}
	for name, set := range map[string][][]byte{"corpus": msgs, "planted": planted, "hostile-words": hostile} {
		b.Run(name, func(b *testing.B) {
			var total int64
			for _, m := range set {
				total += int64(len(m))
			}
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				for _, raw := range set {
					_, _, _ = MaskRaw(raw, message.Limits{})
				}
			}
		})
	}
}
