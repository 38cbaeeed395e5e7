package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// openV2 creates the parent under the unified hierarchy mounted at root.
// requireControllers is false only in tests on hosts whose controllers are
// all bound to v1: group creation, placement, listing and cgroup.kill work
// without controllers, limits do not.
func openV2(root, parent string, requireControllers bool) (*Hierarchy, error) {
	h := &Hierarchy{version: V2, parent: parent, ncpu: hostCPUs(), v2: filepath.Join(root, parent)}
	enable := "+" + strings.Join(v2Controllers, " +")
	dir := root
	for _, c := range append([]string{""}, strings.Split(parent, "/")...) {
		if c != "" {
			dir = filepath.Join(dir, c)
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("cgroup: create parent: %w", err)
			}
		}
		if requireControllers {
			if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), enable); err != nil {
				return nil, fmt.Errorf("%w: enable controllers in %s (a group with processes cannot delegate them): %v", ErrUnavailable, dir, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(h.v2, "cgroup.kill")); err != nil {
		return nil, fmt.Errorf("%w: no cgroup.kill (needs Linux 5.14 or later)", ErrUnavailable)
	}
	return h, nil
}

// v2Group is a group of the unified hierarchy.
type v2Group struct {
	dir    string
	fd     int // the group directory, for CLONE_INTO_CGROUP
	peak   int // memory.peak, or -1
	peakRW bool
	ncpu   int
}

func adoptV2(h *Hierarchy, name string) (*v2Group, error) {
	g := &v2Group{dir: filepath.Join(h.v2, name), fd: -1, peak: -1, ncpu: h.ncpu}
	fd, err := unix.Open(g.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cgroup: open %s: %w", g.dir, err)
	}
	g.fd = fd
	return g, nil
}

func newV2(h *Hierarchy, name string) (Group, error) {
	dir := filepath.Join(h.v2, name)
	if err := unix.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: create %s: %w", dir, err)
	}
	g, err := adoptV2(h, name)
	if err != nil {
		unix.Rmdir(dir)
		return nil, err
	}
	if err := g.init(); err != nil {
		g.Remove()
		return nil, err
	}
	return g, nil
}

// init configures a fresh group when its controllers are enabled.
func (g *v2Group) init() error {
	if _, err := os.Stat(filepath.Join(g.dir, "memory.max")); err != nil {
		return nil // no controllers: test hierarchy
	}
	if err := writeFile(filepath.Join(g.dir, "memory.oom.group"), "1"); err != nil {
		return err
	}
	swap := filepath.Join(g.dir, "memory.swap.max")
	if _, err := os.Stat(swap); err == nil {
		if err := writeFile(swap, "0"); err != nil {
			return err
		}
	} else if swapEnabled() {
		return fmt.Errorf("%w: the host has swap but no memory.swap.max", ErrUnavailable)
	}
	peak := filepath.Join(g.dir, "memory.peak")
	if fd, err := unix.Open(peak, unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		g.peak, g.peakRW = fd, true
	} else if fd, err := unix.Open(peak, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		g.peak = fd
	}
	return nil
}

func (g *v2Group) Path() string { return g.dir }

func (g *v2Group) CloneFD() (int, bool) { return g.fd, g.fd >= 0 }

func (g *v2Group) Attach(pid int) error {
	return writeFile(filepath.Join(g.dir, "cgroup.procs"), strconv.Itoa(pid))
}

func (g *v2Group) SetLimits(l Limits) error {
	if l.MemoryBytes < 0 || l.CPUMillis < 0 || l.PidsMax < 0 {
		return fmt.Errorf("cgroup: negative limit %+v", l)
	}
	if l.MemoryBytes > 0 {
		if err := writeFile(filepath.Join(g.dir, "memory.max"), strconv.FormatInt(l.MemoryBytes, 10)); err != nil {
			return err
		}
	}
	if l.CPUMillis > 0 {
		quota, period := cpuQuota(l.CPUMillis, g.ncpu)
		if err := writeFile(filepath.Join(g.dir, "cpu.max"), fmt.Sprintf("%d %d", quota, period)); err != nil {
			return err
		}
		weight := min(max(1, 100*l.CPUMillis/1000), 10000)
		if err := writeFile(filepath.Join(g.dir, "cpu.weight"), strconv.FormatInt(weight, 10)); err != nil {
			return err
		}
	}
	if l.PidsMax > 0 {
		if err := writeFile(filepath.Join(g.dir, "pids.max"), strconv.FormatInt(l.PidsMax, 10)); err != nil {
			return err
		}
	}
	return nil
}

func (g *v2Group) Procs() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	return parseProcs(b)
}

// Kill uses cgroup.kill, which the kernel applies to tasks forked
// concurrently, then waits until the group is empty.
func (g *v2Group) Kill() error {
	if err := writeFile(filepath.Join(g.dir, "cgroup.kill"), "1"); err != nil {
		return err
	}
	// A task throttled for CPU debt cannot die until the debt is paid.
	if err := g.ForgiveCPU(); err != nil {
		return err
	}
	return waitFor(func() (bool, error) {
		p, err := g.Procs()
		return len(p) == 0, err
	})
}

func (g *v2Group) OOMKills() (uint64, error) {
	b, err := os.ReadFile(filepath.Join(g.dir, "memory.events"))
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	return keyedValue(b, "oom_kill")
}

func (g *v2Group) PeakMemory() (uint64, error) {
	if g.peak < 0 {
		return 0, errNoPeak(g.dir)
	}
	return preadUint(g.peak, "memory.peak")
}

func (g *v2Group) ResetPeakMemory() error {
	if !g.peakRW {
		return ErrPeakResetUnsupported
	}
	if _, err := unix.Pwrite(g.peak, []byte("reset\n"), 0); err != nil {
		return fmt.Errorf("cgroup: reset memory.peak: %w", err)
	}
	return nil
}

func (g *v2Group) Remove() error {
	for _, fd := range []*int{&g.fd, &g.peak} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
	return rmdirRetry(g.dir)
}
