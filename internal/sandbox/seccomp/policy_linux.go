//go:build linux

package seccomp

import "golang.org/x/sys/unix"

// Return values of the filter. The low 16 bits of an errno action carry the
// errno the system call returns.
const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
)

// allowed are the system calls a function may make with any arguments. The
// list follows Docker's default profile minus everything that needs a
// capability Cloister never grants, minus obsolete or kernel-introspection
// calls.
var allowed = []string{
	// Files and descriptors.
	"read", "write", "open", "close", "stat", "fstat", "lstat", "lseek",
	"pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2",
	"pwritev2", "access", "faccessat", "faccessat2", "pipe", "pipe2", "dup",
	"dup2", "dup3", "fcntl", "flock", "fsync", "fdatasync", "syncfs", "sync",
	"sync_file_range", "truncate", "ftruncate", "fallocate", "getdents",
	"getdents64", "getcwd", "chdir", "fchdir", "rename", "renameat",
	"renameat2", "mkdir", "mkdirat", "rmdir", "creat", "link", "linkat",
	"unlink", "unlinkat", "symlink", "symlinkat", "readlink", "readlinkat",
	"chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown",
	"fchownat", "umask", "utime", "utimes", "futimesat", "utimensat",
	"statfs", "fstatfs", "statx", "newfstatat", "openat", "openat2",
	"close_range", "readahead", "fadvise64", "sendfile", "splice", "tee",
	"vmsplice", "copy_file_range", "setxattr", "lsetxattr", "fsetxattr",
	"getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr",
	"flistxattr", "removexattr", "lremovexattr", "fremovexattr", "setxattrat",
	"getxattrat", "listxattrat", "removexattrat", "file_getattr",
	"file_setattr", "cachestat", "memfd_create",
	// Polling, events, timers.
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd",
	"eventfd2", "signalfd", "signalfd4", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "inotify_init", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch", "io_setup", "io_destroy", "io_getevents", "io_submit",
	"io_cancel", "io_pgetevents",
	// Memory.
	"mmap", "mprotect", "munmap", "brk", "mremap", "msync", "mincore",
	"madvise", "remap_file_pages", "mlock", "mlock2", "munlock", "mlockall",
	"munlockall", "mbind", "set_mempolicy", "get_mempolicy",
	"set_mempolicy_home_node", "membarrier", "pkey_mprotect", "pkey_alloc",
	"pkey_free", "mseal", "map_shadow_stack",
	// Processes, threads, signals.
	"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4",
	"waitid", "kill", "tkill", "tgkill", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
	"rt_tgsigqueueinfo", "rt_sigsuspend", "sigaltstack", "pause",
	"restart_syscall", "getpid", "getppid", "gettid", "getpgid", "setpgid",
	"getpgrp", "getsid", "setsid", "set_tid_address", "set_robust_list",
	"get_robust_list", "futex", "futex_waitv", "futex_wake", "futex_wait",
	"futex_requeue", "rseq", "rseq_slice_yield", "arch_prctl", "prctl",
	"set_thread_area", "get_thread_area", "pidfd_open", "pidfd_send_signal",
	"seccomp", "landlock_create_ruleset", "landlock_add_rule",
	"landlock_restrict_self", "uretprobe", "uprobe",
	// Identity: without capabilities these can only keep or drop ids.
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "setuid", "setgid", "setreuid", "setregid", "setresuid",
	"setresgid", "setfsuid", "setfsgid", "setgroups", "capget", "capset",
	// Scheduling and limits (own process tree only without CAP_SYS_NICE).
	"sched_yield", "sched_setparam", "sched_getparam", "sched_setscheduler",
	"sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "sched_setaffinity", "sched_getaffinity",
	"sched_setattr", "sched_getattr", "getpriority", "setpriority",
	"ioprio_set", "ioprio_get", "getrlimit", "setrlimit", "getrusage",
	"getcpu",
	// Time (reading only), system information.
	"time", "gettimeofday", "clock_gettime", "clock_getres", "clock_nanosleep",
	"nanosleep", "alarm", "getitimer", "setitimer", "timer_create",
	"timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
	"times", "uname", "sysinfo", "getrandom",
	// Sockets (socket and socketpair are argument-checked below).
	"connect", "accept", "accept4", "bind", "listen", "shutdown",
	"getsockname", "getpeername", "setsockopt", "getsockopt", "sendto",
	"recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	// System V and POSIX IPC, private to the sandbox's IPC namespace.
	"shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl",
	"semtimedop", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open",
	"mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
	"mq_getsetattr",
}

// denied are known system calls that fail with EPERM. Each group names why.
var denied = []string{
	// File systems and mounts: the sandbox's view of the tree is fixed.
	"mount", "umount2", "pivot_root", "chroot", "open_tree", "open_tree_attr",
	"move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"statmount", "listmount", "swapon", "swapoff", "quotactl", "quotactl_fd",
	"name_to_handle_at", "open_by_handle_at", "fanotify_init",
	"fanotify_mark", "lookup_dcookie", "nfsservctl", "ustat", "sysfs",
	"uselib",
	// Namespaces.
	"unshare", "setns", "listns",
	// Other processes' memory and state.
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	"process_madvise", "process_mrelease", "move_pages", "migrate_pages",
	// Kernel attack surface with a long CVE record.
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
	"io_uring_enter", "io_uring_register", "add_key", "request_key", "keyctl",
	"memfd_secret", "modify_ldt",
	// Whole-machine state.
	"init_module", "finit_module", "delete_module", "create_module",
	"query_module", "get_kernel_syms", "kexec_load", "kexec_file_load",
	"reboot", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"acct", "syslog", "vhangup", "sethostname", "setdomainname", "iopl",
	"ioperm", "_sysctl", "lsm_get_self_attr", "lsm_set_self_attr",
	"lsm_list_modules",
	// Unimplemented entry points.
	"afs_syscall", "tuxcall", "security", "getpmsg", "putpmsg", "vserver",
	"epoll_ctl_old", "epoll_wait_old",
}

// unimplemented are known system calls that fail with ENOSYS. clone3 takes
// its flags in memory, where a seccomp filter cannot read them; answering
// ENOSYS makes glibc, musl and Go fall back to clone.
var unimplemented = []string{"clone3"}

// cmp holds when (low 32 bits of args[arg]) & mask == val. Every argument
// checked here is an int or unsigned int in the kernel's system call
// definition (clone uses only the low 32 bits of its flags), so the upper
// half is ignored by the kernel and need not be checked.
type cmp struct {
	arg  uint8
	mask uint32
	val  uint32
}

// clause returns act when all of its comparisons hold.
type clause struct {
	all []cmp
	act uint32
}

// argRule decides a system call by its arguments: the first clause that
// holds wins, otherwise the default applies.
type argRule struct {
	clauses []clause
	deflt   uint32
}

const all32 = 0xffffffff

// nsFlags are the namespace flags clone must not carry. CLONE_NEWTIME
// (0x80) is not listed: in clone it overlaps the exit-signal byte, and time
// namespaces can only be created with clone3 or unshare, both denied.
const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

const sockTypeMask = 0xf // SOCK_TYPE_MASK: the type without SOCK_NONBLOCK/SOCK_CLOEXEC.

func eq(arg uint8, val uint32) cmp           { return cmp{arg: arg, mask: all32, val: val} }
func masked(arg uint8, mask, val uint32) cmp { return cmp{arg: arg, mask: mask, val: val} }

// mknodRule denies character and block devices: mode is argument modeArg.
func mknodRule(modeArg uint8) argRule {
	return argRule{
		clauses: []clause{
			{all: []cmp{masked(modeArg, unix.S_IFMT, unix.S_IFCHR)}, act: retEPERM},
			{all: []cmp{masked(modeArg, unix.S_IFMT, unix.S_IFBLK)}, act: retEPERM},
		},
		deflt: retAllow,
	}
}

// argRules are the system calls allowed only with some arguments.
var argRules = map[string]argRule{
	// clone(flags, ...): threads and processes, never new namespaces.
	"clone": {
		clauses: []clause{{all: []cmp{masked(0, nsFlags, 0)}, act: retAllow}},
		deflt:   retEPERM,
	},
	// socket(domain, type, protocol): local and IP stream/datagram sockets
	// and routing netlink (getifaddrs). No packet, raw, vsock, alg, ...
	"socket": {
		clauses: []clause{
			{all: []cmp{eq(0, unix.AF_UNIX)}, act: retAllow},
			{all: []cmp{eq(0, unix.AF_INET), masked(1, sockTypeMask, unix.SOCK_STREAM)}, act: retAllow},
			{all: []cmp{eq(0, unix.AF_INET), masked(1, sockTypeMask, unix.SOCK_DGRAM)}, act: retAllow},
			{all: []cmp{eq(0, unix.AF_INET6), masked(1, sockTypeMask, unix.SOCK_STREAM)}, act: retAllow},
			{all: []cmp{eq(0, unix.AF_INET6), masked(1, sockTypeMask, unix.SOCK_DGRAM)}, act: retAllow},
			{all: []cmp{eq(0, unix.AF_NETLINK), eq(2, unix.NETLINK_ROUTE)}, act: retAllow},
		},
		deflt: retEPERM,
	},
	"socketpair": {
		clauses: []clause{{all: []cmp{eq(0, unix.AF_UNIX)}, act: retAllow}},
		deflt:   retEPERM,
	},
	// ioctl(fd, cmd, arg): no injecting input into or reconfiguring a terminal.
	"ioctl": {
		clauses: []clause{
			{all: []cmp{eq(1, unix.TIOCSTI)}, act: retEPERM},
			{all: []cmp{eq(1, unix.TIOCLINUX)}, act: retEPERM},
		},
		deflt: retAllow,
	},
	// personality(persona): the same set Docker allows (query, PER_LINUX,
	// PER_LINUX32, UNAME26); no READ_IMPLIES_EXEC, no ADDR_NO_RANDOMIZE.
	"personality": {
		clauses: []clause{
			{all: []cmp{eq(0, 0x0)}, act: retAllow},
			{all: []cmp{eq(0, 0x8)}, act: retAllow},
			{all: []cmp{eq(0, 0x20000)}, act: retAllow},
			{all: []cmp{eq(0, 0x20008)}, act: retAllow},
			{all: []cmp{eq(0, 0xffffffff)}, act: retAllow},
		},
		deflt: retEPERM,
	},
	// prlimit64(pid, ...): only on the caller itself (pid 0), so a function
	// cannot change the limits of the sandbox init, which shares its uid.
	"prlimit64": {
		clauses: []clause{{all: []cmp{eq(0, 0)}, act: retAllow}},
		deflt:   retEPERM,
	},
	// mknod(path, mode, dev) and mknodat(dirfd, path, mode, dev): FIFOs,
	// sockets and regular files, no device nodes.
	"mknod":   mknodRule(1),
	"mknodat": mknodRule(2),
}
