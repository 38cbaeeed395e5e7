package invoke_test

// The attack suite: functions that try to break out of their sandbox or
// starve others. Each test proves the attack is contained and that the
// server and another function (the canary) keep working.

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

type attackResult struct {
	Attack  string `json:"attack"`
	Blocked bool   `json:"blocked"`
	Detail  string `json:"detail"`
}

// suite holds an attacker function and a canary function.
type suite struct {
	h                *harness
	attacker, canary string
}

func newSuite(t *testing.T, attacker fnSpec) *suite {
	h := get(t)
	s := &suite{h: h, attacker: uniqueName(t) + "-a", canary: uniqueName(t) + "-c"}
	if attacker.zip == nil {
		attacker.runtime, attacker.handler, attacker.zip = "provided.al2023", "bootstrap", probeZip
	}
	if attacker.timeout == 0 {
		attacker.timeout = 30
	}
	h.create(t, s.attacker, attacker)
	h.create(t, s.canary, fnSpec{})
	return s
}

// run performs one attack and returns its result (nil if the attacker's
// environment died, which also contains the attack).
func (s *suite) run(t *testing.T, attack string) *attackResult {
	t.Helper()
	out := s.h.invoke(t, s.attacker, map[string]any{"op": "attack", "arg": attack})
	if out.FunctionError != nil {
		t.Logf("attack %s ended the attacker's environment: %s", attack, out.Payload)
		return nil
	}
	var r attackResult
	if err := json.Unmarshal(out.Payload, &r); err != nil {
		t.Fatalf("attack %s: %q: %v", attack, out.Payload, err)
	}
	return &r
}

// mustBlock asserts the attack was stopped by the sandbox.
func (s *suite) mustBlock(t *testing.T, attack string) {
	t.Helper()
	r := s.run(t, attack)
	if r == nil {
		t.Fatalf("attack %s killed its environment instead of failing cleanly", attack)
	}
	if !r.Blocked {
		t.Fatalf("ATTACK SUCCEEDED: %s: %s", attack, r.Detail)
	}
	t.Logf("%s blocked: %s", attack, r.Detail)
	s.canaryOK(t)
}

// canaryOK proves the server and another function still work.
func (s *suite) canaryOK(t *testing.T) {
	t.Helper()
	out := s.h.invoke(t, s.canary, map[string]any{"op": "echo", "arg": "alive"})
	if out.FunctionError != nil || !strings.Contains(string(out.Payload), `"alive"`) {
		t.Fatalf("canary failed after attack: %s", out.Payload)
	}
}

func TestAttackPrivileges(t *testing.T) {
	s := newSuite(t, fnSpec{})
	for _, a := range []string{"uid", "caps", "no-new-privs", "setuid"} {
		t.Run(a, func(t *testing.T) { s.mustBlock(t, a) })
	}
}

func TestAttackSyscalls(t *testing.T) {
	s := newSuite(t, fnSpec{})
	for _, a := range []string{"mount", "unshare", "ptrace", "bpf", "keyctl", "perf", "userfaultfd", "io_uring",
		"init_module", "reboot", "settime", "chroot", "mknod", "raw-socket"} {
		t.Run(a, func(t *testing.T) { s.mustBlock(t, a) })
	}
}

func TestAttackFilesystem(t *testing.T) {
	s := newSuite(t, fnSpec{})
	for _, a := range []string{"write-task", "write-root", "write-etc", "sysrq", "proc-sys", "kcore", "proc-pids"} {
		t.Run(a, func(t *testing.T) { s.mustBlock(t, a) })
	}
	// Host paths the function has no business seeing are not there.
	for _, p := range []string{s.h.dir, "/work", "/root", "/etc/shadow", "/sys/fs/cgroup", "/home", "/var/lib",
		"/usr/local/go", "/proc/1/root/etc/hostname"} {
		t.Run("host-path"+strings.ReplaceAll(p, "/", "_"), func(t *testing.T) { s.mustBlock(t, "read-path|"+p) })
	}
}

func TestAttackNetwork(t *testing.T) {
	s := newSuite(t, fnSpec{})
	// The Cloister API itself, on the host's loopback.
	apiAddr := s.h.srv.Listener.Addr().String()
	targets := []string{apiAddr, "10.0.0.1:80", "1.1.1.1:53", "[::1]:" + portOf(apiAddr)}
	// Every non-loopback address of the host, at the API's port.
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				targets = append(targets, net.JoinHostPort(ipn.IP.String(), portOf(apiAddr)))
			}
		}
	}
	// A listener on the host's loopback that the test knows is up.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	targets = append(targets, ln.Addr().String())
	for _, target := range targets {
		t.Run(target, func(t *testing.T) { s.mustBlock(t, "connect|"+target) })
	}
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func TestAttackOtherFunctionsTmp(t *testing.T) {
	s := newSuite(t, fnSpec{})
	secret := fmt.Sprintf("secret-%d", time.Now().UnixNano())
	if out := s.h.invoke(t, s.attacker, map[string]any{"op": "writetmp", "arg": secret}); out.FunctionError != nil {
		t.Fatalf("writetmp: %s", out.Payload)
	}
	got := decode[string](t, s.h.invoke(t, s.canary, map[string]any{"op": "readtmp", "arg": secret}))
	if !strings.HasPrefix(got, "absent") {
		t.Fatalf("another function read the attacker's /tmp: %s", got)
	}
}

func TestAttackForkBomb(t *testing.T) {
	s := newSuite(t, fnSpec{memory: 1024})
	s.mustBlock(t, "fork-bomb")
}

func TestAttackFillTmp(t *testing.T) {
	s := newSuite(t, fnSpec{memory: 2048, tmpMB: 512})
	r := s.run(t, "fill-tmp")
	if r == nil || !r.Blocked {
		t.Fatalf("filling /tmp was not stopped by ENOSPC: %+v", r)
	}
	if !strings.Contains(r.Detail, "wrote 51") && !strings.Contains(r.Detail, "wrote 50") {
		t.Fatalf("/tmp did not hold about 512 MB: %s", r.Detail)
	}
	s.canaryOK(t)
}

func TestAttackKillEverything(t *testing.T) {
	s := newSuite(t, fnSpec{})
	// kill(-1, SIGKILL) may take down the attacker's own sandbox; it must
	// reach nothing outside it.
	_ = s.run(t, "kill-all")
	s.canaryOK(t)
	if out := s.h.invoke(t, s.attacker, map[string]any{"op": "echo"}); out.FunctionError != nil {
		t.Fatalf("attacker did not recover: %s", out.Payload)
	}
}

func TestAttackMemoryExhaustionDoesNotStarveOthers(t *testing.T) {
	s := newSuite(t, fnSpec{memory: 256})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		out := s.h.invoke(t, s.attacker, map[string]any{"op": "alloc", "bytes": 4 << 30})
		if aws.ToString(out.FunctionError) == "" {
			t.Errorf("allocating 4 GB in a 256 MB function succeeded")
		}
	}()
	for i := 0; i < 5; i++ {
		s.canaryOK(t)
	}
	wg.Wait()
	s.canaryOK(t)
}

func TestAttackLeakedDescriptors(t *testing.T) {
	s := newSuite(t, fnSpec{})
	fds := decode[[]string](t, s.h.invoke(t, s.attacker, map[string]any{"op": "fds"}))
	for _, fd := range fds {
		num, target, _ := strings.Cut(fd, "->")
		switch {
		case num == "0" || num == "1" || num == "2":
		case strings.HasPrefix(target, "socket:"), strings.HasPrefix(target, "anon_inode:"):
			// the runtime's own connection to the Runtime API, epoll, Go's
			// internal event descriptors
		case strings.HasPrefix(target, "/proc/"):
			// the directory being listed
		default:
			t.Errorf("unexpected descriptor in the function: %s", fd)
		}
	}
}

// A function spinning on every core gets no more CPU than its memory size
// buys (128 MB: 128/1769 of a vCPU), and others keep working meanwhile.
func TestAttackCPUHogIsThrottled(t *testing.T) {
	s := newSuite(t, fnSpec{memory: 128})
	var wg sync.WaitGroup
	var got map[string]int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		got = decode[map[string]int64](t, s.h.invoke(t, s.attacker, map[string]any{"op": "spin", "n": 3000}))
	}()
	for i := 0; i < 5; i++ {
		s.canaryOK(t)
	}
	wg.Wait()
	// Quota: 128/1769 of one CPU, about 7%; allow generous slack for the
	// period boundaries, but far below one full CPU (100%) or two.
	if share := float64(got["cpu_ms"]) / float64(got["wall_ms"]); share > 0.25 {
		t.Fatalf("a 128 MB function got %.0f%% of a CPU (cpu %d ms over %d ms)", share*100, got["cpu_ms"], got["wall_ms"])
	}
	t.Logf("128 MB function got %d ms of CPU in %d ms", got["cpu_ms"], got["wall_ms"])
}
