package runtimes

import (
	"syscall"
	"testing"
)

// TestInstallIgnoresUmask checks the documented modes under a strict umask.
// It changes process-wide state, so it must not run in parallel.
func TestInstallIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := privateDir(t)
	root, err := Install(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkInstalled(t, root)
}
