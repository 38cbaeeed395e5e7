//go:build linux && amd64

package seccomp

import "golang.org/x/sys/unix"

// auditArch is the AUDIT_ARCH value of native system calls.
const auditArch = unix.AUDIT_ARCH_X86_64

// x32Bit marks x32-ABI system call numbers (__X32_SYSCALL_BIT); the x32 ABI
// shares AUDIT_ARCH_X86_64, so the filter checks the bit explicitly.
const x32Bit = 0x40000000
