package e2e

import "syscall"

// serverProcAttr makes the kernel kill a server if the test process dies
// without stopping it, so no server outlives a crashed or killed test run.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
