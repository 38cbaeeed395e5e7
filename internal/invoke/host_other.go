//go:build !linux

package invoke

// hostMemoryMB is unknown off Linux, where no sandbox runs anyway.
func hostMemoryMB() int { return 2048 }

// allowedCPUs is unknown off Linux.
func allowedCPUs() []int { return nil }
