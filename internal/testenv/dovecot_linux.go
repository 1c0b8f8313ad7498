package testenv

import "syscall"

// dovecotSysProcAttr puts Dovecot in its own process group (so that a hung
// instance can be killed whole) and stops it if the test binary dies.
func dovecotSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
