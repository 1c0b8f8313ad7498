package templates

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// A golden file keeps the input and the expected output together:
//
//	-- input --
//	{ AckData as JSON }
//	-- subject --
//	...
//	-- text --
//	...
//	-- html --
//	...
//
// `go test -run Golden -update` rewrites the three outputs from the input.
func TestGolden(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/golden/*.golden")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sec := splitSections(t, string(raw))
			var data AckData
			dec := json.NewDecoder(strings.NewReader(sec["input"]))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&data); err != nil {
				t.Fatalf("input: %v", err)
			}
			r, err := set.RenderAck(data)
			if err != nil {
				t.Fatalf("RenderAck: %v", err)
			}
			got := joinSections(sec["input"], r)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(raw) {
				t.Errorf("render differs from %s (run with -update to accept):\n%s", path, diffLines(string(raw), got))
			}
		})
	}
}

func splitSections(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var name string
	var buf strings.Builder
	flush := func() {
		if name != "" {
			out[name] = buf.String()
		}
		buf.Reset()
	}
	for _, line := range strings.SplitAfter(s, "\n") {
		trimmed := strings.TrimRight(line, "\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			flush()
			name = strings.TrimSuffix(strings.TrimPrefix(trimmed, "-- "), " --")
			continue
		}
		buf.WriteString(line)
	}
	flush()
	if _, ok := out["input"]; !ok {
		t.Fatal("golden file has no -- input -- section")
	}
	return out
}

func joinSections(input string, r Rendered) string {
	var b bytes.Buffer
	b.WriteString("-- input --\n" + input)
	b.WriteString("-- subject --\n" + r.Subject + "\n")
	b.WriteString("-- text --\n" + r.Text)
	b.WriteString("-- html --\n" + r.HTML)
	return b.String()
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}
