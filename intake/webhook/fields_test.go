package webhook

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// OrderedFields is orderedFields for the external tests.
var OrderedFields = orderedFields

// orderedFields reads a JSON object's fields in order (a corpus sample
// of posted fields): strings as they are, other values as JSON.
func orderedFields(t *testing.T, path string) [][2]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		s, ok := v.(string)
		if !ok {
			enc, _ := json.Marshal(v)
			s = string(enc)
		}
		out = append(out, [2]string{k.(string), s})
	}
	return out
}
