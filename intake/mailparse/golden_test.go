package mailparse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/frontdesk/frontdesk/internal/pci"
	"github.com/frontdesk/frontdesk/message"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenBodyMax is how much of a text or HTML body a golden file shows;
// longer bodies are cut and followed by their length and sha256, so any
// change still shows.
const goldenBodyMax = 4096

// testOptions are the options every golden run uses: an own address,
// X-Loop and Message-ID scheme to recognise.
func testOptions(blobs Blobs) Options {
	return Options{
		Blobs:          blobs,
		OwnAddresses:   []string{"support@frontdesk.example", "orders@frontdesk.example"},
		LoopID:         "frontdesk.example",
		IsOwnMessageID: func(id string) bool { return strings.HasSuffix(id, ".fd@frontdesk.example") },
	}
}

// goldenJSON renders a parse result for a golden file.
func goldenJSON(m *message.Message, err error) []byte {
	var v any
	if err != nil {
		v = struct {
			Error string `json:"error"`
			Kind  string `json:"kind"`
		}{err.Error(), errKind(err)}
	} else {
		g := *m
		g.Text = cutBody(g.Text)
		g.HTML = cutBody(g.HTML)
		v = &g
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func errKind(err error) string {
	var le *message.LimitError
	var pe *message.ParseError
	switch {
	case errors.As(err, &le):
		return "limit"
	case errors.As(err, &pe):
		return "parse"
	}
	return "other"
}

func cutBody(s string) string {
	if len(s) <= goldenBodyMax {
		return s
	}
	cut := goldenBodyMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	sum := sha256.Sum256([]byte(s))
	return s[:cut] + fmt.Sprintf("\n[... %d bytes in all, sha256 %s]", len(s), hex.EncodeToString(sum[:]))
}

// checkMessage asserts what must hold for every parsed message.
func checkMessage(t *testing.T, name string, m *message.Message, blobs *memBlobs) {
	t.Helper()
	for field, s := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML} {
		if !utf8.ValidString(s) {
			t.Errorf("%s: %s is not valid UTF-8", name, field)
		}
		if strings.ContainsRune(s, 0) {
			t.Errorf("%s: %s holds NUL", name, field)
		}
		if masked, n := pci.MaskString(s); n != 0 {
			t.Errorf("%s: %s still holds a card number: %q", name, field, masked)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("%s: subject holds a line break", name)
	}
	for _, a := range m.Attachments {
		if a.Filename == "" || strings.ContainsAny(a.Filename, "/\\\x00\r\n") || strings.HasPrefix(a.Filename, ".") {
			t.Errorf("%s: unsafe attachment name %q", name, a.Filename)
		}
		if b := blobs.get(a.Blob); b == nil || int64(len(b)) != a.Size {
			t.Errorf("%s: attachment %q: blob %s missing or wrong size", name, a.Filename, a.Blob)
		}
	}
	if m.Report != nil && m.Report.Type == "" {
		t.Errorf("%s: report without type", name)
	}
}

// TestGoldenCorpus parses every file of the mail corpus and compares the
// result with testdata/golden/<corpus path>.json.
func TestGoldenCorpus(t *testing.T) {
	root := filepath.Join(corporaDir(t), "mail")
	goldenDir := filepath.Join("testdata", "golden")
	blobs := newMemBlobs()
	p := New(testOptions(blobs))
	seen := map[string]bool{}
	var files, parsed, limitErrs, parseErrs int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files++
		gpath := filepath.Join(goldenDir, rel+".json")
		seen[gpath] = true
		m, perr := p.Parse(t.Context(), message.ChannelIMAP, readFile(t, path))
		switch errKind(perr) {
		case "limit":
			limitErrs++
		case "parse":
			parseErrs++
		case "other":
			if perr != nil {
				t.Errorf("%s: unexpected error %v", rel, perr)
				return nil
			}
			parsed++
			checkMessage(t, rel, m, blobs)
		}
		got := goldenJSON(m, perr)
		if *update {
			if err := os.MkdirAll(filepath.Dir(gpath), 0o755); err != nil {
				return err
			}
			return os.WriteFile(gpath, got, 0o644)
		}
		want, err := os.ReadFile(gpath)
		if err != nil {
			t.Errorf("%s: no golden file (run go test -run Golden -update): %v", rel, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: result differs from %s (run go test -run Golden -update and review the diff)\n%s", rel, gpath, firstDiff(want, got))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Golden files of corpus files that are gone.
	_ = filepath.WalkDir(filepath.Join(goldenDir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path, filepath.Join(goldenDir, "own")) || !strings.HasSuffix(path, ".json") {
			return err
		}
		if !seen[path] {
			if *update {
				return os.Remove(path)
			}
			t.Errorf("stale golden file %s", path)
		}
		return nil
	})
	t.Logf("%d files: %d parsed, %d limit errors, %d parse errors", files, parsed, limitErrs, parseErrs)
}

// firstDiff shows the first differing line of two golden files.
func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, w, g)
		}
	}
	return ""
}
