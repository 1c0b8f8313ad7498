package imap

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/message"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{Name: "sales", Host: "imap.example.com", Username: "u", Password: "p"}.withDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.TLS != TLSImplicit || c.Port != 993 || c.Folder != "INBOX" || c.Flag != DefaultFlag ||
		c.Intent != message.IntentCase || c.PollInterval != 30*time.Second ||
		c.IdleRestart != 25*time.Minute || c.BatchSize != 200 || c.BackoffMin != time.Second ||
		c.BackoffMax != 5*time.Minute || c.AcceptWorkers != 16 || c.FetchBytes != 16<<20 {
		t.Errorf("defaults: %+v", c)
	}
	if c := (Config{TLS: TLSStartTLS}).withDefaults(); c.Port != 143 {
		t.Errorf("starttls port %d", c.Port)
	}
}

func TestConfigValidateListsEveryProblem(t *testing.T) {
	err := Config{
		Name: "a:b", Port: 70000, TLS: "ssl", Intent: "complaint", Flag: `\Seen`,
		Folder: "inbox", MoveTo: "INBOX", IdleRestart: 40 * time.Minute,
		BackoffMin: time.Hour, BackoffMax: time.Minute, BatchSize: -1, MaxBytes: -1,
		AcceptWorkers: -2, FetchBytes: -1,
		PollInterval: -time.Second,
	}.Validate()
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindConfig || e.Temporary() {
		t.Fatalf("Validate = %v, want a permanent config error", err)
	}
	for _, want := range []string{
		"name", "host is required", "port 70000", `tls "ssl"`, "username", "password",
		`intent "complaint"`, "system flag", "move_to", "idle_restart", "backoff_min",
		"batch_size", "max_bytes", "poll_interval", "accept_workers", "fetch_bytes",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := (Config{Name: "x", Host: "h", Username: "u", Password: "p", Flag: "$A B"}).Validate(); err == nil {
		t.Error("keyword with a space accepted")
	}
}

// An invalid configuration ends Run at once with the error.
func TestRunRejectsInvalidConfig(t *testing.T) {
	p := New(Config{Name: "x"}, newRecorder(), newCheckpoints(), nil)
	err := p.Run(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindConfig {
		t.Fatalf("Run = %v", err)
	}
	if st := p.Status(); st.State != StateStopped || st.LastErrorKind != KindConfig {
		t.Errorf("status %+v", st)
	}
}
