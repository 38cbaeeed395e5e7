// Package seccomp owns the system-call policy of Cloister sandboxes: a
// declarative allow-list (policy_linux.go), a pure-Go assembler that turns it
// into a classic-BPF seccomp program, and the call that installs that program
// on every thread of the calling process.
//
// The program is assembled once per process (Program) and loaded by the
// sandbox init just before it starts the function. It
//
//   - kills the process on a foreign architecture (for example i386 system
//     calls made through int 0x80 from an x86-64 process) and on the x32 ABI;
//   - answers ENOSYS for clone3 (so that libcs fall back to clone, whose flags
//     the filter can inspect) and for every number it does not know, so that
//     libraries probing newer system calls fall back cleanly;
//   - allows the system calls a Lambda runtime needs, some only with checked
//     arguments (clone without namespace flags, socket families, mknod of
//     non-device nodes, personality, prlimit64 on the caller itself, ioctl
//     without terminal injection);
//   - answers EPERM for every other known system call: mount and the new mount
//     API, namespaces (unshare, setns), ptrace and cross-process memory access,
//     bpf, perf_event_open, userfaultfd, io_uring, keyrings, modules, kexec,
//     reboot, clock and time changes, swap, accounting, quotas, file handles,
//     chroot and friends.
//
// Every system call number known to golang.org/x/sys/unix for the
// architecture is classified explicitly; a test fails when a new one appears
// unclassified. This package must never widen the policy implicitly: an
// unknown system call is denied, never allowed.
package seccomp
