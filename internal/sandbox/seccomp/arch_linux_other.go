//go:build linux && !amd64 && !arm64

package seccomp

// Architectures other than amd64 and arm64 have no classified system call
// table: Program fails with ErrUnsupportedArch and sandboxes do not start.
const (
	auditArch = 0
	x32Bit    = 0
)

var syscalls = map[string]uint32{}
