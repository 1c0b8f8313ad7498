package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/internal/testenv"
)

// TestAutomatedCorpus delivers every message under
// ../shared/corpora/automated and checks that none is acknowledged and each
// is stored and flagged with the rule that matched (RELIABILITY L1). The two
// sisimai "not" messages that are ordinary person-to-person mail
// (is-not-bounce-01/02: no automation header, a person's address) are the
// control group: they must be acknowledged, once each.
func TestAutomatedCorpus(t *testing.T) {
	corpora := testenv.Corpora(t)
	dir := filepath.Join(corpora, "automated", "sisimai")
	var automated, human [][]byte
	for _, p := range corpusFiles(t, dir) {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Some files keep the mbox "From " envelope line; an MDA strips it
		// before delivery into a mailbox (go-imap's in-memory server stores
		// such a message as empty).
		if bytes.HasPrefix(raw, []byte("From ")) {
			if i := bytes.IndexByte(raw, '\n'); i >= 0 {
				raw = raw[i+1:]
			}
		}
		if strings.Contains(p, "is-not-bounce-") {
			human = append(human, raw)
		} else {
			automated = append(automated, raw)
		}
	}
	if len(automated) < 600 || len(human) != 2 {
		t.Fatalf("corpus: %d automated, %d human messages; expected 630 and 2", len(automated), len(human))
	}
	e := newDesk(t, true, "")
	smtp := e.smtp
	e.start()
	e.deliver(append(automated, human...)...)
	db := e.ledger()
	e.waitSettled(db, len(automated)+len(human), 5*time.Minute)

	if got := smtp.Count(); got != len(human) {
		for _, r := range smtp.Messages() {
			t.Logf("acknowledged: %s", parseAck(t, r.Raw).inReplyTo)
		}
		t.Fatalf("%d acknowledgements, want %d (only the two ordinary messages)", got, len(human))
	}
	rules := map[string]int{}
	unflagged := 0
	for id := int64(1); id <= int64(len(automated)+len(human)); id++ {
		in, err := db.Inbound(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if in.Automated == "" {
			unflagged++
			if unflagged > len(human) {
				t.Logf("not flagged: inbound %d status %s reason %q", in.ID, in.Status, in.FailReason)
			}
			continue
		}
		rules[in.Automated]++
	}
	if unflagged != len(human) {
		t.Errorf("%d messages not flagged as automated, want %d", unflagged, len(human))
	}
	t.Logf("automation rules that matched: %v", rules)
}
