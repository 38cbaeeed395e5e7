package e2e

import "syscall"

// serverProcAttr makes the kernel kill a server if the test process dies
// without stopping it, so no server outlives a crashed or killed test run.
// (The signal follows the exit of the thread that started the server; Go
// ends a thread only when a goroutine locked to it exits, which nothing in
// these tests does.)
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
