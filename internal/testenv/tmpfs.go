package testenv

import (
	"os"
	"syscall"
	"testing"
)

// MountTmpfs mounts a real tmpfs with opts (e.g. "size=256k,mode=0700") on a
// fresh directory, so a full or read-only disk is the kernel's, not
// simulated. It needs root; the test is skipped where mounting is refused.
func MountTmpfs(t testing.TB, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}
