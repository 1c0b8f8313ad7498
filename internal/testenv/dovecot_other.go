//go:build unix && !linux

package testenv

import "syscall"

// dovecotSysProcAttr puts Dovecot in its own process group so that a hung
// instance can be killed whole.
func dovecotSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
