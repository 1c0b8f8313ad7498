package intake

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/frontdesk/frontdesk/internal/pci"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/blob"
)

// memLedger is an in-test Ledger: one row per source key.
type memLedger struct {
	mu   sync.Mutex
	rows map[string]*store.Inbound
}

func (l *memLedger) AcceptInbound(_ context.Context, in *store.Inbound) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.rows[in.SourceKey]; ok {
		*in = *old
		return false, nil
	}
	in.ID = int64(len(l.rows) + 1)
	row := *in
	l.rows[in.SourceKey] = &row
	return true, nil
}

// memEnqueuer records the inbound ids enqueued.
type memEnqueuer struct {
	mu  sync.Mutex
	ids []int64
}

func (e *memEnqueuer) EnqueueInbound(_ context.Context, id int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ids = append(e.ids, id)
	return nil
}

func b64Lines(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var s strings.Builder
	for len(enc) > 76 {
		s.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	return s.String() + enc + "\r\n"
}

// TestAcceptMasksEncodedCards accepts a message whose card numbers are
// all hidden by an encoding and checks that none reaches the blob store:
// the stored raw copy, and every base64, quoted-printable and encoded-word
// text in it decoded, hold no card number.
func TestAcceptMasksEncodedCards(t *testing.T) {
	cards := []string{"4111111111111111", "378282246310005", "6011000990139424", "5555555555554444", "6011000000000000001", "4222222222222"}
	pdf := []byte("%PDF-1.4\n(ref 4111111111111111 and 378282246310005) Tj\n%%EOF\n")
	attached := "From: b@example.com\r\nSubject: old\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		b64Lines([]byte("old card 5555555555554444\r\n"))
	raw := "From: a@example.com\r\nTo: orders@frontdesk.example\r\n" +
		"Subject: =?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte("Karte 4222222222222")) + "?= =?utf-8?Q?und_6011_0000_0000_0000_001?=\r\n" +
		"Message-ID: <accept-1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n" +
		"--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n" +
		"--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Bitte belasten Sie 4111 1111 11=\r\n11 1111, Amex =33=37=38282246310005.\r\n" +
		"--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		b64Lines([]byte("<p>Bitte belasten Sie <b>4111 1111 1111 1111</b>, Discover 6011000990139424.</p>")) +
		"--a--\r\n" +
		"--m\r\nContent-Type: application/pdf; name=\"ref.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64Lines(pdf) +
		"--m\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64Lines([]byte(attached)) +
		"--m--\r\n"

	a, ledger, enq, blobs := newAcceptor(t)
	res, err := a.Accept(t.Context(), Submission{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: "imap:INBOX:1:1", Raw: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	// Subject 2, QP 2, HTML 2, attached message 1.
	if res.CardsMasked != 7 {
		t.Errorf("CardsMasked = %d, want 7", res.CardsMasked)
	}
	row := ledger.rows["imap:INBOX:1:1"]
	if row == nil || row.CardsMasked != res.CardsMasked || len(enq.ids) != 1 || enq.ids[0] != row.ID {
		t.Fatalf("row %+v, enqueued %v", row, enq.ids)
	}
	stored, err := blobs.Get(t.Context(), row.Blob)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(raw) || row.Size != int64(len(raw)) {
		t.Errorf("stored %d bytes, sent %d", len(stored), len(raw))
	}
	if !bytes.Contains(stored, []byte(b64Lines(pdf))) {
		t.Error("the PDF attachment was changed")
	}
	views := decodedViews(stored, 0)
	if len(views) < 6 {
		t.Fatalf("only %d decoded views of the stored message", len(views))
	}
	for _, v := range views {
		if masked, n := pci.MaskBytes(v); n != 0 && !bytes.Contains(v, []byte("%PDF")) {
			t.Errorf("card number in the stored message:\n%s", masked)
		}
		digits := onlyDigits(v)
		for _, c := range cards {
			if bytes.Contains(digits, []byte(c)) && !bytes.Contains(v, []byte("%PDF")) {
				t.Errorf("card %s in the stored message:\n%s", c, v)
			}
		}
	}
	// The same message again is a duplicate, stored the same way.
	res2, err := a.Accept(t.Context(), Submission{Channel: message.ChannelIMAP, Source: "INBOX", SourceKey: "imap:INBOX:1:1", Raw: []byte(raw)})
	if err != nil || !res2.Duplicate || res2.InboundID != res.InboundID {
		t.Errorf("second accept: %+v %v", res2, err)
	}
}

// Channels accept several messages at once, the same one twice among
// them (a migrated folder's copies): every message is stored and recorded
// once, each acceptance is enqueued.
func TestAcceptConcurrent(t *testing.T) {
	a, ledger, enq, blobs := newAcceptor(t)
	const n = 16
	results := make([]Result, 2*n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Go(func() {
			raw := fmt.Sprintf("From: c%d@example.com\r\nSubject: order %d\r\n\r\nPlease send %d.\r\n", i%n, i%n, i%n)
			results[i], errs[i] = a.Accept(t.Context(), Submission{Channel: message.ChannelIMAP, Source: "INBOX",
				SourceKey: fmt.Sprintf("imap:INBOX:1:%d", i%n), Raw: []byte(raw)})
		})
	}
	wg.Wait()
	created := 0
	for i := range 2 * n {
		if errs[i] != nil {
			t.Fatalf("accept %d: %v", i, errs[i])
		}
		if !results[i].Duplicate {
			created++
		}
		if other := results[(i+n)%(2*n)]; other.InboundID != results[i].InboundID {
			t.Errorf("one message, two inbound ids: %d and %d", results[i].InboundID, other.InboundID)
		}
	}
	if created != n || len(ledger.rows) != n || len(enq.ids) != 2*n {
		t.Errorf("%d created, %d rows, %d enqueued; want %d, %d, %d", created, len(ledger.rows), len(enq.ids), n, n, 2*n)
	}
	for key, row := range ledger.rows {
		if err := blobs.Verify(t.Context(), row.Blob); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
}

var (
	b64Line  = regexp.MustCompile(`^[A-Za-z0-9+/]{4,}={0,2}\r?$`)
	wordDec  = &mime.WordDecoder{}
	numerals = regexp.MustCompile(`[0-9][0-9 \-]*[0-9]`)
)

// decodedViews returns b and, decoded with the standard library, the
// quoted-printable reading of b, its header words and every run of base64
// lines in it (recursively, for encoded messages).
func decodedViews(b []byte, depth int) [][]byte {
	views := [][]byte{b}
	qp, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	views = append(views, qp)
	var run []string
	flush := func() {
		if len(run) > 0 {
			dec, _ := base64.StdEncoding.DecodeString(strings.Join(run, ""))
			if depth < 3 {
				views = append(views, decodedViews(dec, depth+1)...)
			}
			run = nil
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if b64Line.MatchString(line) {
			run = append(run, strings.TrimRight(line, "\r"))
			continue
		}
		flush()
		if strings.Contains(line, "=?") {
			if s, err := wordDec.DecodeHeader(line); err == nil {
				views = append(views, []byte(s))
			}
		}
	}
	flush()
	return views
}

// onlyDigits joins the digit groups of b written with spaces or dashes
// between them, so "4111 1111-1111" reads "411111111111".
func onlyDigits(b []byte) []byte {
	return numerals.ReplaceAllFunc(b, func(m []byte) []byte {
		return bytes.ReplaceAll(bytes.ReplaceAll(m, []byte(" "), nil), []byte("-"), nil)
	})
}

// newAcceptor is an Acceptor on a real blob store with the in-memory
// ledger and enqueuer of these tests.
func newAcceptor(t *testing.T) (*Acceptor, *memLedger, *memEnqueuer, *blob.Store) {
	t.Helper()
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ledger := &memLedger{rows: map[string]*store.Inbound{}}
	enq := &memEnqueuer{}
	return &Acceptor{Blobs: blobs, Ledger: ledger, Enqueuer: enq}, ledger, enq, blobs
}
