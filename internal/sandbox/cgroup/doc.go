// Package cgroup owns the control groups of Cloister sandboxes: it detects
// whether the host runs cgroup v1 or v2, creates one parent group per
// controller (or one v2 parent with the controllers enabled), and gives each
// sandbox its own child group behind one small interface, Group, with a v1
// and a v2 implementation.
//
// A Group limits memory with swap disabled (v1: memory.limit_in_bytes,
// memory.memsw.limit_in_bytes when swap accounting exists, swappiness 0; v2:
// memory.max, memory.swap.max 0, memory.oom.group 1), CPU bandwidth and
// share (v1: cpu.cfs_quota_us and cpu.shares; v2: cpu.max and cpu.weight) and
// the number of tasks (pids.max). It kills every task it holds (v1: freezer,
// then SIGKILL, then thaw; v2: cgroup.kill) and reports OOM kills (v1:
// memory.oom_control, v2: memory.events) and peak memory, resettable between
// invocations (v1: memory.max_usage_in_bytes, v2: memory.peak through a
// held descriptor, Linux 6.12 or later).
//
// On v2 a child is placed into its group at clone time (CloneFD for
// SysProcAttr.CgroupFD, i.e. clone3 CLONE_INTO_CGROUP); on v1 it must be
// moved in with Attach, which after an idle spell waits for an RCU grace
// period (milliseconds), so callers should attach off the latency path.
//
// The package fails closed: Open returns an error naming what is missing
// when a required controller is unavailable, and it never falls back to
// running without a limit. It must never touch groups outside its parent.
package cgroup
