package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// problemsOf returns the Problems in err, failing the test when err is
// something else.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v (%T) is not Problems", err, err)
	}
	return ps
}

func TestDefaultValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	c, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load(\"\", nil) = %v", err)
	}
	want := map[string][2]any{
		"store.dsn":               {c.Store.DSN, filepath.Join("data", "frontdesk.db")},
		"store.inline_blob_bytes": {c.Store.InlineBlobBytes, int64(262144)},
		"smtp.outbox_dir":         {c.SMTP.OutboxDir, filepath.Join("data", "outbox")},
		"smtp.port":               {c.SMTP.Port, 587},
		"instance.domain":         {c.Instance.Domain, "frontdesk.invalid"},
		"http.listen":             {c.HTTP.Listen, "127.0.0.1:8025"},
		"redis.addr":              {c.Redis.Addr, ""},
		"ack.enabled":             {c.Ack.Enabled, true},
		"limits.max_parts":        {c.Limits.MaxParts, 500},
		"pipeline.tci":            {c.Pipeline.TaskCheckInterval, 5 * time.Millisecond},
		"sla.low":                 {c.SLA.Low, 72 * time.Hour},
		"classify.rules len":      {len(c.Classify.Rules), 2},
	}
	for name, gw := range want {
		if gw[0] != gw[1] {
			t.Errorf("%s = %v, want %v", name, gw[0], gw[1])
		}
	}
	if got := c.Limits.Message(); got.MaxBytes != 50<<20 || got.MaxAttachmentBytes != 25<<20 {
		t.Errorf("Limits.Message() = %+v", got)
	}
}

func TestExampleValid(t *testing.T) {
	c, err := Parse(Example(), nil)
	if err != nil {
		t.Fatalf("example.yaml: %v", err)
	}
	if len(c.Mailbox) != 2 {
		t.Fatalf("mailboxes = %d, want 2", len(c.Mailbox))
	}
	orders := c.Mailbox[1]
	if orders.Intent != "order" || orders.Queue != "orders" || orders.Folder != "INBOX" ||
		orders.Flag != "$Frontdesk" || orders.PollInterval != 30*time.Second || orders.IdleRestart != 25*time.Minute {
		t.Errorf("orders mailbox defaults not applied: %+v", orders)
	}
	if len(c.HTTP.Tokens) != 3 || c.HTTP.Tokens[2].Role != RoleSupervisor {
		t.Errorf("tokens = %+v", c.HTTP.Tokens)
	}
	if c.Instance.Domain != "desk.example.com" {
		t.Errorf("instance.domain = %q", c.Instance.Domain)
	}
	own := c.OwnAddresses()
	for _, a := range []string{"noreply@desk.example.com", "support@example.com", "orders@example.com"} {
		if !slices.Contains(own, a) {
			t.Errorf("OwnAddresses() = %v, lacks %s", own, a)
		}
	}
}

// TestExampleCoversEveryField checks example.yaml names every field of the
// struct, so it stays the complete reference.
func TestExampleCoversEveryField(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal(Example(), &doc); err != nil {
		t.Fatal(err)
	}
	var check func(t reflect.Type, nodes []*yaml.Node, path string)
	check = func(typ reflect.Type, nodes []*yaml.Node, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key := yamlKey(f)
			var found []*yaml.Node
			for _, n := range nodes {
				for j := 0; j+1 < len(n.Content); j += 2 {
					if n.Content[j].Value == key {
						found = append(found, n.Content[j+1])
					}
				}
			}
			if len(found) == 0 {
				t.Errorf("example.yaml lacks %s%s", path, key)
				continue
			}
			switch {
			case f.Type.Kind() == reflect.Struct:
				check(f.Type, found, path+key+".")
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				var entries []*yaml.Node
				for _, n := range found {
					entries = append(entries, n.Content...)
				}
				check(f.Type.Elem(), entries, path+key+"[].")
			}
		}
	}
	check(reflect.TypeFor[Config](), doc.Content, "")
}

func TestUnknownKeyRejected(t *testing.T) {
	yml := `data_dir: /tmp/x
mailboxes:
  - name: support
    host: imap.example.com
    username: u
    pasword: secret
`
	_, err := Parse([]byte(yml), nil)
	if err == nil {
		t.Fatal("unknown key accepted")
	}
	ps := problemsOf(t, err)
	if !strings.Contains(err.Error(), "line 6: field pasword not found") {
		t.Errorf("error does not name the key and its line:\n%v", err)
	}
	// The missing password is reported too, in the same run.
	if !slices.ContainsFunc(ps, func(p Problem) bool { return p.Path == "mailboxes[0].password" }) {
		t.Errorf("problems lack mailboxes[0].password:\n%v", err)
	}
}

func TestEveryProblemListedAtOnce(t *testing.T) {
	yml := `log:
  level: loud
mailboxes:
  - name: support
    tls: ssl
    username: u
    password: p
http:
  tokens:
    - name: alice
      token: short
      role: csr
sla:
  low: -1h
`
	_, err := Parse([]byte(yml), nil)
	ps := problemsOf(t, err)
	want := []string{
		`log.level: must be debug, info, warn or error, got "loud"`,
		`http.tokens[0].token: must be at least 16 characters, got 5`,
		`mailboxes[0].host: required`,
		`mailboxes[0].tls: must be implicit, starttls or none, got "ssl"`,
		`sla.low: must be a positive duration such as 30s or 25m, got -1h0m0s`,
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasPrefix(err.Error(), "config: 5 problems:") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestDurationMustBeString(t *testing.T) {
	_, err := Parse([]byte("sla:\n  low: 3600\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("integer duration: err = %v, want a line-2 problem", err)
	}
}

func TestYAMLListReplacesDefaults(t *testing.T) {
	c, err := Parse([]byte("classify:\n  rules: []\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Classify.Rules) != 0 {
		t.Errorf("rules = %v, want none", c.Classify.Rules)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "frontdesk.yaml")
	if err := os.WriteFile(path, Example(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, nil); err != nil {
		t.Fatalf("Load(example) = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("log: {level: loud}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(bad) = %v, want an error naming the file", err)
	}
	problemsOf(t, err)
}

func TestParseOddDocuments(t *testing.T) {
	for name, tc := range map[string]struct {
		yml string
		ok  bool
	}{
		"empty":         {"", true},
		"comments only": {"# nothing here\n", true},
		"two documents": {"data_dir: a\n---\ndata_dir: b\n", false},
		"syntax error":  {"data_dir: [\n", false},
		"not a mapping": {"- a\n- b\n", false},
		"wrong type":    {"http: 5\n", false},
	} {
		_, err := Parse([]byte(tc.yml), nil)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", name, err, tc.ok)
		}
	}
}
