package testenv

import (
	"os"
	"testing"
	"time"
)

// TestProcessCPUTime reads this test's own CPU time: it grows while the
// test burns CPU, and a process that does not exist is an error.
func TestProcessCPUTime(t *testing.T) {
	before, err := ProcessCPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		for i := range 1_000_000 {
			x += i
		}
		after, err := ProcessCPUTime(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			return
		}
	}
	t.Fatalf("CPU time stayed at %v over 10 s of burning CPU (%d)", before, x)
}

func TestProcessCPUTimeGone(t *testing.T) {
	if _, err := ProcessCPUTime(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
