//go:build linux && (amd64 || arm64)

package seccomp

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const childEnv = "SECCOMP_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(kernelChild())
	}
	os.Exit(m.Run())
}

// probes are system calls the child makes under the filter, with the errno
// each must end with ("ok" for success).
var probes = []struct {
	name string
	call func() error
	want string
}{
	{"getpid", func() error { unix.Getpid(); return nil }, "ok"},
	{"pipe2", func() error {
		var p [2]int
		err := unix.Pipe2(p[:], unix.O_CLOEXEC)
		if err == nil {
			unix.Close(p[0])
			unix.Close(p[1])
		}
		return err
	}, "ok"},
	// Without the filter this mount fails with ENOENT, never mounting anything.
	{"mount", func() error { return unix.Mount("none", "/nonexistent-cloister", "cloister-nofs", 0, "") }, "EPERM"},
	{"unshare", func() error { return unix.Unshare(unix.CLONE_NEWUSER) }, "EPERM"},
	{"clone3", func() error { return rawErr(unix.SYS_CLONE3, 0, 0, 0) }, "ENOSYS"},
	{"unknown", func() error { return rawErr(uintptr(maxKnown()+1), 0, 0, 0) }, "ENOSYS"},
	{"clone-newuser", func() error { return rawErr(unix.SYS_CLONE, unix.CLONE_NEWUSER, 0, 0) }, "EPERM"},
	{"socket-packet", func() error { return sockErr(unix.AF_PACKET, unix.SOCK_RAW, 0) }, "EPERM"},
	{"socket-tcp", func() error { return sockErr(unix.AF_INET, unix.SOCK_STREAM, 0) }, "ok"},
	{"bpf", func() error { return rawErr(unix.SYS_BPF, 0, 0, 0) }, "EPERM"},
	{"ptrace", func() error { return rawErr(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0) }, "EPERM"},
	{"prlimit-other", func() error { return rawErr(unix.SYS_PRLIMIT64, 1, unix.RLIMIT_NOFILE, 0) }, "EPERM"},
}

func maxKnown() uint32 {
	var m uint32
	for _, nr := range syscalls {
		m = max(m, nr)
	}
	return m
}

func rawErr(nr, a, b, c uintptr) error {
	_, _, e := unix.RawSyscall(nr, a, b, c)
	if e != 0 {
		return e
	}
	return nil
}

func sockErr(domain, typ, proto int) error {
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// kernelChild loads the filter into this (re-executed) test binary and
// reports how the kernel answered each probe.
func kernelChild() int {
	prog, err := Program()
	if err != nil {
		fmt.Println("program:", err)
		return 1
	}
	if err := Load(prog); err != nil {
		fmt.Println("load:", err)
		return 1
	}
	for _, p := range probes {
		res := "ok"
		if err := p.call(); err != nil {
			if e, ok := err.(unix.Errno); ok {
				res = unix.ErrnoName(e)
			} else {
				res = err.Error()
			}
		}
		fmt.Printf("%s %s\n", p.name, res)
	}
	return 0
}

// TestKernelEnforcesPolicy loads the real program into a child process and
// checks the kernel's answers (as root a mount would otherwise succeed).
func TestKernelEnforcesPolicy(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, res, ok := strings.Cut(sc.Text(), " ")
		if ok {
			got[name] = res
		}
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			if got[p.name] != p.want {
				t.Errorf("kernel answered %q, want %q\nchild output:\n%s", got[p.name], p.want, out)
			}
		})
	}
}
