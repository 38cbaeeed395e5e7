package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/cloister/cloister/internal/sandbox"
)

// info mirrors the probe's Info.
type info struct {
	Args       []string
	Env        []string
	Cwd        string
	UID, EUID  int
	GID, EGID  int
	Groups     []int
	Hostname   string
	Status     map[string]string
	InitStatus []map[string]string
	Rlimits    map[string][2]uint64
	Mounts     map[string]string
	Dev        []string
	Etc        []string
	Root       []string
	TmpBytes   uint64
	Pids       []int
	Cgroup     string
	UIDMap     string
	Certs      bool
}

func probeInfo(t *testing.T, m *sandbox.Manager, spec sandbox.Spec) info {
	t.Helper()
	r := runSpec(t, m, spec)
	if r.exit != (sandbox.Exit{}) {
		t.Fatalf("probe info: exit %+v, stderr %s", r.exit, r.stderr)
	}
	var in info
	if err := json.Unmarshal([]byte(r.stdout), &in); err != nil {
		t.Fatalf("probe info output %q: %v", r.stdout, err)
	}
	return in
}

const zeroCaps = "0000000000000000"

// TestEnvironment checks what a function sees: argv, environment, identity,
// confinement, limits, the mount layout, /dev, /proc and cgroup views.
func TestEnvironment(t *testing.T) {
	bothPools(t, func(t *testing.T, m *sandbox.Manager) {
		spec := probeSpec("info", "a b", "", "--flag=x")
		spec.Env = []string{"AWS_REGION=eu-west-1", "EMPTY=", "_HANDLER=index.handler", "MULTI=a=b"}
		spec.Hostname = "fn-host"
		spec.TmpMB = 600
		os.Setenv("CLOISTER_HOST_SECRET", "must-not-leak")
		defer os.Unsetenv("CLOISTER_HOST_SECRET")
		in := probeInfo(t, m, spec)

		if diff := cmp.Diff(spec.Args, in.Args); diff != "" {
			t.Errorf("argv (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(spec.Env, in.Env); diff != "" {
			t.Errorf("environment (-want +got):\n%s", diff)
		}
		if in.Cwd != "/var/task" {
			t.Errorf("cwd %q", in.Cwd)
		}
		if in.UID != 993 || in.EUID != 993 || in.GID != 990 || in.EGID != 990 || len(in.Groups) != 0 {
			t.Errorf("identity uid %d/%d gid %d/%d groups %v, want 993/993 990/990 []", in.UID, in.EUID, in.GID, in.EGID, in.Groups)
		}
		if in.Hostname != "fn-host" {
			t.Errorf("hostname %q", in.Hostname)
		}
		for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
			if in.Status[k] != zeroCaps {
				t.Errorf("function %s = %s", k, in.Status[k])
			}
		}
		if in.Status["NoNewPrivs"] != "1" || in.Status["Seccomp"] != "2" {
			t.Errorf("function NoNewPrivs %s Seccomp %s", in.Status["NoNewPrivs"], in.Status["Seccomp"])
		}
		// The init stays as pid 1: every one of its threads is confined.
		if len(in.InitStatus) == 0 {
			t.Fatal("no init threads visible")
		}
		for i, st := range in.InitStatus {
			for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
				if st[k] != zeroCaps {
					t.Errorf("init thread %d %s = %s", i, k, st[k])
				}
			}
			if st["Uid"] != "993\t993\t993\t993" || st["Gid"] != "990\t990\t990\t990" || st["Groups"] != "" {
				t.Errorf("init thread %d ids %q %q %q", i, st["Uid"], st["Gid"], st["Groups"])
			}
			if st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" {
				t.Errorf("init thread %d NoNewPrivs %s Seccomp %s", i, st["NoNewPrivs"], st["Seccomp"])
			}
		}
		if in.InitStatus[0]["CapBnd"] != zeroCaps {
			t.Errorf("init main thread CapBnd = %s", in.InitStatus[0]["CapBnd"])
		}
		// Without cgo (as cloister should be built) the runtime can empty
		// the bounding set of every thread; the init is this test binary.
		if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_GETPID, 0, 0, 0); e == 0 {
			for i, st := range in.InitStatus {
				if st["CapBnd"] != zeroCaps {
					t.Errorf("init thread %d CapBnd = %s in a cgo-free build", i, st["CapBnd"])
				}
			}
		}
		if want := map[string][2]uint64{"nofile": {1024, 1024}, "nproc": {1024, 1024}, "core": {0, 0}}; !cmp.Equal(want, in.Rlimits) {
			t.Errorf("rlimits %v, want %v", in.Rlimits, want)
		}
		for _, mt := range []struct {
			point    string
			ro, exec bool
		}{
			{"/", true, false}, {"/usr", true, true}, {"/usr/local", true, false},
			{"/etc/ssl/certs", true, false}, {"/var/task", true, true}, {"/tmp", false, true},
			{"/dev", true, false}, {"/proc", false, false}, {"/proc/sys", true, false},
			{"/proc/bus", true, false}, {"/proc/irq", true, false}, {"/proc/fs", true, false},
		} {
			opts, ok := in.Mounts[mt.point]
			if !ok {
				t.Errorf("no mount at %s", mt.point)
				continue
			}
			o := strings.Split(opts, ",")
			if slices.Contains(o, "ro") != mt.ro || slices.Contains(o, "noexec") == mt.exec || !slices.Contains(o, "nosuid") {
				t.Errorf("mount %s has %q, want ro=%v exec=%v nosuid", mt.point, opts, mt.ro, mt.exec)
			}
		}
		if strings.Contains(in.Mounts["/tmp"], "noexec") {
			t.Errorf("/tmp is noexec (%s); Lambda allows executing from /tmp", in.Mounts["/tmp"])
		}
		for point := range in.Mounts {
			if point == "/sys" || strings.HasPrefix(point, "/sys/") || point == "/dev/shm" || point == "/dev/pts" {
				t.Errorf("unexpected mount %s", point)
			}
		}
		wantDev := []string{"fd", "full", "null", "random", "stderr", "stdin", "stdout", "urandom", "zero"}
		if diff := cmp.Diff(wantDev, in.Dev); diff != "" {
			t.Errorf("/dev (-want +got):\n%s", diff)
		}
		for _, f := range []string{"passwd", "group", "hosts", "nsswitch.conf"} {
			if !slices.Contains(in.Etc, f) {
				t.Errorf("/etc lacks %s: %v", f, in.Etc)
			}
		}
		for _, f := range []string{"shadow", "gshadow", "sudoers", "ssh"} {
			if slices.Contains(in.Etc, f) {
				t.Errorf("/etc exposes %s", f)
			}
		}
		if !in.Certs {
			t.Error("no CA certificates at /etc/ssl/certs/ca-certificates.crt")
		}
		allowedRoot := []string{"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "opt", "proc", "sbin", "tmp", "usr", "var"}
		for _, e := range in.Root {
			if !slices.Contains(allowedRoot, e) {
				t.Errorf("unexpected /%s in the sandbox root", e)
			}
		}
		if in.TmpBytes != 600<<20 {
			t.Errorf("/tmp size %d, want %d", in.TmpBytes, 600<<20)
		}
		if len(in.Pids) != 2 || in.Pids[0] != 1 {
			t.Errorf("visible pids %v, want the init and the probe", in.Pids)
		}
		for _, line := range strings.Split(strings.TrimSpace(in.Cgroup), "\n") {
			if !strings.HasSuffix(line, ":/") {
				t.Errorf("/proc/self/cgroup line %q reveals a host path", line)
			}
		}
	})
}

func TestExitStatus(t *testing.T) {
	m := manager(t, "pool")
	tests := []struct {
		name string
		args []string
		want sandbox.Exit
	}{
		{"zero", []string{"exit", "0"}, sandbox.Exit{Code: 0}},
		{"three", []string{"exit", "3"}, sandbox.Exit{Code: 3}},
		{"sigterm", []string{"kill", "15"}, sandbox.Exit{Code: -1, Signal: syscall.SIGTERM}},
		{"sigkill", []string{"kill", "9"}, sandbox.Exit{Code: -1, Signal: syscall.SIGKILL}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runSpec(t, m, probeSpec(tc.args...))
			if r.exit != tc.want {
				t.Errorf("exit %+v, want %+v (stderr %s)", r.exit, tc.want, r.stderr)
			}
		})
	}
}

func TestOutputStreams(t *testing.T) {
	m := manager(t, "pool")
	r := runSpec(t, m, probeSpec("stderr"))
	if r.stdout != "" || r.stderr != "to stderr\n" {
		t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	// nil streams are discarded, not inherited from the host.
	spec := probeSpec("hello")
	s, err := m.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if e := s.Wait(); e != (sandbox.Exit{}) {
		t.Errorf("exit %+v", e)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

func TestDynamicBinary(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh on this host")
	}
	m := manager(t, "pool")
	spec := probeSpec()
	spec.Args = []string{"/bin/sh", "-c", "echo hi; id -u; cat /etc/passwd | grep -c sbx_user1051; cd /tmp && cp /var/task/probe . && ./probe hello"}
	r := runSpec(t, m, spec)
	if r.exit != (sandbox.Exit{}) || r.stdout != "hi\n993\n1\nhello\n" {
		t.Errorf("exit %+v stdout %q stderr %q", r.exit, r.stdout, r.stderr)
	}
}

func TestStartErrors(t *testing.T) {
	m := manager(t, "nopool")
	t.Run("missing binary", func(t *testing.T) {
		// The function is exec'd while Start returns: Wait reports it.
		spec := probeSpec()
		spec.Args = []string{"/var/task/nope"}
		s, err := m.Start(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if e := s.Wait(); e.Code != -1 || e.Err == nil || !strings.Contains(e.Err.Error(), "no such file") {
			t.Errorf("exit %+v, want an error saying no such file", e)
		}
	})
	t.Run("invalid spec", func(t *testing.T) {
		spec := probeSpec("hello")
		spec.MemoryMB = 64
		if _, err := m.Start(context.Background(), spec); !errors.Is(err, sandbox.ErrInvalidSpec) {
			t.Errorf("Start = %v, want ErrInvalidSpec", err)
		}
	})
	t.Run("task dir missing", func(t *testing.T) {
		spec := probeSpec("hello")
		spec.TaskDir = filepath.Join(t.TempDir(), "absent")
		if _, err := m.Start(context.Background(), spec); err == nil {
			t.Error("Start succeeded")
		}
	})
	t.Run("duplicate id", func(t *testing.T) {
		spec := probeSpec("sleep")
		s, _, _ := startSpec(t, m, spec)
		if _, err := m.Start(context.Background(), spec); !errors.Is(err, sandbox.ErrInvalidSpec) {
			t.Errorf("second Start = %v, want ErrInvalidSpec", err)
		}
		s.Close()
		s2, _, _ := startSpec(t, m, spec)
		s2.Close()
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := m.Start(ctx, probeSpec("hello")); !errors.Is(err, context.Canceled) {
			t.Errorf("Start = %v, want context.Canceled", err)
		}
	})
}

func TestOptionalTrees(t *testing.T) {
	m := manager(t, "pool")
	rt, opt := t.TempDir(), t.TempDir()
	for _, d := range []string{rt, opt} {
		os.Chmod(d, 0o755)
	}
	os.WriteFile(filepath.Join(rt, "bootstrap"), []byte("runtime"), 0o644)
	os.WriteFile(filepath.Join(opt, "layer"), []byte("layer"), 0o644)
	spec := probeSpec()
	spec.RuntimeDir, spec.OptDir = rt, opt
	spec.Args = []string{"/bin/sh", "-c", "cat /var/runtime/bootstrap /opt/layer; touch /opt/x 2>/dev/null || echo ro"}
	r := runSpec(t, m, spec)
	if r.stdout != "runtimelayerro\n" {
		t.Errorf("stdout %q stderr %q exit %+v", r.stdout, r.stderr, r.exit)
	}
}

// TestListeners serves HTTP on the sockets the init opened inside the
// sandbox, and has the function call it on 127.0.0.1 and ::1.
func TestListeners(t *testing.T) {
	bothPools(t, func(t *testing.T, m *sandbox.Manager) {
		spec := probeSpec("http", "http://127.0.0.1:9001/next")
		spec.Listen = []string{"127.0.0.1:9001"}
		if ipv6Loopback() {
			spec.Args = []string{"/bin/sh", "-c", "/var/task/probe http http://127.0.0.1:9001/next && /var/task/probe http http://[::1]:9002/v6"}
			spec.Listen = append(spec.Listen, "[::1]:9002")
		}
		s, outR, _ := startSpec(t, m, spec)
		ls := s.Listeners()
		if len(ls) != len(spec.Listen) {
			t.Fatalf("%d listeners for %v", len(ls), spec.Listen)
		}
		for _, l := range ls {
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "host saw %s from %s", r.URL.Path, r.RemoteAddr[:strings.LastIndex(r.RemoteAddr, ":")])
			})}
			go srv.Serve(l)
			t.Cleanup(func() { srv.Close() })
		}
		out, _ := io.ReadAll(outR)
		want := "200 host saw /next from 127.0.0.1"
		if len(ls) == 2 {
			want += "200 host saw /v6 from [::1]"
		}
		if string(out) != want {
			t.Errorf("function printed %q, want %q", out, want)
		}
		if e := s.Wait(); e != (sandbox.Exit{}) {
			t.Errorf("exit %+v", e)
		}
		s.Close()
		if _, err := ls[0].Accept(); err == nil {
			t.Error("listener still open after Close")
		}
	})
}

func ipv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func TestOOMKilled(t *testing.T) {
	m := manager(t, "pool")
	spec := probeSpec("alloc", "400")
	spec.MemoryMB = 128
	r := runSpec(t, m, spec)
	if !r.exit.OOMKilled || r.exit.Signal != syscall.SIGKILL {
		t.Errorf("exit %+v, want OOMKilled by SIGKILL", r.exit)
	}
	if strings.Contains(r.stdout, "allocated") {
		t.Error("allocated 400 MiB within a 128 MiB limit")
	}
}

// TestOOMEndsSandbox: the OOM killer striking any process of a sandbox ends
// the whole sandbox (as memory.oom.group does on cgroup v2), promptly, though
// the process it killed was not the function's and the function would carry
// on.
func TestOOMEndsSandbox(t *testing.T) {
	m := manager(t, "pool")
	spec := probeSpec("childoom", "400")
	spec.MemoryMB = 128
	s, _, _ := startSpec(t, m, spec)
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the sandbox still runs 20 s after its child ran out of memory")
	}
	if e := s.Wait(); !e.OOMKilled || e.Signal != syscall.SIGKILL {
		t.Errorf("exit %+v, want OOMKilled by SIGKILL", e)
	}
}

func TestPeakMemory(t *testing.T) {
	m := manager(t, "pool")
	s, outR, _ := startSpec(t, m, probeSpec("peak", "96"))
	if line := readLine(t, outR); line != "freed\n" {
		t.Fatalf("probe said %q", line)
	}
	peak, err := s.PeakMemory()
	if err != nil {
		t.Fatal(err)
	}
	if peak < 96<<20 {
		t.Errorf("peak %d MiB after touching 96 MiB", peak>>20)
	}
	if err := s.ResetPeakMemory(); err != nil {
		t.Fatal(err)
	}
	after, err := s.PeakMemory()
	if err != nil {
		t.Fatal(err)
	}
	if after >= 64<<20 {
		t.Errorf("peak after reset %d MiB; the probe returned its 96 MiB", after>>20)
	}
	t.Logf("peak %d MiB, after reset %d MiB", peak>>20, after>>20)
	s.Close()
	if _, err := s.PeakMemory(); err == nil {
		t.Error("PeakMemory after Close succeeded")
	}
}

// cgroupDir finds the v1 controller directory of a sandbox's init.
func cgroupDir(t *testing.T, s *sandbox.Sandbox, controller string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", sandbox.InitPid(s)))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), controller) {
			return filepath.Join("/sys/fs/cgroup", f[1], f[2])
		}
	}
	t.Skipf("no v1 %s controller for the sandbox (cgroup v2 host)", controller)
	return ""
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestCgroupLimits checks the values written for a sandbox (cgroup v1).
func TestCgroupLimits(t *testing.T) {
	m := manager(t, "pool")
	tests := []struct {
		mb            int
		quota, shares string
	}{
		{128, "7200", "73"},
		{1769, "100000", "1024"},
		{10240, strconv.Itoa(100 * min(5788, 1000*runtime.NumCPU())), "5926"},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.mb), func(t *testing.T) {
			spec := probeSpec("sleep")
			spec.MemoryMB = tc.mb
			s, _, _ := startSpec(t, m, spec)
			mem := cgroupDir(t, s, "memory")
			cpu := cgroupDir(t, s, "cpu")
			pids := cgroupDir(t, s, "pids")
			want := map[string]string{
				filepath.Join(mem, "memory.limit_in_bytes"): strconv.Itoa(tc.mb << 20),
				filepath.Join(mem, "memory.swappiness"):     "0",
				filepath.Join(cpu, "cpu.cfs_period_us"):     "100000",
				filepath.Join(cpu, "cpu.cfs_quota_us"):      tc.quota,
				filepath.Join(cpu, "cpu.shares"):            tc.shares,
				filepath.Join(pids, "pids.max"):             "1024",
			}
			if _, err := os.Stat(filepath.Join(mem, "memory.memsw.limit_in_bytes")); err == nil {
				want[filepath.Join(mem, "memory.memsw.limit_in_bytes")] = strconv.Itoa(tc.mb << 20)
			}
			for f, v := range want {
				if got := readTrim(t, f); got != v {
					t.Errorf("%s = %s, want %s", f, got, v)
				}
			}
		})
	}
}

// TestCloseRemovesEverything checks that Close leaves no process, cgroup
// or listener behind and can be repeated.
func TestCloseRemovesEverything(t *testing.T) {
	bothPools(t, func(t *testing.T, m *sandbox.Manager) {
		spec := probeSpec("tree", "3")
		spec.Listen = []string{"127.0.0.1:9001"}
		s, outR, _ := startSpec(t, m, spec)
		if line := readLine(t, outR); !strings.HasPrefix(line, "ready") {
			t.Fatalf("probe said %q", line)
		}
		dir := sandbox.CgroupPath(s)
		pid := sandbox.InitPid(s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup %s still exists: %v", dir, err)
		}
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("init %d still exists", pid)
		}
		if e := s.Wait(); e.Signal != syscall.SIGKILL {
			t.Errorf("exit %+v, want SIGKILL", e)
		}
	})
}

// TestKillTree kills a function that forked a tree of processes.
func TestKillTree(t *testing.T) {
	bothPools(t, func(t *testing.T, m *sandbox.Manager) {
		s, outR, _ := startSpec(t, m, probeSpec("tree", "4"))
		line := readLine(t, outR)
		if !strings.HasPrefix(line, "ready") {
			t.Fatalf("probe said %q", line)
		}
		// The probe may count a short-lived helper process of Go's; wait for
		// the tree itself: init, probe, 4 children, 4 grandchildren.
		var procs string
		for deadline := time.Now().Add(10 * time.Second); ; {
			procs = readTrim(t, filepath.Join(sandbox.CgroupPath(s), "cgroup.procs"))
			if len(strings.Fields(procs)) == 10 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cgroup holds %q (probe says %q), want init + probe + 8", procs, line)
			}
			time.Sleep(time.Millisecond)
		}
		if err := s.Kill(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Kill did not end the sandbox")
		}
		if e := s.Wait(); e.Signal != syscall.SIGKILL || e.OOMKilled {
			t.Errorf("exit %+v, want SIGKILL", e)
		}
		if procs := readTrim(t, filepath.Join(sandbox.CgroupPath(s), "cgroup.procs")); procs != "" {
			t.Errorf("processes left after Kill: %s", procs)
		}
		if err := s.Kill(); err != nil {
			t.Errorf("Kill after exit: %v", err)
		}
	})
}

// TestDistinctHostIDs checks that concurrent sandboxes, of one manager or
// of two, run as different unprivileged host uids.
func TestDistinctHostIDs(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range []string{"pool", "pool", "nopool", "nopool"} {
		s, _, _ := startSpec(t, manager(t, v), probeSpec("sleep"))
		st := readTrim(t, fmt.Sprintf("/proc/%d/status", sandbox.InitPid(s)))
		var uid string
		for _, line := range strings.Split(st, "\n") {
			if strings.HasPrefix(line, "Uid:") {
				uid = strings.Join(strings.Fields(line)[1:], " ")
			}
		}
		f := strings.Fields(uid)
		if len(f) != 4 || f[0] == "0" || slices.ContainsFunc(f, func(s string) bool { return s != f[0] }) {
			t.Errorf("init host uids %q", uid)
		}
		if seen[f[0]] {
			t.Errorf("host uid %s used by two sandboxes", f[0])
		}
		seen[f[0]] = true
	}
}

func TestNewManagerNeedsRoot(t *testing.T) {
	requireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{nonRootEnv + "=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = "/"
	// The test binary's directory may not be searchable by nobody: run a
	// copy from a world-readable place.
	dir, err := os.MkdirTemp("", "cloister-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	copyFile(t, exe, filepath.Join(dir, "sandbox.test"))
	cmd.Path = filepath.Join(dir, "sandbox.test")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v %s", err, out)
	}
	if string(out) != sandbox.ErrNotRoot.Error() {
		t.Errorf("NewManager as nobody: %q, want %q", out, sandbox.ErrNotRoot)
	}
}

// copyFile copies with cp(1): a file this process had open for writing
// could be inherited by a concurrent fork and make exec fail with ETXTBSY.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

func TestInitRefusesOutsideSandbox(t *testing.T) {
	requireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "init").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "only inside a sandbox") {
		t.Errorf("running init on the host: %v %q", err, out)
	}
}

func TestManagerClose(t *testing.T) {
	requireRoot(t)
	m, err := sandbox.NewManager(context.Background(), sandbox.Config{
		CgroupParent: fmt.Sprintf("cloister-test-%d-close", os.Getpid()),
		PoolSize:     1,
	})
	if err != nil {
		t.Fatal(err)
	}
	spec := probeSpec("sleep")
	s, err := m.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	pid := sandbox.InitPid(s)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if e := s.Wait(); e.Signal != syscall.SIGKILL {
		t.Errorf("sandbox exit after Manager.Close: %+v", e)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Error("init survived Manager.Close")
	}
	if _, err := m.Start(context.Background(), probeSpec("hello")); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
	dir := filepath.Join("/sys/fs/cgroup/memory", fmt.Sprintf("cloister-test-%d-close", os.Getpid()))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("parent cgroup %s left behind (%v)", dir, err)
	}
}

// hostCPUs lists the CPUs this process may run on.
func hostCPUs(t *testing.T) []int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	var host []int
	for c := 0; c < 1024; c++ {
		if set.IsSet(c) {
			host = append(host, c)
		}
	}
	return host
}

// TestCPUAffinity: Spec.CPUs becomes the function's affinity; without it the
// function may run on every CPU the host process may; a CPU the host lacks
// fails the start (Wait reports it) rather than running unplaced.
func TestCPUAffinity(t *testing.T) {
	m := manager(t, "pool")
	host := hostCPUs(t)
	list := func(cpus []int) string {
		// The kernel's list format, as far as these tests need it: runs
		// of consecutive CPUs as "a-b".
		var parts []string
		for i := 0; i < len(cpus); {
			j := i
			for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
				j++
			}
			if j > i {
				parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
			} else {
				parts = append(parts, strconv.Itoa(cpus[i]))
			}
			i = j + 1
		}
		return strings.Join(parts, ",")
	}
	t.Run("unset", func(t *testing.T) {
		in := probeInfo(t, m, probeSpec("info"))
		if got := in.Status["Cpus_allowed_list"]; got != list(host) {
			t.Errorf("Cpus_allowed_list %q, want the host's %q", got, list(host))
		}
	})
	for _, c := range []int{host[0], host[len(host)-1]} {
		t.Run(fmt.Sprintf("cpu%d", c), func(t *testing.T) {
			spec := probeSpec("info")
			spec.CPUs = []int{c}
			in := probeInfo(t, m, spec)
			if got := in.Status["Cpus_allowed_list"]; got != strconv.Itoa(c) {
				t.Errorf("Cpus_allowed_list %q, want %d", got, c)
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		for _, cpus := range [][]int{{-1}, {1024}} {
			spec := probeSpec("info")
			spec.CPUs = cpus
			if _, err := m.Start(context.Background(), spec); !errors.Is(err, sandbox.ErrInvalidSpec) {
				t.Errorf("CPUs %v: Start = %v, want ErrInvalidSpec", cpus, err)
			}
		}
	})
	t.Run("not the host's", func(t *testing.T) {
		if len(host) == 1024 {
			t.Skip("the host has every CPU")
		}
		missing := 1023
		for slices.Contains(host, missing) {
			missing--
		}
		spec := probeSpec("info")
		spec.CPUs = []int{missing}
		s, err := m.Start(context.Background(), spec)
		if err != nil {
			// Refused before Start returned: as good, if it says why.
			if !strings.Contains(err.Error(), "cpu affinity") {
				t.Errorf("Start = %v, want an affinity error", err)
			}
			return
		}
		defer s.Close()
		if e := s.Wait(); e.Err == nil || !strings.Contains(e.Err.Error(), "cpu affinity") {
			t.Errorf("exit %+v, want an affinity error", e)
		}
	})
}

// TestSetCPUs: a running sandbox's every thread moves to the CPUs SetCPUs
// names (its init's and the function's multi-threaded Go runtime's), and a closed
// sandbox or an empty set is refused.
func TestSetCPUs(t *testing.T) {
	host := hostCPUs(t)
	if len(host) < 2 {
		t.Skip("needs two CPUs")
	}
	from, to := host[0], host[len(host)-1]
	m := manager(t, "pool")
	spec := probeSpec("sleep")
	spec.CPUs = []int{from}
	s, err := m.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// threads lists the sandbox's threads and their Cpus_allowed_list, once
	// the probe runs with its runtime's threads started.
	threads := func() map[string]string {
		out := map[string]string{}
		b, err := os.ReadFile(filepath.Join(sandbox.CgroupPath(s), "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		for _, pid := range strings.Fields(string(b)) {
			tasks, _ := os.ReadDir("/proc/" + pid + "/task")
			for _, task := range tasks {
				st, err := os.ReadFile("/proc/" + pid + "/task/" + task.Name() + "/status")
				if err != nil {
					continue
				}
				for _, l := range strings.Split(string(st), "\n") {
					if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
						out[pid+"/"+task.Name()] = strings.TrimSpace(v)
					}
				}
			}
		}
		return out
	}
	// Wait until the probe runs with its runtime's threads: the init sets
	// its forking thread's CPUs just before it forks the function, so a
	// move before the fork would be undone there (the data plane moves
	// environments only after their runtime asked for its first event).
	init := strconv.Itoa(sandbox.InitPid(s)) + "/"
	probeThreads := func() int {
		n := 0
		for id := range threads() {
			if !strings.HasPrefix(id, init) {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for probeThreads() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the probe did not start its threads: %v", threads())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for id, cpus := range threads() {
		// The init placed only the thread that forked the function.
		if !strings.HasPrefix(id, init) && cpus != strconv.Itoa(from) {
			t.Errorf("before: thread %s on CPUs %s, want %d", id, cpus, from)
		}
	}
	if err := s.SetCPUs([]int{to}); err != nil {
		t.Fatal(err)
	}
	for id, cpus := range threads() {
		if cpus != strconv.Itoa(to) {
			t.Errorf("after: thread %s on CPUs %s, want %d", id, cpus, to)
		}
	}
	if err := s.SetCPUs(nil); err == nil {
		t.Error("SetCPUs(nil) succeeded")
	}
	if err := s.SetCPUs([]int{1024}); err == nil {
		t.Error("SetCPUs of CPU 1024 succeeded")
	}
	s.Close()
	if err := s.SetCPUs([]int{from}); err == nil {
		t.Error("SetCPUs after Close succeeded")
	}
}
