package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const hogEnv = "CGROUP_TEST_HOG"

func TestMain(m *testing.M) {
	if os.Getenv(hogEnv) == "1" {
		hog()
	}
	os.Exit(m.Run())
}

// hog waits for a line on stdin (sent once it is in its group), then
// allocates and touches memory until the OOM killer stops it.
func hog() {
	var b [1]byte
	os.Stdin.Read(b[:])
	for {
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		hoard = append(hoard, chunk)
	}
}

// hoard keeps the hog's allocations reachable.
var hoard [][]byte

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating cgroups requires root (CI runs as root)")
	}
}

func testParent(t *testing.T) string {
	return fmt.Sprintf("cloister-test-%d/%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
}

func openHost(t *testing.T) *Hierarchy {
	t.Helper()
	requireRoot(t)
	h, err := Open(testParent(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
		// The test parent's own parent.
		for _, d := range h.v1 {
			os.Remove(filepath.Dir(d))
		}
		if h.v2 != "" {
			os.Remove(filepath.Dir(h.v2))
		}
	})
	return h
}

// startIn starts the test binary as a hog (or sleeper) and attaches it.
func startIn(t *testing.T, g Group) (*exec.Cmd, *os.File) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), hogEnv+"=1")
	cmd.Stdin = r
	if fd, ok := g.CloneFD(); ok {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		w.Close()
	})
	if _, ok := g.CloneFD(); !ok {
		if err := g.Attach(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	return cmd, w
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestOpenRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "/abs", "a/../b", "a//b", "a b", "..", "x\n"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			if _, err := Open(name); !errors.Is(err, ErrInvalidName) {
				t.Fatalf("Open(%q) = %v, want ErrInvalidName", name, err)
			}
		})
	}
}

func TestCPUQuota(t *testing.T) {
	tests := []struct {
		millis      int64
		ncpu        int
		quota, want int64
	}{
		{millis: 72, ncpu: 2, want: 7200},      // 128 MB function
		{millis: 1000, ncpu: 2, want: 100_000}, // 1769 MB: one CPU
		{millis: 5789, ncpu: 2, want: 200_000}, // capped at the host's CPUs
		{millis: 1, ncpu: 2, want: 1000},       // kernel minimum
	}
	for _, tc := range tests {
		t.Run(strconv.FormatInt(tc.millis, 10), func(t *testing.T) {
			q, p := cpuQuota(tc.millis, tc.ncpu)
			if q != tc.want || p != 100_000 {
				t.Errorf("cpuQuota(%d, %d) = %d/%d, want %d/100000", tc.millis, tc.ncpu, q, p, tc.want)
			}
		})
	}
}

func TestHostGroup(t *testing.T) {
	h := openHost(t)
	t.Logf("host runs %v", h.Version())
	g, err := h.New("env-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.New("env-1"); err == nil {
		t.Error("creating an existing group succeeded")
	}
	lim := Limits{MemoryBytes: 256 << 20, CPUMillis: 500, PidsMax: 64}
	if err := g.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	if err := g.SetLimits(Limits{MemoryBytes: -1}); err == nil {
		t.Error("negative limit accepted")
	}
	files := map[string]string{}
	switch gg := g.(type) {
	case *v1Group:
		files[filepath.Join(gg.dirs["memory"], "memory.limit_in_bytes")] = "268435456"
		files[filepath.Join(gg.dirs["memory"], "memory.swappiness")] = "0"
		if gg.memsw {
			files[filepath.Join(gg.dirs["memory"], "memory.memsw.limit_in_bytes")] = "268435456"
		}
		files[filepath.Join(gg.dirs["cpu"], "cpu.cfs_quota_us")] = "50000"
		files[filepath.Join(gg.dirs["cpu"], "cpu.cfs_period_us")] = "100000"
		files[filepath.Join(gg.dirs["cpu"], "cpu.shares")] = "512"
		files[filepath.Join(gg.dirs["pids"], "pids.max")] = "64"
	case *v2Group:
		files[filepath.Join(gg.dir, "memory.max")] = "268435456"
		files[filepath.Join(gg.dir, "memory.swap.max")] = "0"
		files[filepath.Join(gg.dir, "cpu.max")] = "50000 100000"
		files[filepath.Join(gg.dir, "cpu.weight")] = "50"
		files[filepath.Join(gg.dir, "pids.max")] = "64"
	}
	for f, want := range files {
		if got := read(t, f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	// Growing the memory limit must order the v1 memsw write first.
	if err := g.SetLimits(Limits{MemoryBytes: 512 << 20}); err != nil {
		t.Fatalf("raise memory limit: %v", err)
	}

	cmd, _ := startIn(t, g)
	procs, err := g.Procs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(procs, cmd.Process.Pid) {
		t.Fatalf("Procs = %v, want %d in it", procs, cmd.Process.Pid)
	}
	// On v1 the pages the child touched before Attach stay charged to its
	// old group, so the peak may be zero here; the OOM test checks values.
	if _, err := g.PeakMemory(); err != nil {
		t.Error(err)
	}
	if err := g.ResetPeakMemory(); err != nil {
		t.Error(err)
	}
	if err := g.Remove(); err == nil {
		t.Error("removing a populated group succeeded")
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", err)
	}
	if n, err := g.OOMKills(); err != nil || n != 0 {
		t.Errorf("OOMKills = %d, %v; want 0", n, err)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := g.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if kids, err := h.Children(); err != nil || len(kids) != 0 {
		t.Errorf("Children after Remove = %v, %v", kids, err)
	}
}

func TestHostGroupOOM(t *testing.T) {
	h := openHost(t)
	g, err := h.New("oom")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	if err := g.SetLimits(Limits{MemoryBytes: 48 << 20, CPUMillis: 250}); err != nil {
		t.Fatal(err)
	}
	watch, err := g.WatchOOM()
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	noticed := make(chan error, 1)
	go func() { noticed <- watch.Wait() }()
	cmd, w := startIn(t, g)
	w.Write([]byte("\n"))
	err = cmd.Wait()
	if ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signal() != syscall.SIGKILL {
		t.Fatalf("hog ended with %v, want SIGKILL from the OOM killer", err)
	}
	if n, err := g.OOMKills(); err != nil || n == 0 {
		t.Fatalf("OOMKills = %d, %v; want > 0", n, err)
	}
	select {
	case err := <-noticed:
		if err != nil {
			t.Fatalf("WatchOOM: Wait = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WatchOOM: no notice of the OOM kill")
	}
	// ForgiveCPU leaves the limit as it was.
	quota := func() string {
		var f string
		switch g := g.(type) {
		case *v1Group:
			f = filepath.Join(g.dirs["cpu"], "cpu.cfs_quota_us")
		case *v2Group:
			f = filepath.Join(g.dir, "cpu.max")
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	before := quota()
	if err := g.ForgiveCPU(); err != nil {
		t.Fatal(err)
	}
	if after := quota(); after != before {
		t.Errorf("ForgiveCPU changed the quota from %s to %s", before, after)
	}
	if peak, err := g.PeakMemory(); err != nil || peak < 40<<20 {
		t.Errorf("PeakMemory = %d, %v; want about 48 MiB", peak, err)
	}
	// The group is empty now: a reset brings the peak down to its use.
	if err := g.ResetPeakMemory(); err != nil {
		if !errors.Is(err, ErrPeakResetUnsupported) {
			t.Fatal(err)
		}
		return
	}
	if peak, err := g.PeakMemory(); err != nil || peak >= 40<<20 {
		t.Errorf("PeakMemory after reset = %d, %v; want far below 48 MiB", peak, err)
	}
}

func TestHostChildrenAndAdopt(t *testing.T) {
	h := openHost(t)
	if _, err := h.New("left-over"); err != nil {
		t.Fatal(err)
	}
	kids, err := h.Children()
	if err != nil || !slices.Equal(kids, []string{"left-over"}) {
		t.Fatalf("Children = %v, %v", kids, err)
	}
	g, err := h.Adopt("left-over")
	if err != nil {
		t.Fatal(err)
	}
	// An adopted group is for killing and removing: it reads no peak.
	if _, err := g.PeakMemory(); err == nil {
		t.Error("PeakMemory of an adopted group succeeded")
	}
	cmd, _ := startIn(t, g)
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
}

// TestV2WithoutControllers exercises the v2 code paths that need no
// controller (creation, CLONE_INTO_CGROUP, listing, cgroup.kill, removal)
// on the unified hierarchy of a v1 host.
func TestV2WithoutControllers(t *testing.T) {
	requireRoot(t)
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := parseMountinfo(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	root := v2Root(mounts)
	if root == "" {
		t.Skip("no cgroup2 mount on this host")
	}
	h, err := openV2(root, testParent(t), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
		os.Remove(filepath.Dir(h.v2))
	})
	g, err := h.New("env")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.CloneFD(); !ok {
		t.Fatal("no CloneFD on v2")
	}
	cmd, _ := startIn(t, g) // placed with clone3 CLONE_INTO_CGROUP
	procs, err := g.Procs()
	if err != nil || !slices.Equal(procs, []int{cmd.Process.Pid}) {
		t.Fatalf("Procs = %v, %v; want [%d]", procs, err, cmd.Process.Pid)
	}
	cg := read(t, fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
	if !strings.Contains(cg, "0::/"+h.parent+"/env") {
		t.Errorf("child's /proc/pid/cgroup:\n%s\nwant 0::/%s/env", cg, h.parent)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signal() != syscall.SIGKILL {
			t.Errorf("child ended with %v, want SIGKILL", ws)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cgroup.kill did not kill the child")
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("group directory still there: %v", err)
	}
}

func TestV1Mounts(t *testing.T) {
	mounts := []mount{
		{point: "/c/cpu,cpuacct", fsType: "cgroup", superOpts: []string{"rw", "cpu", "cpuacct"}},
		{point: "/c/memory", fsType: "cgroup", superOpts: []string{"rw", "memory"}},
		{point: "/c/systemd", fsType: "cgroup", superOpts: []string{"rw", "name=systemd"}},
		{point: "/c/unified", fsType: "cgroup2", superOpts: []string{"rw"}},
	}
	dirs, lack := v1Mounts(mounts)
	if diff := cmp.Diff([]string{"pids", "freezer"}, lack); diff != "" {
		t.Errorf("missing controllers (-want +got):\n%s", diff)
	}
	want := map[string]string{"cpu": "/c/cpu,cpuacct", "cpuacct": "/c/cpu,cpuacct", "memory": "/c/memory"}
	if diff := cmp.Diff(want, dirs); diff != "" {
		t.Errorf("dirs (-want +got):\n%s", diff)
	}
	if got := v2Root(mounts); got != "/c/unified" {
		t.Errorf("v2Root = %q", got)
	}
}

// TestHostOOMWatchClose: closing a watch ends a Wait blocked on it.
func TestHostOOMWatchClose(t *testing.T) {
	h := openHost(t)
	g, err := h.New("watch")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	watch, err := g.WatchOOM()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- watch.Wait() }()
	time.Sleep(10 * time.Millisecond)
	watch.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Wait on a closed watch returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Close")
	}
}
