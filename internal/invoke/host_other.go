//go:build !linux

package invoke

// hostMemoryMB is unknown off Linux, where no sandbox runs anyway.
func hostMemoryMB() int { return 2048 }
