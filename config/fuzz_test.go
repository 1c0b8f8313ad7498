package config

import (
	"strings"
	"testing"
)

// FuzzLoad feeds the loader arbitrary YAML and environment variables
// (newline-separated; _FILE variants are dropped so no file is read). It
// must never panic, and it returns either a valid config or problems.
func FuzzLoad(f *testing.F) {
	f.Add(Example(), "")
	f.Add([]byte("mailboxes:\n  - name: a\n"), "FRONTDESK_MAILBOXES_0_HOST=h\nFRONTDESK_MAILBOXES_3_PORT=1")
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		var environ []string
		for line := range strings.SplitSeq(env, "\n") {
			if k, _, _ := strings.Cut(line, "="); !strings.HasSuffix(k, fileSuffix) {
				environ = append(environ, line)
			}
		}
		c, err := Parse(data, environ)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c != nil, err)
		}
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("loaded config does not validate: %v", verr)
			}
			_ = c.OwnAddresses()
		} else if err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
