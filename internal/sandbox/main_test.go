package sandbox_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/sandbox"
)

// probeDir holds the probe binary; tests mount it as /var/task.
var probeDir string

func TestMain(m *testing.M) {
	if sandbox.IsInit() {
		os.Exit(sandbox.InitMain())
	}
	if os.Getenv(nonRootEnv) == "1" {
		os.Exit(nonRootChild())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() == 0 {
		dir, err := buildProbe()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		probeDir = dir
	}
	code := m.Run()
	closeManagers()
	return code
}

// buildProbe compiles testdata/probe as a static binary into a directory
// the sandbox's ids can read.
func buildProbe() (string, error) {
	// go test puts its own GOROOT/bin first in PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build probe: no go command in PATH: %w", err)
	}
	dir, err := os.MkdirTemp("", "cloister-probe-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command(goBin, "build", "-o", filepath.Join(dir, "probe"), "./testdata/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("build probe: %v\n%s", err, out)
	}
	return dir, nil
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sandboxes need root (namespaces, cgroups, mounts); CI runs as root")
	}
}

var (
	managersMu sync.Mutex
	managers   = map[string]*sandbox.Manager{}
)

// manager returns a shared Manager for a configuration variant. Each has
// its own cgroup parent and host id range.
func manager(t testing.TB, variant string) *sandbox.Manager {
	t.Helper()
	requireRoot(t)
	managersMu.Lock()
	defer managersMu.Unlock()
	if m, ok := managers[variant]; ok {
		return m
	}
	cfg := sandbox.Config{
		CgroupParent: fmt.Sprintf("cloister-test-%d-%s", os.Getpid(), variant),
		MaxSandboxes: 1024,
	}
	switch variant {
	case "pool":
		cfg.PoolSize = 2
	case "nopool":
	case "pids":
		cfg.PidsMax = 48
	default:
		t.Fatalf("unknown manager variant %q", variant)
	}
	m, err := sandbox.NewManager(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	managers[variant] = m
	return m
}

func closeManagers() {
	managersMu.Lock()
	defer managersMu.Unlock()
	for name, m := range managers {
		if err := m.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "close manager %s: %v\n", name, err)
		}
	}
}

// bothPools runs f with a pooling and a non-pooling manager.
func bothPools(t *testing.T, f func(t *testing.T, m *sandbox.Manager)) {
	for _, v := range []string{"pool", "nopool"} {
		t.Run(v, func(t *testing.T) { f(t, manager(t, v)) })
	}
}

var idSeq atomic.Int64

// probeSpec is a spec running the probe with args.
func probeSpec(args ...string) sandbox.Spec {
	return sandbox.Spec{
		ID:       fmt.Sprintf("t%d", idSeq.Add(1)),
		Args:     append([]string{"/var/task/probe"}, args...),
		Env:      []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"},
		TaskDir:  probeDir,
		MemoryMB: 256,
		TmpMB:    512,
	}
}

// result is what a finished sandbox left behind.
type result struct {
	stdout, stderr string
	exit           sandbox.Exit
}

// runSpec starts spec with piped output, waits for it and returns it.
func runSpec(t testing.TB, m *sandbox.Manager, spec sandbox.Spec) result {
	t.Helper()
	s, outR, errR := startSpec(t, m, spec)
	var wg sync.WaitGroup
	var out, errOut []byte
	wg.Add(2)
	go func() { defer wg.Done(); out, _ = io.ReadAll(outR) }()
	go func() { defer wg.Done(); errOut, _ = io.ReadAll(errR) }()
	select {
	case <-s.Done():
	case <-time.After(60 * time.Second):
		s.Kill()
		t.Errorf("sandbox %s did not finish", spec.ID)
	}
	wg.Wait()
	return result{stdout: string(out), stderr: string(errOut), exit: s.Wait()}
}

// startSpec starts spec with stdout and stderr piped; Close is registered.
func startSpec(t testing.TB, m *sandbox.Manager, spec sandbox.Spec) (*sandbox.Sandbox, *os.File, *os.File) {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	spec.Stdout, spec.Stderr = outW, errW
	s, err := m.Start(context.Background(), spec)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		outR.Close()
		errR.Close()
	})
	return s, outR, errR
}

// readLine reads up to and including the first newline, waiting at most
// 30 seconds.
func readLine(t testing.TB, r *os.File) string {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer r.SetReadDeadline(time.Time{})
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			b.WriteByte(buf[0])
			if buf[0] == '\n' {
				return b.String()
			}
		}
		if err != nil {
			t.Fatalf("read line: %v (got %q)", err, b.String())
		}
	}
}

const nonRootEnv = "SANDBOX_TEST_NONROOT"

// nonRootChild runs in a copy of the test binary started as nobody.
func nonRootChild() int {
	_, err := sandbox.NewManager(context.Background(), sandbox.Config{})
	fmt.Print(err)
	return 0
}
