package invoke

import "golang.org/x/sys/unix"

// hostMemoryMB is the machine's physical memory.
func hostMemoryMB() int {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 2048
	}
	return int(uint64(si.Totalram) * uint64(si.Unit) >> 20)
}
