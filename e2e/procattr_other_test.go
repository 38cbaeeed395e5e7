//go:build !linux

package e2e

import "syscall"

// serverProcAttr: outside Linux there is no parent-death signal; cleanup
// stops every server the tests start.
func serverProcAttr() *syscall.SysProcAttr { return nil }
