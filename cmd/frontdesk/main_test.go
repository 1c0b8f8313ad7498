package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	example := filepath.Join(dir, "example.yaml")
	if err := os.WriteFile(good, []byte("data_dir: "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("data_dir: "+dir+"\nredis: {adr: x}\npipeline: {concurrency: -1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ex bytes.Buffer
	if code := run([]string{"check-config", "-example"}, &ex, &ex); code != 0 || ex.Len() == 0 {
		t.Fatalf("check-config -example: %d", code)
	}
	if err := os.WriteFile(example, ex.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "frontdesk"},
		{nil, 2, "usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"check-config", "-config", good}, 0, "configuration ok"},
		{[]string{"check-config", "-config", example}, 0, "configuration ok"},
		{[]string{"check-config", "-config", bad}, 2, "adr"},
		{[]string{"check-config", "-config", bad}, 2, "pipeline.concurrency"},
		{[]string{"check-config", "-config", filepath.Join(dir, "missing.yaml")}, 2, "missing.yaml"},
		{[]string{"serve", "-config", bad}, 2, "invalid configuration"},
		{[]string{"check-config", "-env"}, 0, "FRONTDESK_REDIS_ADDR"},
	} {
		var out bytes.Buffer
		code := run(tc.args, &out, &out)
		if code != tc.code || !strings.Contains(out.String(), tc.out) {
			t.Errorf("frontdesk %v: exit %d, want %d, output lacks %q:\n%s", tc.args, code, tc.code, tc.out, out.String())
		}
	}
}
