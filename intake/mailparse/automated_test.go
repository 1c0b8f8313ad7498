package mailparse

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/frontdesk/frontdesk/message"
)

func rules(sig []message.Signal) string {
	var r []string
	for _, s := range sig {
		n := s.Rule
		if s.Weak {
			n += "(weak)"
		}
		r = append(r, n)
	}
	return strings.Join(r, ",")
}

// TestGoldenAutomated checks that every bounce, report and auto-reply of
// the sisimai set is detected as automated by a strong signal, and keeps
// which rules fired per file in testdata/golden/own/automated-summary.txt.
func TestGoldenAutomated(t *testing.T) {
	dir := filepath.Join(corporaDir(t), "automated", "sisimai", "bsd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs := newMemBlobs()
	p := New(testOptions(blobs))
	var summary bytes.Buffer
	first := map[string]int{}
	reports := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m, err := p.Parse(t.Context(), message.ChannelIMAP, readFile(t, filepath.Join(dir, e.Name())))
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		checkMessage(t, e.Name(), m, blobs)
		s, ok := m.Automated()
		if !ok {
			t.Errorf("%s: not detected as automated (signals: %s; subject %q)", e.Name(), rules(m.Automation), m.Subject)
		}
		first[s.Rule]++
		rep := ""
		if m.Report != nil {
			reports++
			rep = fmt.Sprintf("\treport=%s failed=%d permanent=%v original=%v", m.Report.Type,
				len(m.Report.FailedRecipients), m.Report.Permanent, m.Report.OriginalMessageID != "")
		}
		fmt.Fprintf(&summary, "%s\t%s\t%s%s\n", e.Name(), s.Rule, rules(m.Automation), rep)
	}
	var keys []string
	for k := range first {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&summary, "\n# first strong rule: files\n")
	for _, k := range keys {
		fmt.Fprintf(&summary, "# %s: %d\n", k, first[k])
	}
	fmt.Fprintf(&summary, "# with a report: %d of %d\n", reports, len(entries))
	compareGolden(t, filepath.Join("testdata", "golden", "own", "automated-summary.txt"), summary.Bytes())
}

// TestNotAutomated checks mail that looks automated but is from people:
// sisimai's "not" set and talon's human replies.
func TestNotAutomated(t *testing.T) {
	root := corporaDir(t)
	p := New(testOptions(newMemBlobs()))
	parse := func(path string) *message.Message {
		m, err := p.Parse(t.Context(), message.ChannelIMAP, readFile(t, path))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return m
	}
	not := filepath.Join(root, "automated", "sisimai", "not")
	for _, name := range []string{"is-not-bounce-01.eml", "is-not-bounce-02.eml"} {
		// 01 is a plain Japanese message; 02 is a person's mail with a
		// message/rfc822 attachment (an encapsulated message is no report).
		if m := parse(filepath.Join(not, name)); len(m.Automation) > 0 || m.Report != nil {
			t.Errorf("%s: flagged as automated: %s", name, rules(m.Automation))
		}
	}
	// rb-issue-368-bug.eml is in sisimai's "not" set only because sisimai
	// cannot decode its bounce format: it is a real bounce (From:
	// postmaster, Return-Path: <>, Auto-Submitted: auto-replied) and must
	// never be acknowledged.
	m := parse(filepath.Join(not, "rb-issue-368-bug.eml"))
	if s, ok := m.Automated(); !ok || s.Rule != RuleAutoSubmitted {
		t.Errorf("rb-issue-368-bug.eml: want automated by auto-submitted, got %s", rules(m.Automation))
	}

	talon, err := filepath.Glob(filepath.Join(root, "mail", "talon-replies", "tests", "fixtures", "*", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(root, "mail", "talon-replies", "tests", "fixtures", "*.eml"))
	talon = append(talon, more...)
	if len(talon) == 0 {
		t.Fatal("no talon replies found")
	}
	for _, f := range talon {
		if m := parse(f); m.Report != nil {
			t.Errorf("%s: has a report", f)
		} else if s, ok := m.Automated(); ok {
			t.Errorf("%s: flagged as automated by %s", f, s.Rule)
		}
	}
}

// compareGolden compares got with the golden file, or rewrites it with -update.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no golden file %s (run go test -run Golden -update): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -run Golden -update and review the diff)\n%s", path, firstDiff(want, got))
	}
}

// TestForwardedBounce: a person forwarding a bounce with the report quoted
// (sisimai's lhost-sendmail-14) is filed for a person, not acknowledged;
// the same subject without a quoted failed report, or a forwarded
// out-of-office, is a person's message.
func TestForwardedBounce(t *testing.T) {
	dsn := "> Final-Recipient: RFC822; kijitora@example.com\n> Action: failed\n> Status: 5.1.1\n"
	for _, tc := range []struct {
		subject, text string
		want          bool
	}{
		{"Fwd: Returned mail: see transcript for details", "Forward the message.\n" + dsn, true},
		{"FW: Fwd: Undeliverable: order 12", dsn, true},
		{"Fwd: Returned mail: see transcript for details", "Why did this bounce?", false},
		{"Returned mail: see transcript for details", dsn, false}, // not forwarded: other rules decide
		{"Fwd: Out of office", dsn, false},
		{"Fwd: my order", dsn, false},
	} {
		if got := forwardedBounce(tc.subject, tc.text); got != tc.want {
			t.Errorf("forwardedBounce(%q) = %v, want %v", tc.subject, got, tc.want)
		}
	}
}
