//go:build linux && arm64

package seccomp

import "golang.org/x/sys/unix"

// auditArch is the AUDIT_ARCH value of native system calls.
const auditArch = unix.AUDIT_ARCH_AARCH64

// x32Bit is zero: arm64 has no second ABI sharing its audit architecture
// (32-bit arm compat calls carry AUDIT_ARCH_ARM and are killed).
const x32Bit = 0
