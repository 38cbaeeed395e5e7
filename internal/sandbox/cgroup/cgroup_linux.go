package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Version is the cgroup hierarchy version a Hierarchy drives.
type Version int

// The two cgroup versions.
const (
	V1 Version = 1
	V2 Version = 2
)

func (v Version) String() string { return "cgroup v" + strconv.Itoa(int(v)) }

var (
	// ErrUnavailable reports a host without the cgroup controllers a sandbox
	// needs; sandboxes must not start there.
	ErrUnavailable = errors.New("cgroup: required controllers unavailable")
	// ErrInvalidName reports a group or parent name outside [A-Za-z0-9_.-]
	// path components.
	ErrInvalidName = errors.New("cgroup: invalid name")
	// ErrPeakResetUnsupported reports a cgroup v2 kernel older than 6.12,
	// whose memory.peak cannot be reset.
	ErrPeakResetUnsupported = errors.New("cgroup: memory.peak reset needs Linux 6.12 or later")
)

// Limits are the resources of one group. A zero field leaves that limit as
// it is, so limits can be set in steps (pids at creation, memory and CPU
// when a sandbox is claimed).
type Limits struct {
	// MemoryBytes caps memory (anonymous, page cache, tmpfs, kernel) with
	// swap disabled.
	MemoryBytes int64
	// CPUMillis is the CPU bandwidth in thousandths of a CPU (1000 = one
	// CPU); the relative share (v1 cpu.shares, v2 cpu.weight) follows it.
	CPUMillis int64
	// PidsMax caps the number of tasks (processes and threads).
	PidsMax int64
}

// Group is the control group of one sandbox.
type Group interface {
	// Path names the group for logs (the memory controller's directory on v1).
	Path() string
	// Attach moves a process, with all its threads, into the group.
	Attach(pid int) error
	// CloneFD returns a directory descriptor for clone3 CLONE_INTO_CGROUP
	// (SysProcAttr.UseCgroupFD) and true, or false on cgroup v1.
	CloneFD() (int, bool)
	// SetLimits writes the non-zero fields of l.
	SetLimits(l Limits) error
	// Procs lists the processes in the group.
	Procs() ([]int, error)
	// Kill sends SIGKILL to every task in the group, including tasks forked
	// while it runs, and returns once no task is left.
	Kill() error
	// OOMKills counts the tasks the OOM killer killed in the group.
	OOMKills() (uint64, error)
	// WatchOOM starts a watch for the group's OOM kills.
	WatchOOM() (OOMWatch, error)
	// ForgiveCPU drops the CPU time the group has run past its quota, so
	// that its throttled tasks run at once (oom_linux.go says when that
	// matters). The limit itself is unchanged.
	ForgiveCPU() error
	// PeakMemory is the highest memory use since creation or the last reset.
	PeakMemory() (uint64, error)
	// ResetPeakMemory restarts PeakMemory from the current use.
	ResetPeakMemory() error
	// Remove deletes the group, which must hold no task. Repeated calls are
	// no-ops.
	Remove() error
}

// Hierarchy creates groups under one parent group.
type Hierarchy struct {
	version Version
	parent  string
	ncpu    int
	// v1: controller name -> parent directory; several controllers may
	// share one directory when they are co-mounted.
	v1 map[string]string
	// v2: the parent directory.
	v2 string
}

var (
	v1Controllers = []string{"memory", "cpu", "cpuacct", "pids", "freezer"}
	v2Controllers = []string{"memory", "cpu", "pids"}
	nameRE        = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
)

// Open detects the host's cgroup version from /proc/self/mountinfo and
// creates the parent group, a slash-separated path relative to the
// hierarchy root such as "cloister". It prefers v2 when the unified
// hierarchy offers every controller, else v1, and fails with ErrUnavailable
// naming what is missing.
func Open(parent string) (*Hierarchy, error) {
	if err := checkParent(parent); err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	mounts, err := parseMountinfo(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	var missing []string
	if root := v2Root(mounts); root != "" {
		ctrl, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		if err != nil {
			return nil, fmt.Errorf("cgroup: %w", err)
		}
		have := strings.Fields(string(ctrl))
		var lack []string
		for _, c := range v2Controllers {
			if !slices.Contains(have, c) {
				lack = append(lack, c)
			}
		}
		if len(lack) == 0 {
			return openV2(root, parent, true)
		}
		missing = append(missing, fmt.Sprintf("v2 at %s lacks %s", root, strings.Join(lack, ",")))
	}
	dirs, lack := v1Mounts(mounts)
	if len(lack) == 0 {
		return openV1(dirs, parent)
	}
	missing = append(missing, "v1 lacks "+strings.Join(lack, ","))
	return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(missing, "; "))
}

func checkParent(parent string) error {
	if parent == "" {
		return fmt.Errorf("%w: empty parent", ErrInvalidName)
	}
	for _, c := range strings.Split(parent, "/") {
		if !nameRE.MatchString(c) || c == "." || c == ".." {
			return fmt.Errorf("%w: parent %q", ErrInvalidName, parent)
		}
	}
	return nil
}

// v2Root returns the mount point of the unified hierarchy, if any.
func v2Root(mounts []mount) string {
	for _, m := range mounts {
		if m.fsType == "cgroup2" {
			return m.point
		}
	}
	return ""
}

// v1Mounts maps each required v1 controller to its mount point and lists
// the controllers no v1 hierarchy carries.
func v1Mounts(mounts []mount) (map[string]string, []string) {
	dirs := map[string]string{}
	for _, m := range mounts {
		if m.fsType != "cgroup" {
			continue
		}
		for _, o := range m.superOpts {
			if slices.Contains(v1Controllers, o) {
				if _, ok := dirs[o]; !ok {
					dirs[o] = m.point
				}
			}
		}
	}
	var lack []string
	for _, c := range v1Controllers {
		if _, ok := dirs[c]; !ok {
			lack = append(lack, c)
		}
	}
	return dirs, lack
}

// Version reports which cgroup version the hierarchy drives.
func (h *Hierarchy) Version() Version { return h.version }

// New creates the group name (one path component) under the parent.
func (h *Hierarchy) New(name string) (Group, error) {
	if !nameRE.MatchString(name) || name == "." || name == ".." {
		return nil, fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	if h.version == V2 {
		return newV2(h, name)
	}
	return newV1(h, name)
}

// Children lists the groups under the parent, for example ones a crashed
// previous run left behind.
func (h *Hierarchy) Children() ([]string, error) {
	dir := h.v2
	if h.version == V1 {
		dir = h.v1["memory"]
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && nameRE.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Adopt returns the existing group name under the parent without writing to
// it, so that a leftover group can be killed and removed.
func (h *Hierarchy) Adopt(name string) (Group, error) {
	if !nameRE.MatchString(name) || name == "." || name == ".." {
		return nil, fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	if h.version == V2 {
		return adoptV2(h, name)
	}
	return adoptV1(h, name), nil
}

// Close removes the parent groups when they are empty; groups still in use
// leave them in place (not an error).
func (h *Hierarchy) Close() error {
	var dirs []string
	if h.version == V2 {
		dirs = []string{h.v2}
	} else {
		for _, d := range h.v1 {
			if !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	var errs []error
	for _, d := range dirs {
		if err := unix.Rmdir(d); err != nil && err != unix.ENOENT && err != unix.EBUSY && err != unix.ENOTEMPTY {
			errs = append(errs, fmt.Errorf("cgroup: remove %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// cpuQuota converts CPU milli-units into a CFS quota per period, capped at
// ncpu CPUs and at least the kernel's 1 ms minimum.
func cpuQuota(millis int64, ncpu int) (quota, period int64) {
	const periodUs = 100_000
	millis = min(millis, int64(ncpu)*1000)
	return max(periodUs*millis/1000, 1000), periodUs
}

// writeFile writes v to the cgroup file path with a single write(2).
func writeFile(path, v string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cgroup: open %s: %w", path, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(v)); err != nil {
		return fmt.Errorf("cgroup: write %q to %s: %w", v, path, err)
	}
	return nil
}

// readUint reads a file holding one decimal number.
func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	return parseUint(b, path)
}

// preadUint reads a number from the start of an open cgroup file (one
// system call; a file re-read on every invocation is held open).
func preadUint(fd int, name string) (uint64, error) {
	var buf [32]byte
	n, err := unix.Pread(fd, buf[:], 0)
	if err != nil {
		return 0, fmt.Errorf("cgroup: read %s: %w", name, err)
	}
	return parseUint(buf[:n], name)
}

func parseUint(b []byte, name string) (uint64, error) {
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %s: %w", name, err)
	}
	return v, nil
}

// errNoPeak is PeakMemory's error for a group whose peak file is not open:
// one adopted (to be killed and removed), removed, or on a v2 host without
// memory.peak.
func errNoPeak(dir string) error {
	return fmt.Errorf("cgroup: %s: peak memory is not available", dir)
}

// keyedValue returns the number after key in a "key value" per line file
// such as memory.events or memory.oom_control.
func keyedValue(content []byte, key string) (uint64, error) {
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte(" "))
		if ok && string(k) == key {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cgroup: %s: %w", key, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("cgroup: no %q entry", key)
}

// parseProcs parses a cgroup.procs file.
func parseProcs(b []byte) ([]int, error) {
	var out []int
	for f := range strings.FieldsSeq(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("cgroup: bad pid %q in cgroup.procs", f)
		}
		out = append(out, pid)
	}
	return out, nil
}

// rmdirRetry removes a group directory, retrying briefly while the kernel
// finishes releasing exited tasks (EBUSY).
func rmdirRetry(dir string) error {
	delay := 100 * time.Microsecond
	for i := 0; ; i++ {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY || i == 20 {
			return fmt.Errorf("cgroup: remove %s: %w", dir, err)
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
	}
}

// hostCPUs is the number of CPUs sandboxes may share.
func hostCPUs() int { return runtime.NumCPU() }
