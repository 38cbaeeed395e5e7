// Package sandbox owns the isolation of Lambda execution environments on
// Linux: every environment runs in a sandbox made here, built from
// namespaces, a composed read-only root, an unprivileged identity, a seccomp
// filter and a cgroup. It must never run a function with less isolation than
// described below: when a kernel feature is missing, NewManager (or Start)
// fails with an error naming it (ErrIsolation), and off Linux NewManager
// returns ErrUnsupported. It never inherits the server's environment,
// descriptors or supplementary groups into a sandbox, and it never logs an
// environment value.
//
// # Process model
//
// The daemon re-executes its own binary as "cloister init" (IsInit and
// InitMain; no second binary). The manager starts the init with clone flags
// for new user, mount, pid, network, UTS and IPC namespaces (the cgroup
// namespace follows at claim time, once the init sits in its final group),
// passes it one end of a SOCK_SEQPACKET socketpair as descriptor 3 and the
// init binary, opened once by NewManager, as descriptor 4 (it is executed
// through /proc/self/fd/4, so directories the sandbox's ids cannot search
// and binaries replaced on disk do not matter). The control protocol is in
// proto.go: JSON messages, descriptors passed with SCM_RIGHTS.
//
// The init first runs as a zygote: it composes the function-agnostic root,
// brings up loopback, assembles the seccomp filter, reports ready and waits.
// Start claims a zygote: the host writes the cgroup limits, clones the
// function's directories into detached read-only mount trees (open_tree),
// and sends the spec with stdout, stderr and those trees. The init attaches
// the trees, mounts /tmp, opens the listening sockets in its network
// namespace and hands them back (Start returns here, so the host can serve
// the Runtime API while the function boots), then drops its privileges and
// forks and execs the function. A zygote serves exactly one sandbox.
//
// The init stays as pid 1 of the sandbox rather than exec'ing the function:
// it reaps orphans (Lambda runtimes do not), it gives the function ordinary
// signal semantics (a pid-1 function would ignore SIGTERM and SIGINT it
// sends itself), and it reports the exit status and notices, through the
// control socket, when the daemon dies (it then exits and the kernel kills
// the whole pid namespace). The price is the init's memory, charged to the
// sandbox's cgroup: 1 to 3 MB of anonymous memory measured here (its
// binary's pages are shared page cache). The init is as confined as the
// function: same uid and gid, no capabilities in any set, no_new_privs, the
// same seccomp filter, and in addition not dumpable (the function cannot
// open its /proc entries) and deaf to signals (it catches them all). The
// thread that forks the function is confined before the fork; the init's
// other Go threads follow 10 ms later (confine_linux.go explains why that
// window is unusable to the function and why it keeps the cold start short).
// In cgo builds the runtime cannot empty the capability bounding set of the
// init's other threads; no_new_privs makes it inert, and the daemon should
// be built with CGO_ENABLED=0 anyway.
//
// # Namespaces and identity
//
// User: each sandbox maps exactly two uids and two gids, 0 and 993 (uid) or
// 990 (gid), onto two host ids no other live sandbox or zygote on the host
// uses: a Manager locks a range of 65536 host ids for its life (flock on a
// file in /run/cloister, released by the kernel if the process dies) and
// gives slot i of it (base+2i and base+2i+1) to one sandbox at a time.
// Nothing else is mapped, so host files appear owned by nobody (65534) and
// are accessed through their "other" permission bits. The init composes the sandbox as 0 and the function runs
// as 993:990 (Lambda's sbx_user1051) with no supplementary groups. Mount,
// pid, network, UTS, IPC and cgroup namespaces are new for every sandbox:
// the function sees only its own processes, only a loopback interface, its
// own hostname (Spec.Hostname, default "localhost"), its own System V IPC,
// and "/" as its cgroup.
//
// # Root filesystem
//
// The root is a read-only tmpfs (nosuid, nodev, noexec) composed in the
// zygote's private mount namespace over /tmp (as bubblewrap does, so the
// host keeps no per-sandbox scratch directory), entered with pivot_root;
// the host tree is then detached. Mounts are added with mount_setattr, which
// keeps the flags the kernel locks on mounts inherited from the host.
//
//	/usr            host /usr, read-only, nosuid, nodev (recursive)
//	/usr/local      empty read-only tmpfs (site-local software is hidden)
//	/bin /sbin /lib /lib64 ...
//	                symlinks into usr/ on merged-/usr hosts (Debian 12),
//	                read-only binds otherwise
//	/etc            generated: passwd, group (root, sbx_user1051 993:990,
//	                nobody), hosts, nsswitch.conf, localtime -> UTC, the
//	                Amazon Linux CA bundle path; host /etc/ssl/certs and
//	                /etc/ld.so.cache bound read-only; nothing else
//	/var/task       Spec.TaskDir, read-only, nosuid, nodev
//	/var/runtime    Spec.RuntimeDir, same (empty directory if unset)
//	/opt            Spec.OptDir, same (empty directory if unset)
//	/tmp            private tmpfs of Spec.TmpMB, mode 1777, nosuid, nodev,
//	                executable (as in Lambda)
//	/proc           a proc of the sandbox's pid namespace; kcore, keys,
//	                key-users, timer_list, timer_stats, latency_stats,
//	                sched_debug, kmsg, kpage*, acpi, asound, scsi masked;
//	                sys, sysrq-trigger, irq, bus, fs, driver read-only
//	/dev            read-only tmpfs: null, zero, full, random, urandom bound
//	                from the host; fd, stdin, stdout, stderr links; no shm,
//	                no pts, no block devices
//
// There is no /sys. Nothing else of the host is visible.
//
// # Limits and descriptors
//
// RLIMIT_NOFILE 1024 (as in Lambda), RLIMIT_NPROC Config.PidsMax, RLIMIT_CORE
// 0. The function starts with exactly descriptors 0 (/dev/null), 1 and 2
// (Spec.Stdout, Spec.Stderr) and exactly Spec.Env as its environment, in
// /var/task. It stays dumpable (execve makes it so; its /proc entries stay
// its own, as in Lambda); the init is not.
//
// # seccomp
//
// See package seccomp: an allow-list in the spirit of Docker's default
// profile, tighter; foreign architectures and x32 are killed, clone3 and
// unknown system calls return ENOSYS, every other denied call EPERM. The
// program is assembled once per process (the zygote does it while warming
// up) and loaded on the forking thread, then on all of the init's threads.
//
// # cgroups
//
// See package cgroup. One group per sandbox under Config.CgroupParent:
// memory = Spec.MemoryMB with swap disabled; CPU bandwidth and share
// proportional to memory (MBPerCPU MB buy one vCPU), capped at the host's
// CPUs; pids.max = Config.PidsMax. cgroup v1 (memory, cpu, cpuacct, pids,
// freezer) is what this code is tested on, end to end. On v2 a zygote is
// cloned straight into its group (CLONE_INTO_CGROUP); the v2 paths that
// need no controller (creation, placement, listing, cgroup.kill, removal)
// are tested on a v1 host's empty unified hierarchy; limits, memory.events
// and memory.peak on v2 are written to the kernel's documented interface but
// untested here. Kill uses cgroup.kill on v2 and, on v1, SIGKILL to the
// sandbox's init: the kernel then kills every process of the pid namespace,
// which none can leave; Close falls back to the freezer if anything is left.
// OOM kills and peak memory come from memory.oom_control and
// memory.max_usage_in_bytes (v1) or memory.events and memory.peak (v2, reset
// needs Linux 6.12); both files are held open from the group's creation and
// read with one pread per invocation.
//
// A group at its memory limit reclaims in the faulting task's context, and
// that kernel time runs past the CPU quota (a task is throttled only when it
// leaves the kernel): a small function can run up a second or more of debt
// before the OOM killer strikes, and then neither it nor the init that must
// report its death can run until the debt is paid, 19 s for a 128 MB
// function measured here. Every zygote therefore watches its group for OOM
// kills (an eventfd on memory.oom_control on v1, inotify on memory.events
// on v2); when one happens it ends the sandbox, as memory.oom.group does on
// v2, and forgives the debt by writing the CPU limit back unchanged (every
// kill forgives it too). The invocation then ends in Runtime.OutOfMemory at
// once instead of a timeout. Only an ending sandbox is forgiven: otherwise a
// function could have child after child OOM-killed and run kernel time past
// its quota without ever paying for it.
//
// # Zygote pool
//
// Config.PoolSize zygotes are kept ready: namespaces created, Go start-up
// paid, root composed, filter assembled, and already in their own fresh
// cgroup. On v1 the zygote is moved in while it starts up: a move after an
// idle spell waits for an RCU grace period (6 to 9 ms here), which then
// overlaps the zygote's own start-up, and the pool keeps both off the cold
// path. A claim costs about a hundred microseconds of host work and
// a few mounts in the init. A background goroutine replaces each claimed
// zygote 20 ms after the claim, so that the replacement's fork does not
// compete with the function's boot. With PoolSize 0, or when the pool is
// drained, Start forks a zygote itself.
//
// # Known limits
//
//   - /tmp is a tmpfs: its pages count against MemoryMB (unlike Lambda,
//     whose /tmp is disk), so a function filling /tmp has less memory.
//   - The init's memory counts against MemoryMB: 1 to 3 MB measured here,
//     part of it charged while the zygote warms up in its group.
//   - Functions have no network beyond loopback: no DNS, no outbound
//     connections. That is the isolation this package promises.
//   - /proc/self/mountinfo shows the host paths bound at /var/task,
//     /var/runtime and /opt, and /proc/self/uid_map the host ids.
//   - Files of the function's code must be world-readable (and directories
//     and executables world-executable), as in Lambda: the function accesses
//     them as "other".
//   - Spawning a zygote forks the daemon (Go needs a real fork to write the
//     id maps of a new user namespace): its page tables are copied, which
//     costs more the larger the daemon's heap; it happens off the claim path.
//   - Core dumps: RLIMIT_CORE 0 stops file dumps, but a host whose
//     kernel.core_pattern pipes to a helper ("|...") gets dumps of crashing
//     sandboxed processes anyway (the kernel does not apply the limit to
//     pipes), i.e. function memory on the host: use a file pattern, or a
//     helper that discards dumps from sandboxes.
//   - One Manager per CgroupParent: NewManager kills and removes whatever it
//     finds under its parent. Host id ranges need no such care (locked).
package sandbox
