package mailparse

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/message"
)

const bombHeader = "From: a@example.com\r\nTo: b@example.com\r\nSubject: bomb\r\nMIME-Version: 1.0\r\n"

func deepMultipart(depth int) []byte {
	var open, close strings.Builder
	for i := range depth {
		fmt.Fprintf(&open, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
		fmt.Fprintf(&close, "\r\n--b%d--\r\n", depth-1-i)
	}
	return []byte(bombHeader + open.String() + "Content-Type: text/plain\r\n\r\ndeep\r\n" + close.String())
}

func deepRFC822(depth int) []byte {
	var b strings.Builder
	b.WriteString(bombHeader)
	for range depth {
		b.WriteString("Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n")
	}
	b.WriteString("\r\ninnermost\r\n")
	return []byte(b.String())
}

func manyParts(n int) []byte {
	var b bytes.Buffer
	b.WriteString(bombHeader + "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n")
	for range n {
		b.WriteString("--x\r\n\r\np\r\n")
	}
	b.WriteString("--x--\r\n")
	return b.Bytes()
}

func hugePartHeader(size int) []byte {
	var b bytes.Buffer
	b.WriteString(bombHeader + "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nX-Junk: ")
	for b.Len() < size {
		b.WriteString("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n ")
	}
	b.WriteString("\r\n\r\nbody\r\n--x--\r\n")
	return b.Bytes()
}

func hugeTopHeader(size int) []byte {
	return append([]byte("Subject: "), bytes.Repeat([]byte("a"), size)...)
}

func base64Attachment(decoded int) []byte {
	var b bytes.Buffer
	b.WriteString(bombHeader + "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n")
	b.WriteString("--x\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xAB}, decoded))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--x--\r\n")
	return b.Bytes()
}

// base64RFC822Chain nests messages, each sent base64 inside the next.
func base64RFC822Chain(depth int) []byte {
	inner := []byte("Subject: innermost\r\n\r\nhello\r\n")
	for range depth {
		enc := base64.StdEncoding.EncodeToString(inner)
		inner = []byte("Subject: level\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" + enc + "\r\n")
	}
	return append([]byte(bombHeader), inner...)
}

// qpRFC822Chain nests messages sent quoted-printable inside each other:
// the raw size hardly grows, but each level decodes to a full copy.
func qpRFC822Chain(depth, payload int) []byte {
	var b strings.Builder
	b.WriteString("Subject: innermost\r\n\r\n=\r\n")
	for b.Len() < payload {
		b.WriteString(strings.Repeat("q", 70) + "\r\n")
	}
	inner := b.String()
	for range depth {
		inner = "Subject: level\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			strings.ReplaceAll(inner, "=", "=3D")
	}
	return []byte(bombHeader + inner)
}

// TestDecodedBudget checks that a chain of encoded messages cannot make
// the parser hold more decoded bytes than MaxBytes.
func TestDecodedBudget(t *testing.T) {
	p := New(Options{Blobs: newMemBlobs(), Limits: message.Limits{MaxBytes: 1 << 20}})
	raw := qpRFC822Chain(10, 300<<10)
	if len(raw) > 1<<20 {
		t.Fatalf("test input too large: %d", len(raw))
	}
	_, err := p.Parse(t.Context(), message.ChannelIMAP, raw)
	var le *message.LimitError
	if !errors.As(err, &le) || le.Limit != "max_bytes" {
		t.Fatalf("got %v, want LimitError max_bytes", err)
	}
	if _, err := p.Parse(t.Context(), message.ChannelIMAP, qpRFC822Chain(2, 300<<10)); err != nil {
		t.Fatalf("a short chain: %v", err)
	}
}

// TestBombs feeds the parser hostile structures built here and checks
// each is refused with the right limit, without storing anything and
// without allocating much more than the input.
func TestBombs(t *testing.T) {
	lim := message.DefaultLimits
	tests := []struct {
		name  string
		raw   []byte
		limit string
	}{
		{"deep multipart 1000", deepMultipart(1000), "max_depth"},
		{"deep message/rfc822 1000", deepRFC822(1000), "max_depth"},
		{"base64 message/rfc822 chain", base64RFC822Chain(30), "max_depth"},
		{"100k parts", manyParts(100_000), "max_parts"},
		{"10 MB part header", hugePartHeader(10 << 20), "max_part_header_bytes"},
		{"10 MB top-level header line", hugeTopHeader(10 << 20), "max_part_header_bytes"},
		{"over total size", base64Attachment(int(lim.MaxBytes)), "max_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blobs := newMemBlobs()
			p := New(Options{Blobs: blobs})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			m, err := p.Parse(t.Context(), message.ChannelIMAP, tt.raw)
			runtime.ReadMemStats(&after)
			var le *message.LimitError
			if !errors.As(err, &le) || le.Limit != tt.limit {
				t.Fatalf("got %v (message %v), want LimitError %s", err, m != nil, tt.limit)
			}
			if !message.IsPermanent(err) {
				t.Errorf("limit error not permanent")
			}
			if len(blobs.m) != 0 {
				t.Errorf("%d blobs stored for a refused message", len(blobs.m))
			}
			// Memory: the parse may not allocate much beyond the input.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(tt.raw))+8<<20 {
				t.Errorf("allocated %d bytes for a %d-byte input", alloc, len(tt.raw))
			}
		})
	}
}

// TestLimitsWithinBounds checks the boundaries: at the limit passes, one
// over is refused.
func TestLimitsWithinBounds(t *testing.T) {
	p := New(Options{Blobs: newMemBlobs(), Limits: message.Limits{MaxDepth: 5, MaxParts: 10}})
	// deepMultipart(n): the root is the first multipart (depth 0), the
	// text part sits at depth n.
	if _, err := p.Parse(t.Context(), message.ChannelIMAP, deepMultipart(5)); err != nil {
		t.Errorf("depth 5: %v", err)
	}
	if _, err := p.Parse(t.Context(), message.ChannelIMAP, deepMultipart(6)); err == nil {
		t.Errorf("depth 6 accepted")
	}
	// parts: root + 9 children = 10
	if _, err := p.Parse(t.Context(), message.ChannelIMAP, manyParts(9)); err != nil {
		t.Errorf("10 parts: %v", err)
	}
	if _, err := p.Parse(t.Context(), message.ChannelIMAP, manyParts(10)); err == nil {
		t.Errorf("11 parts accepted")
	}
}

// TestOversizedAttachmentSkipped checks the policy for an attachment over
// MaxAttachmentBytes: it is skipped with a warning, the rest of the
// message is kept.
func TestOversizedAttachmentSkipped(t *testing.T) {
	blobs := newMemBlobs()
	p := New(Options{Blobs: blobs, Limits: message.Limits{MaxAttachmentBytes: 1 << 20}})
	m, err := p.Parse(t.Context(), message.ChannelIMAP, base64Attachment(2<<20))
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "see attachment" || len(m.Attachments) != 0 || len(blobs.m) != 0 {
		t.Errorf("text %q, attachments %+v, blobs %d", m.Text, m.Attachments, len(blobs.m))
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], `"big.bin"`) || !strings.Contains(m.Warnings[0], "skipped") {
		t.Errorf("warnings = %q", m.Warnings)
	}
	// Just under the limit it is kept.
	m, err = p.Parse(t.Context(), message.ChannelIMAP, base64Attachment(1<<20))
	if err != nil || len(m.Attachments) != 1 || m.Attachments[0].Size != 1<<20 {
		t.Fatalf("attachment at the limit: %v %+v", err, m)
	}
}

func TestParseErrors(t *testing.T) {
	p := New(Options{Blobs: newMemBlobs()})
	for name, raw := range map[string]string{
		"empty":      "",
		"no headers": "just some text\nwithout any header\n",
		"binary":     "\x00\x01\x02\xff",
	} {
		_, err := p.Parse(t.Context(), message.ChannelIMAP, []byte(raw))
		var pe *message.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: got %v, want ParseError", name, err)
		}
	}
}

type failingBlobs struct{ err error }

func (f failingBlobs) Put(context.Context, io.Reader) (string, int64, error) { return "", 0, f.err }

// TestBlobFailureIsTemporary checks that a blob store failure is returned
// wrapped and not classified as permanent: the task must retry.
func TestBlobFailureIsTemporary(t *testing.T) {
	disk := errors.New("disk full")
	p := New(Options{Blobs: failingBlobs{disk}})
	_, err := p.Parse(t.Context(), message.ChannelIMAP, base64Attachment(10))
	if !errors.Is(err, disk) || message.IsPermanent(err) {
		t.Fatalf("got %v, want a temporary error wrapping %v", err, disk)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = New(Options{Blobs: newMemBlobs()}).Parse(ctx, message.ChannelIMAP, base64Attachment(10))
	if !errors.Is(err, context.Canceled) || message.IsPermanent(err) {
		t.Fatalf("cancelled: got %v", err)
	}
}
