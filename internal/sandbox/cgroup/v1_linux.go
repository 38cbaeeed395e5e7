package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func openV1(mounts map[string]string, parent string) (*Hierarchy, error) {
	h := &Hierarchy{version: V1, parent: parent, ncpu: hostCPUs(), v1: map[string]string{}}
	for _, c := range v1Controllers {
		dir := filepath.Join(mounts[c], parent)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup: create parent: %w", err)
		}
		h.v1[c] = dir
	}
	// Children must be charged to their parents, or the parent's limits
	// (if an operator sets any) would not hold. Kernels since 5.x pin this to 1.
	if v, err := readUint(filepath.Join(h.v1["memory"], "memory.use_hierarchy")); err != nil || v != 1 {
		return nil, fmt.Errorf("%w: memory.use_hierarchy is not 1 under %s", ErrUnavailable, h.v1["memory"])
	}
	return h, nil
}

// v1Group is a group in every v1 controller hierarchy.
type v1Group struct {
	dirs   map[string]string // controller -> group directory
	unique []string          // distinct directories (co-mounted controllers share one)
	memsw  bool              // memory.memsw.* exists (swap accounting)
	memSet int64             // last memory limit written, 0 when unlimited
	ncpu   int
	peak   int // memory.max_usage_in_bytes, held open (read per invocation), or -1
}

func adoptV1(h *Hierarchy, name string) *v1Group {
	g := &v1Group{dirs: map[string]string{}, ncpu: h.ncpu, peak: -1}
	for _, c := range v1Controllers {
		d := filepath.Join(h.v1[c], name)
		g.dirs[c] = d
		if !slices.Contains(g.unique, d) {
			g.unique = append(g.unique, d)
		}
	}
	_, err := os.Stat(filepath.Join(g.dirs["memory"], "memory.memsw.limit_in_bytes"))
	g.memsw = err == nil
	return g
}

func newV1(h *Hierarchy, name string) (Group, error) {
	g := adoptV1(h, name)
	for i, d := range g.unique {
		if err := unix.Mkdir(d, 0o755); err != nil {
			for _, made := range g.unique[:i] {
				unix.Rmdir(made)
			}
			return nil, fmt.Errorf("cgroup: create %s: %w", d, err)
		}
	}
	_, err := os.Stat(filepath.Join(g.dirs["memory"], "memory.memsw.limit_in_bytes"))
	g.memsw = err == nil
	if !g.memsw && swapEnabled() {
		g.Remove()
		return nil, fmt.Errorf("%w: the host has swap but no memory.memsw accounting (boot with swapaccount=1)", ErrUnavailable)
	}
	_, period := cpuQuota(1000, h.ncpu)
	for _, w := range []struct{ ctrl, file, val string }{
		{"memory", "memory.swappiness", "0"},
		{"cpu", "cpu.cfs_period_us", strconv.FormatInt(period, 10)},
	} {
		if err := writeFile(filepath.Join(g.dirs[w.ctrl], w.file), w.val); err != nil {
			g.Remove()
			return nil, err
		}
	}
	fd, err := unix.Open(filepath.Join(g.dirs["memory"], "memory.max_usage_in_bytes"), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		g.Remove()
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	g.peak = fd
	return g, nil
}

func (g *v1Group) Path() string { return g.dirs["memory"] }

func (g *v1Group) CloneFD() (int, bool) { return -1, false }

func (g *v1Group) Attach(pid int) error {
	p := strconv.Itoa(pid)
	for _, d := range g.unique {
		if err := writeFile(filepath.Join(d, "cgroup.procs"), p); err != nil {
			return err
		}
	}
	return nil
}

func (g *v1Group) SetLimits(l Limits) error {
	if l.MemoryBytes < 0 || l.CPUMillis < 0 || l.PidsMax < 0 {
		return fmt.Errorf("cgroup: negative limit %+v", l)
	}
	if l.MemoryBytes > 0 {
		mem := filepath.Join(g.dirs["memory"], "memory.limit_in_bytes")
		memsw := filepath.Join(g.dirs["memory"], "memory.memsw.limit_in_bytes")
		v := strconv.FormatInt(l.MemoryBytes, 10)
		// memsw must never be below the memory limit: raise it first when
		// growing, lower it last when shrinking.
		files := []string{mem}
		if g.memsw {
			files = []string{mem, memsw}
			if g.memSet != 0 && l.MemoryBytes > g.memSet {
				files = []string{memsw, mem}
			}
		}
		for _, f := range files {
			if err := writeFile(f, v); err != nil {
				return err
			}
		}
		g.memSet = l.MemoryBytes
	}
	if l.CPUMillis > 0 {
		quota, _ := cpuQuota(l.CPUMillis, g.ncpu)
		shares := max(2, 1024*l.CPUMillis/1000)
		if err := writeFile(filepath.Join(g.dirs["cpu"], "cpu.cfs_quota_us"), strconv.FormatInt(quota, 10)); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(g.dirs["cpu"], "cpu.shares"), strconv.FormatInt(shares, 10)); err != nil {
			return err
		}
	}
	if l.PidsMax > 0 {
		if err := writeFile(filepath.Join(g.dirs["pids"], "pids.max"), strconv.FormatInt(l.PidsMax, 10)); err != nil {
			return err
		}
	}
	return nil
}

// Procs lists the union of the processes of every controller, so that a
// process attached to only some of them is not missed.
func (g *v1Group) Procs() ([]int, error) {
	var out []int
	for _, d := range g.unique {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("cgroup: %w", err)
		}
		pids, err := parseProcs(b)
		if err != nil {
			return nil, err
		}
		for _, p := range pids {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// Kill freezes the group so that nothing in it can fork, sends SIGKILL to
// every process, thaws it so the signals are delivered, and waits until
// the group is empty.
func (g *v1Group) Kill() error {
	// A task throttled for CPU debt can neither freeze nor die until the
	// debt is paid: forgive it first, and again once the kills are sent.
	if err := g.ForgiveCPU(); err != nil {
		return err
	}
	state := filepath.Join(g.dirs["freezer"], "freezer.state")
	if err := writeFile(state, "FROZEN"); err != nil {
		return err
	}
	thawed := false
	thaw := func() error {
		if thawed {
			return nil
		}
		thawed = true
		return writeFile(state, "THAWED")
	}
	defer thaw()
	if err := waitFor(func() (bool, error) {
		b, err := os.ReadFile(state)
		return strings.TrimSpace(string(b)) == "FROZEN", err
	}); err != nil {
		return fmt.Errorf("cgroup: freeze %s: %w", g.Path(), err)
	}
	pids, err := g.Procs()
	if err != nil {
		return err
	}
	for _, p := range pids {
		if err := unix.Kill(p, unix.SIGKILL); err != nil && err != unix.ESRCH {
			return fmt.Errorf("cgroup: kill %d: %w", p, err)
		}
	}
	if err := thaw(); err != nil {
		return err
	}
	if err := g.ForgiveCPU(); err != nil {
		return err
	}
	return waitFor(func() (bool, error) {
		p, err := g.Procs()
		return len(p) == 0, err
	})
}

func (g *v1Group) OOMKills() (uint64, error) {
	b, err := os.ReadFile(filepath.Join(g.dirs["memory"], "memory.oom_control"))
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	return keyedValue(b, "oom_kill")
}

func (g *v1Group) PeakMemory() (uint64, error) {
	if g.peak < 0 {
		return 0, errNoPeak(g.dirs["memory"])
	}
	return preadUint(g.peak, "memory.max_usage_in_bytes")
}

func (g *v1Group) ResetPeakMemory() error {
	if g.peak < 0 {
		return errNoPeak(g.dirs["memory"])
	}
	if _, err := unix.Pwrite(g.peak, []byte("0"), 0); err != nil {
		return fmt.Errorf("cgroup: reset memory.max_usage_in_bytes: %w", err)
	}
	return nil
}

func (g *v1Group) Remove() error {
	if g.peak >= 0 {
		unix.Close(g.peak)
		g.peak = -1
	}
	for _, d := range g.unique {
		if err := rmdirRetry(d); err != nil {
			return err
		}
	}
	return nil
}

// waitFor polls cond with a growing delay for up to five seconds; cgroup
// v1 offers no notification for freezing or emptying.
func waitFor(cond func() (bool, error)) error {
	delay := 50 * time.Microsecond
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
	}
}

// swapEnabled reports whether the host has any active swap area.
func swapEnabled() bool {
	b, err := os.ReadFile("/proc/swaps")
	if err != nil {
		return true // cannot tell: assume the worst
	}
	return len(strings.Split(strings.TrimSpace(string(b)), "\n")) > 1
}
