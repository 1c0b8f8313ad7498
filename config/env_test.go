package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(secret, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=/usr/bin", // not ours: ignored
		"FRONTDESK_CONFIG=/etc/frontdesk.yaml",
		"FRONTDESK_DATA_DIR=/srv/desk",
		"FRONTDESK_REDIS_ADDR=127.0.0.1:6380",
		"FRONTDESK_REDIS_DB=3",
		"FRONTDESK_ACK_ENABLED=false",
		"FRONTDESK_SMTP_TIMEOUT=45s",
		"FRONTDESK_SMTP_PASSWORD_FILE=" + secret,
		"FRONTDESK_LIMITS_MAX_MESSAGE_BYTES=1000000",
		"FRONTDESK_MAILBOXES_1_PASSWORD=env-password",
		"FRONTDESK_MAILBOXES_0_DISABLE_IDLE=true",
		"FRONTDESK_HTTP_TOKENS_0_TOKEN=env-token-0123456789",
		"FRONTDESK_HTTP_TOKENS_1_QUEUES= orders , returns,",
		"FRONTDESK_INSTANCE_ADDRESSES=a@example.com,b@example.com",
		"FRONTDESK_CLASSIFY_RULES_0_KEYWORDS=fire",
		"FRONTDESK_DATA_DIR=/srv/desk2", // last one wins
	}
	c, err := Parse(Example(), env)
	if err != nil {
		t.Fatal(err)
	}
	for name, gw := range map[string][2]any{
		"data_dir":                    {c.DataDir, "/srv/desk2"},
		"store.dsn derived after env": {c.Store.DSN, filepath.Join("/srv/desk2", "frontdesk.db")},
		"redis.addr":                  {c.Redis.Addr, "127.0.0.1:6380"},
		"redis.db":                    {c.Redis.DB, 3},
		"ack.enabled":                 {c.Ack.Enabled, false},
		"smtp.timeout":                {c.SMTP.Timeout, 45 * time.Second},
		"smtp.password":               {c.SMTP.Password, "from-a-file"},
		"limits.max_message_bytes":    {c.Limits.MaxMessageBytes, int64(1000000)},
		"mailboxes[1].password":       {c.Mailbox[1].Password, "env-password"},
		"mailboxes[0].password kept":  {c.Mailbox[0].Password, "change-me"},
		"mailboxes[0].disable_idle":   {c.Mailbox[0].DisableIdle, true},
		"http.tokens[0].token":        {c.HTTP.Tokens[0].Token, "env-token-0123456789"},
		"http.tokens[0].name kept":    {c.HTTP.Tokens[0].Name, "alice"},
	} {
		if gw[0] != gw[1] {
			t.Errorf("%s = %#v, want %#v", name, gw[0], gw[1])
		}
	}
	if got := c.HTTP.Tokens[1].Queues; !slices.Equal(got, []string{"orders", "returns"}) {
		t.Errorf("http.tokens[1].queues = %q", got)
	}
	if got := c.Instance.Addresses; !slices.Equal(got, []string{"a@example.com", "b@example.com"}) {
		t.Errorf("instance.addresses = %q", got)
	}
	if got := c.Classify.Rules[0]; !slices.Equal(got.Keywords, []string{"fire"}) || got.Name != "something-broken" {
		t.Errorf("classify.rules[0] = %+v", got)
	}
}

// TestEnvDefinesMailbox builds a mailbox from the environment alone: the
// list grows and the entry gets the mailbox defaults.
func TestEnvDefinesMailbox(t *testing.T) {
	c, err := Parse(nil, []string{
		"FRONTDESK_MAILBOXES_0_NAME=support",
		"FRONTDESK_MAILBOXES_0_HOST=127.0.0.1",
		"FRONTDESK_MAILBOXES_0_USERNAME=u",
		"FRONTDESK_MAILBOXES_0_PASSWORD=p",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Mailbox) != 1 || c.Mailbox[0].Port != 993 || c.Mailbox[0].Queue != "support" {
		t.Errorf("mailboxes = %+v", c.Mailbox)
	}
	// A hole in the list is an incomplete entry, reported as such.
	_, err = Parse(nil, []string{"FRONTDESK_MAILBOXES_1_HOST=h"})
	ps := problemsOf(t, err)
	if !strings.Contains(err.Error(), "mailboxes[0].host: required") || !strings.Contains(err.Error(), "mailboxes[1].name: required") {
		t.Errorf("problems = %v", ps)
	}
}

func TestEnvProblems(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"FRONTDESK_SMPT_HOST=smtp.example.com", // typo
		"FRONTDESK_MAILBOXES_X_HOST=h",         // not an index
		"FRONTDESK_MAILBOXES_01_HOST=h",        // not a canonical index
		"FRONTDESK_HTTP=1",                     // a section, not a value
		"FRONTDESK_REDIS_DB=three",
		"FRONTDESK_ACK_ENABLED=maybe",
		"FRONTDESK_SMTP_TIMEOUT=30",
		"FRONTDESK_SMTP_PORT_FILE=" + file, // _FILE only for text fields
		"FRONTDESK_SMTP_PASSWORD=a",
		"FRONTDESK_SMTP_PASSWORD_FILE=" + file, // both
		"FRONTDESK_REDIS_PASSWORD_FILE=" + filepath.Join(dir, "missing"),
	}
	_, err := Parse(nil, env)
	ps := problemsOf(t, err)
	want := map[string]string{
		"FRONTDESK_SMPT_HOST":           "unknown variable",
		"FRONTDESK_MAILBOXES_X_HOST":    "unknown variable",
		"FRONTDESK_MAILBOXES_01_HOST":   "unknown variable",
		"FRONTDESK_HTTP":                "unknown variable",
		"FRONTDESK_REDIS_DB":            `redis.db: not an integer: "three"`,
		"FRONTDESK_ACK_ENABLED":         `ack.enabled: not a boolean (true or false): "maybe"`,
		"FRONTDESK_SMTP_TIMEOUT":        `smtp.timeout: not a duration such as 30s or 25m: "30"`,
		"FRONTDESK_SMTP_PORT_FILE":      "unknown variable",
		"FRONTDESK_SMTP_PASSWORD_FILE":  "set together with FRONTDESK_SMTP_PASSWORD",
		"FRONTDESK_REDIS_PASSWORD_FILE": "reading redis.password:",
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.Path] = p.Message
	}
	for path, msg := range want {
		if !strings.HasPrefix(got[path], msg) {
			t.Errorf("%s: got %q, want prefix %q", path, got[path], msg)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(ps), len(want), err)
	}
}

// TestEnvNames checks the naming rule is unambiguous and complete: every
// listed name is unique and resolves to the field it was derived from.
func TestEnvNames(t *testing.T) {
	names := EnvVars()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("two fields map to %s", n)
		}
		seen[n] = true
		concrete := strings.ReplaceAll(n, "<N>", "0")
		if _, _, ok := matchEnv(reflect.TypeFor[Config](), strings.TrimPrefix(concrete, EnvPrefix)); !ok {
			t.Errorf("%s does not resolve", concrete)
		}
	}
	for _, n := range []string{"FRONTDESK_DATA_DIR", "FRONTDESK_REDIS_ADDR", "FRONTDESK_SMTP_PASSWORD",
		"FRONTDESK_MAILBOXES_<N>_PASSWORD", "FRONTDESK_HTTP_TOKENS_<N>_TOKEN", "FRONTDESK_CLASSIFY_RULES_<N>_KEYWORDS"} {
		if !seen[n] {
			t.Errorf("EnvVars lacks %s", n)
		}
	}
	for _, n := range names {
		if seen[n+fileSuffix] {
			t.Errorf("%s%s is both a field and a _FILE variant", n, fileSuffix)
		}
	}
	if seen[EnvConfigPath] {
		t.Errorf("%s collides with a field", EnvConfigPath)
	}
}

// TestEnvVarsCoverTypes sets every leaf field from the environment, so a
// field of a type setField cannot parse fails here rather than at runtime.
func TestEnvVarsCoverTypes(t *testing.T) {
	var env []string
	for _, n := range EnvVars() {
		steps, _, _ := matchEnv(reflect.TypeFor[Config](), strings.TrimPrefix(strings.ReplaceAll(n, "<N>", "0"), EnvPrefix))
		var c Config
		f := fieldFor(reflect.ValueOf(&c).Elem(), steps)
		sample := map[reflect.Kind]string{reflect.String: "x", reflect.Bool: "true", reflect.Int: "1", reflect.Int64: "1s", reflect.Float64: "2.5", reflect.Slice: "a,b"}[f.Kind()]
		if f.Type() != durationType && f.Kind() == reflect.Int64 {
			sample = "1"
		}
		if err := setField(f, sample); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		env = append(env, strings.ReplaceAll(n, "<N>", "0")+"="+sample)
	}
	if len(env) < 60 {
		t.Errorf("only %d variables; the walk missed fields", len(env))
	}
}
