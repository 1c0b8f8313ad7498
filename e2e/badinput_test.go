package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadInputRoutedToPerson checks that a message over a parsing limit is
// kept with the limit it hit, routed to the intake-failures queue and not
// acknowledged, while the next message is processed normally.
func TestBadInputRoutedToPerson(t *testing.T) {
	e := newDesk(t, true, "limits: {max_parts: 20, max_depth: 5}\n")
	smtp := e.smtp
	e.start()

	var bomb bytes.Buffer
	bomb.WriteString("From: mallory@customer.example\r\nSubject: many parts\r\nMessage-ID: <bomb@customer.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := range 50 {
		fmt.Fprintf(&bomb, "--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i)
	}
	bomb.WriteString("--b--\r\n")
	good := customerMail(1, "carol@customer.example", "Hello", "A normal question.")
	e.deliver(bomb.Bytes(), good)
	db := e.ledger()
	e.waitSettled(db, 2, 60*time.Second)

	if n := smtp.Count(); n != 1 {
		t.Fatalf("%d acknowledgements, want 1 (only the good message)", n)
	}
	var claim struct {
		Item struct {
			ID        int64  `json:"id"`
			Reason    string `json:"reason"`
			InboundID int64  `json:"inbound_id"`
		} `json:"item"`
	}
	if code := e.api("POST", "/api/v1/queues/intake-failures/claim", supervisorToken, &claim); code != 200 {
		t.Fatalf("claim intake-failures: %d", code)
	}
	if !strings.Contains(claim.Item.Reason, "max_parts") {
		t.Fatalf("failure reason %q does not name the limit", claim.Item.Reason)
	}
	in, err := db.Inbound(t.Context(), claim.Item.InboundID)
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != "failed" || !strings.Contains(in.FailReason, "max_parts") || in.Blob == "" {
		t.Fatalf("failed inbound not kept with its reason: %+v", in)
	}
	// The raw message is still there for the person.
	if _, err := os.Stat(filepath.Join(e.dataDir, "blobs")); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenConfig checks that a broken configuration gives a clear error
// listing every problem and a non-zero exit, for check-config and serve.
func TestBrokenConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	bad := "data_dir: " + dir + "\nlog: {level: loud}\nsmtp: {tls: sometimes}\nmailboxes:\n  - {name: support, host: imap.example.com, tls: ssl}\nunknown_key: 1\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"check-config", "serve"} {
		var stderr bytes.Buffer
		c := exec.Command(binary, cmd, "-config", path)
		c.Stderr = &stderr
		err := c.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() == 0 {
			t.Fatalf("%s with a broken config: err %v, want a non-zero exit", cmd, err)
		}
		out := stderr.String()
		if !strings.Contains(out, "unknown_key") {
			t.Errorf("%s: the unknown key is not named:\n%s", cmd, out)
		}
	}
	// With the unknown key gone, every bad value is listed at once.
	if err := os.WriteFile(path, []byte(strings.Replace(bad, "unknown_key: 1\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	c := exec.Command(binary, "check-config", "-config", path)
	c.Stderr = &stderr
	if err := c.Run(); err == nil {
		t.Fatal("check-config accepted a broken config")
	}
	for _, want := range []string{"log.level", "smtp.tls", "mailboxes[0].tls", "mailboxes[0].username"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("problem %q not listed:\n%s", want, stderr.String())
		}
	}
}
