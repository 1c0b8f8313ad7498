package testenv

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/frontdesk/frontdesk/internal/redisproc"
)

// Redis is a real redis-server started for one test.
type Redis struct {
	*redisproc.Server
}

// StartRedis starts a redis-server on a free loopback port with its files in
// a temporary directory, and stops it when the test ends. Without
// persistence, a Restart loses everything (RELIABILITY F5). It skips the test
// when redis-server is not installed, unless CI=true.
func StartRedis(t testing.TB, persistent bool) *Redis {
	t.Helper()
	s, err := redisproc.Start(context.Background(), redisproc.Options{
		Dir:           t.TempDir(),
		NoPersistence: !persistent,
	})
	if errors.Is(err, redisproc.ErrNotInstalled) {
		Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return &Redis{s}
}

// Missing skips the test for a missing tool or corpus, but fails it when
// CI=true: CI always has everything the README's test command installs.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing in CI: %s", why)
	}
	t.Skipf("skipped: %s (the README's test command installs it)", why)
}
