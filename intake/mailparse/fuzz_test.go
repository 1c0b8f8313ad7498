package mailparse

import (
	"errors"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/message"
)

// FuzzParse checks that no input makes the parser panic, hang or return
// anything but a message or a permanent error, and that every message
// keeps the normaliser's promises. Seeds are in testdata/fuzz/FuzzParse
// (real and hostile messages); limits are small so bombs stay cheap.
func FuzzParse(f *testing.F) {
	f.Add([]byte("From: a@b\r\nSubject: x\r\n\r\nhello"))
	f.Add(deepMultipart(8))
	f.Add(manyParts(20))
	// One parser for all runs: building the HTML policy is the slow part.
	blobs := newMemBlobs()
	p := New(Options{
		Blobs: blobs,
		Limits: message.Limits{
			MaxBytes: 1 << 20, MaxParts: 50, MaxDepth: 8,
			MaxPartHeaderBytes: 8 << 10, MaxAttachmentBytes: 256 << 10,
		},
		OwnAddresses:   []string{"support@frontdesk.example"},
		LoopID:         "frontdesk.example",
		IsOwnMessageID: func(id string) bool { return strings.HasSuffix(id, ".fd@frontdesk.example") },
	})
	f.Fuzz(func(t *testing.T, raw []byte) {
		blobs.reset()
		m, err := p.Parse(t.Context(), message.ChannelIMAP, raw)
		if err != nil {
			var le *message.LimitError
			var pe *message.ParseError
			if !errors.As(err, &le) && !errors.As(err, &pe) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if m != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		checkMessage(t, "fuzz", m, blobs)
		for _, s := range m.Automation {
			if s.Rule == "" {
				t.Fatal("signal without rule")
			}
		}
	})
}
