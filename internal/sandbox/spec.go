package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path"
	"regexp"
	"runtime"
	"strings"
	"syscall"
)

var (
	// ErrUnsupported is returned by NewManager on operating systems other
	// than Linux.
	ErrUnsupported = errors.New("sandbox: not supported on " + runtime.GOOS)
	// ErrNotRoot is returned by NewManager when the process is not root.
	ErrNotRoot = errors.New("sandbox: must run as root to create sandboxes")
	// ErrIsolation reports a kernel or host feature a sandbox needs that is
	// missing; the manager refuses to start rather than isolate less.
	ErrIsolation = errors.New("sandbox: required isolation feature unavailable")
	// ErrInvalidSpec reports a Spec or Config that fails validation.
	ErrInvalidSpec = errors.New("sandbox: invalid spec")
	// ErrCapacity reports that every host uid range is in use.
	ErrCapacity = errors.New("sandbox: too many sandboxes")
	// ErrClosed reports use of a closed Manager.
	ErrClosed = errors.New("sandbox: manager closed")
)

// Identity of the function inside every sandbox: Lambda's sbx_user1051.
const (
	FunctionUID = 993
	FunctionGID = 990
)

// Limits a Spec must respect, as in Lambda.
const (
	MinMemoryMB = 128
	MaxMemoryMB = 10240
	MinTmpMB    = 512
	MaxTmpMB    = 10240
	// MBPerCPU is the memory size that buys one full vCPU.
	MBPerCPU = 1769
	// NoFile is RLIMIT_NOFILE inside sandboxes.
	NoFile = 1024
)

// Config configures a Manager.
type Config struct {
	// InitPath is the binary re-executed as "InitPath init" to become each
	// sandbox's init; it must call IsInit/InitMain first thing in main and
	// be executable by others (the init runs as an unprivileged host uid).
	// Default: os.Executable().
	InitPath string
	// CgroupParent is the parent cgroup, relative to the hierarchy root, for
	// example "cloister" or "system.slice/cloister.service/sandboxes". One
	// Manager owns it: NewManager kills and removes groups it finds there.
	// Default: "cloister".
	CgroupParent string
	// PoolSize is the number of pre-forked, function-agnostic zygotes kept
	// ready; 0 disables pooling (every Start forks a fresh one).
	PoolSize int
	// PidsMax caps tasks (processes and threads, the init included) per
	// sandbox. Default: 1024.
	PidsMax int
	// HostIDBase is where the host uids and gids of sandboxes start. Each
	// sandbox gets two of each (its root and its function user), unique on
	// the host: a Manager locks a range of 65536 ids for its life (lock files
	// in /run/cloister), so Managers of several servers never overlap. Left
	// zero, the first free range from 0x70000000 (just above systemd's
	// container range) is taken; set, exactly that range or an error. The
	// ids must be used by nothing else on the host.
	HostIDBase uint32
	// MaxSandboxes bounds live sandboxes plus pooled zygotes, at most 32768.
	// Default: 4096.
	MaxSandboxes int
	// Logger receives background events (pool refill failures, cleanup of
	// leftovers). Default: slog.Default().
	Logger *slog.Logger
}

const (
	defaultHostIDBase = 0x70000000
	// maxSandboxes fills one host id range of 65536 ids, two per sandbox.
	maxSandboxes = 1 << 15
)

func (c *Config) setDefaults() error {
	if c.InitPath == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("sandbox: find own binary: %w", err)
		}
		c.InitPath = exe
	}
	if c.CgroupParent == "" {
		c.CgroupParent = "cloister"
	}
	if c.PidsMax == 0 {
		c.PidsMax = 1024
	}
	if c.MaxSandboxes == 0 {
		c.MaxSandboxes = 4096
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case !path.IsAbs(c.InitPath):
		return fmt.Errorf("%w: InitPath %q is not absolute", ErrInvalidSpec, c.InitPath)
	case c.PoolSize < 0 || c.PoolSize > 64:
		return fmt.Errorf("%w: PoolSize %d not in 0..64", ErrInvalidSpec, c.PoolSize)
	case c.PidsMax < 16:
		return fmt.Errorf("%w: PidsMax %d below 16", ErrInvalidSpec, c.PidsMax)
	case c.MaxSandboxes < 1 || c.MaxSandboxes > maxSandboxes:
		return fmt.Errorf("%w: MaxSandboxes %d not in 1..%d", ErrInvalidSpec, c.MaxSandboxes, maxSandboxes)
	case c.HostIDBase != 0 && (c.HostIDBase < 1<<16 || uint64(c.HostIDBase)+1<<16 > 0xfffffffe):
		return fmt.Errorf("%w: host id range at %d overlaps system ids or overflows", ErrInvalidSpec, c.HostIDBase)
	}
	return nil
}

// Spec describes one execution environment.
type Spec struct {
	// ID names the sandbox in logs and must be unique among live sandboxes:
	// [A-Za-z0-9_-]{1,64}.
	ID string
	// Args is argv inside the sandbox; Args[0] is an absolute path there,
	// for example "/var/task/bootstrap".
	Args []string
	// Env is the complete environment ("KEY=value"); nothing is inherited.
	Env []string
	// TaskDir is the host directory mounted read-only at /var/task.
	TaskDir string
	// RuntimeDir, if set, is mounted read-only at /var/runtime.
	RuntimeDir string
	// OptDir, if set, is mounted read-only at /opt (layers).
	OptDir string
	// MemoryMB is the memory limit, swap disabled; CPU is proportional to it
	// (MBPerCPU per vCPU, capped at the host's CPUs).
	MemoryMB int
	// TmpMB sizes the private /tmp (a tmpfs whose pages count against
	// MemoryMB).
	TmpMB int
	// Listen lists loopback addresses ("127.0.0.1:9001", "[::1]:9001") on
	// which the init opens listening sockets inside the sandbox's network
	// namespace; Sandbox.Listeners returns them for the caller to serve.
	Listen []string
	// Hostname is the UTS hostname inside. Default: "localhost".
	Hostname string
	// CPUs, if set, is the function's initial CPU affinity (host CPU
	// numbers). It places the function, for cache and wake-up locality; it
	// is not a limit (the cgroup's CPU quota is), and the function may
	// change its own affinity within the host's CPUs.
	CPUs []int
	// Stdout and Stderr receive the function's output; typically the write
	// ends of pipes whose read ends the caller drains. They are shared with
	// the function, which needs blocking descriptors: their file description
	// is switched to blocking mode. nil discards the stream. The caller keeps
	// ownership and may close them once Start has returned.
	Stdout, Stderr *os.File
}

// Exit describes how a sandbox ended.
type Exit struct {
	// Code is the function's exit status, or -1 if a signal ended it or it
	// never reported one.
	Code int
	// Signal is the signal that ended the function (0 if it exited).
	Signal syscall.Signal
	// OOMKilled reports that the sandbox ran out of memory: the OOM killer
	// killed a task of it, or struck and the sandbox was ended for it.
	OOMKilled bool
	// Err explains an abnormal end (init lost, protocol error); nil for a
	// function that exited or was killed by a signal.
	Err error
}

var (
	idRE       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$`)
)

// Bounds on what a Spec carries to the init.
const (
	maxArgs      = 256
	maxEnv       = 1024
	maxStrBytes  = 32 << 10
	maxListeners = 8
)

func (s *Spec) validate() error {
	if err := s.check(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSpec, err)
	}
	return nil
}

func (s *Spec) check() error {
	if !idRE.MatchString(s.ID) {
		return fmt.Errorf("ID %q does not match %s", s.ID, idRE)
	}
	if err := checkArgs(s.Args); err != nil {
		return err
	}
	if err := checkEnv(s.Env); err != nil {
		return err
	}
	for _, d := range []struct {
		name, dir string
		required  bool
	}{{"TaskDir", s.TaskDir, true}, {"RuntimeDir", s.RuntimeDir, false}, {"OptDir", s.OptDir, false}} {
		if d.dir == "" && !d.required {
			continue
		}
		if !path.IsAbs(d.dir) || strings.ContainsRune(d.dir, 0) {
			return fmt.Errorf("%s %q is not an absolute path", d.name, d.dir)
		}
	}
	if s.MemoryMB < MinMemoryMB || s.MemoryMB > MaxMemoryMB {
		return fmt.Errorf("MemoryMB %d not in %d..%d", s.MemoryMB, MinMemoryMB, MaxMemoryMB)
	}
	if err := checkTmp(s.TmpMB); err != nil {
		return err
	}
	if err := checkListen(s.Listen); err != nil {
		return err
	}
	if s.Hostname != "" && !hostnameRE.MatchString(s.Hostname) {
		return fmt.Errorf("hostname %q is not a valid host name", s.Hostname)
	}
	return checkCPUs(s.CPUs)
}

// maxCPU bounds a CPU number in an affinity (CPU_SETSIZE).
const maxCPU = 1024

func checkCPUs(cpus []int) error {
	if len(cpus) > maxCPU {
		return fmt.Errorf("%d CPUs, limit %d", len(cpus), maxCPU)
	}
	for _, c := range cpus {
		if c < 0 || c >= maxCPU {
			return fmt.Errorf("CPU %d not in 0..%d", c, maxCPU-1)
		}
	}
	return nil
}

func checkArgs(args []string) error {
	if len(args) == 0 || len(args) > maxArgs {
		return fmt.Errorf("%d arguments, want 1..%d", len(args), maxArgs)
	}
	if !path.IsAbs(args[0]) || path.Clean(args[0]) != args[0] {
		return fmt.Errorf("Args[0] %q is not a clean absolute path", args[0])
	}
	return checkStrings("argument", args)
}

func checkEnv(env []string) error {
	if len(env) > maxEnv {
		return fmt.Errorf("%d environment variables, limit %d", len(env), maxEnv)
	}
	for i, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			// Never echo the entry: environment values hold secrets.
			return fmt.Errorf("environment entry %d is not KEY=value", i)
		}
	}
	return checkStrings("environment entry", env)
}

// checkStrings rejects NUL bytes, which cannot cross execve, and bounds the
// total size. Errors name the index only: values may be secrets.
func checkStrings(what string, ss []string) error {
	total := 0
	for i, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%s %d contains NUL", what, i)
		}
		total += len(s)
	}
	if total > maxStrBytes {
		return fmt.Errorf("%s total %d bytes, limit %d", what, total, maxStrBytes)
	}
	return nil
}

func checkTmp(mb int) error {
	if mb < MinTmpMB || mb > MaxTmpMB {
		return fmt.Errorf("TmpMB %d not in %d..%d", mb, MinTmpMB, MaxTmpMB)
	}
	return nil
}

func checkListen(addrs []string) error {
	if len(addrs) > maxListeners {
		return fmt.Errorf("%d listen addresses, limit %d", len(addrs), maxListeners)
	}
	seen := map[netip.AddrPort]bool{}
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return fmt.Errorf("listen address %q: %v", truncate(a), err)
		}
		if !ap.Addr().IsLoopback() || ap.Addr().Zone() != "" || ap.Addr().Is4In6() || ap.Port() == 0 {
			return fmt.Errorf("listen address %q is not a loopback address with a port", a)
		}
		if seen[ap] {
			return fmt.Errorf("listen address %q repeated", a)
		}
		seen[ap] = true
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// cpuMillis is the CPU share of a memory size: MBPerCPU megabytes buy one
// vCPU (1000 millis). The cgroup layer caps it at the host's CPUs.
func cpuMillis(memoryMB int) int64 {
	return max(1, int64(memoryMB)*1000/MBPerCPU)
}
