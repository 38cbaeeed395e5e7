package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cloister/cloister/internal/sandbox/cgroup"
)

// Sandbox is one running execution environment.
type Sandbox struct {
	id        string
	m         *Manager
	z         *zygote
	listeners []net.Listener
	done      chan struct{}
	exit      Exit // set before done is closed

	mu      sync.Mutex // orders cgroup use against removal
	removed bool

	closeOnce sync.Once
	closeErr  error
}

// claim hands spec to the zygote and waits until the sandbox is complete and
// listening. The function is exec'd concurrently; if that fails, Wait
// reports it.
func (z *zygote) claim(ctx context.Context, spec *Spec) (*Sandbox, error) {
	var fds []int
	defer func() { closeFDs(fds) }()
	for _, f := range []*os.File{spec.Stdout, spec.Stderr} {
		if f == nil {
			f = z.m.devNull
		}
		fd, err := dupFile(f)
		if err != nil {
			return nil, err
		}
		fds = append(fds, fd)
	}
	for _, dir := range []string{spec.TaskDir, spec.RuntimeDir, spec.OptDir} {
		if dir == "" {
			continue
		}
		fd, err := openTree(dir)
		if err != nil {
			return nil, err
		}
		fds = append(fds, fd)
	}
	mem := int64(spec.MemoryMB) << 20
	if err := z.cg.SetLimits(cgroup.Limits{MemoryBytes: mem, CPUMillis: cpuMillis(spec.MemoryMB)}); err != nil {
		return nil, err
	}
	start := &startMsg{
		Args:     spec.Args,
		Env:      spec.Env,
		Hostname: spec.Hostname,
		TmpMB:    spec.TmpMB,
		Listen:   spec.Listen,
		Runtime:  spec.RuntimeDir != "",
		Opt:      spec.OptDir != "",
		NProc:    uint64(z.m.cfg.PidsMax),
		CPUs:     spec.CPUs,
	}
	if err := z.ctl.send(message{Kind: kindStart, Start: start}, fds...); err != nil {
		return nil, err
	}
	closeFDs(fds)
	fds = nil

	reply, lfds, err := z.ctl.recvCtx(ctx, claimTimeout)
	if err != nil {
		return nil, fmt.Errorf("sandbox: wait for the sandbox: %w", z.explain(err))
	}
	switch {
	case reply.Kind == kindError:
		return nil, fmt.Errorf("sandbox: %s", reply.Error)
	case reply.Kind != kindListening || len(lfds) != len(spec.Listen):
		closeFDs(lfds)
		return nil, fmt.Errorf("%w: %s with %d listeners in reply to start", errProtocol, reply.Kind, len(lfds))
	}
	s := &Sandbox{id: spec.ID, m: z.m, z: z, done: make(chan struct{})}
	for i, fd := range lfds {
		f := os.NewFile(uintptr(fd), spec.Listen[i])
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			closeFDs(lfds[i+1:])
			for _, l := range s.listeners {
				l.Close()
			}
			return nil, fmt.Errorf("sandbox: listener %s: %w", spec.Listen[i], err)
		}
		s.listeners = append(s.listeners, l)
	}
	go s.watch()
	return s, nil
}

// dupFile duplicates f's descriptor (close-on-exec) without changing f.
func dupFile(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("sandbox: standard stream: %w", err)
	}
	nfd, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, fmt.Errorf("sandbox: standard stream: %w", err)
	}
	if derr != nil {
		return -1, fmt.Errorf("sandbox: dup standard stream: %w", derr)
	}
	return nfd, nil
}

// openTree clones the host directory dir into a detached mount tree that is
// read-only, nosuid and nodev, for the init to attach. The host resolves the
// path, so directories the sandbox's ids could not traverse work, and
// filesystems mounted after the zygote was forked are visible.
func openTree(dir string) (int, error) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return -1, fmt.Errorf("sandbox: %w", err)
	}
	if !fi.IsDir() {
		return -1, fmt.Errorf("%w: %s is not a directory", ErrInvalidSpec, dir)
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, dir,
		unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return -1, fmt.Errorf("sandbox: open_tree %s: %w", dir, err)
	}
	attr := &unix.MountAttr{Attr_set: attrRO, Propagation: unix.MS_PRIVATE}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("sandbox: make %s read-only: %w", dir, err)
	}
	return fd, nil
}

// watch follows the sandbox after Start: the function's start, its exit
// status, then the init's end; it publishes the Exit.
func (s *Sandbox) watch() {
	var started bool
	var reported *exitMsg
	var failure error
	for {
		m, fds, err := s.z.ctl.recv()
		closeFDs(fds)
		switch {
		case err == nil && m.Kind == kindStarted && !started && reported == nil:
			started = true
			continue
		case err == nil && m.Kind == kindExit && started && reported == nil:
			reported = m.Exit
			continue
		case err == nil && m.Kind == kindError && failure == nil:
			// The function could not be started (missing or non-executable
			// binary), or the init could not confine itself afterwards; the
			// init exits either way, taking everything with it.
			failure = fmt.Errorf("sandbox: %s", m.Error)
			continue
		case err == nil || errors.Is(err, errProtocol):
			// Nothing else is ever sent: this is not the init we started.
			if failure == nil {
				failure = fmt.Errorf("%w: unexpected %q from the sandbox", errProtocol, m.Kind)
				if err != nil {
					failure = err
				}
			}
			s.Kill()
			continue
		}
		break // EOF: the init is gone
	}
	<-s.z.exited
	exit := Exit{Code: -1, Err: failure}
	if reported != nil {
		exit.Code, exit.Signal = reported.Code, syscall.Signal(reported.Signal)
	} else if ws, ok := s.z.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		// Killed (Kill, OOM killer) before it could report: so was the function.
		exit.Signal = ws.Signal()
	} else if exit.Err == nil {
		exit.Err = fmt.Errorf("sandbox: init ended (%s) without reporting the function's exit", s.z.cmd.ProcessState)
	}
	if n, err := s.z.cg.OOMKills(); err == nil {
		exit.OOMKilled = n > 0 || s.z.oomEnded.Load()
	} else if exit.Err == nil {
		exit.Err = err
	}
	s.exit = exit
	close(s.done)
}

// ID returns Spec.ID.
func (s *Sandbox) ID() string { return s.id }

// Listeners returns the listening sockets opened inside the sandbox for
// Spec.Listen, in order. The caller serves them (net/http over
// net.Listener); Close closes them.
func (s *Sandbox) Listeners() []net.Listener { return slices.Clone(s.listeners) }

// Done is closed once the function and everything it started have exited.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// Wait blocks until the function and everything it started have exited and
// reports how.
func (s *Sandbox) Wait() Exit {
	<-s.done
	return s.exit
}

// Kill kills every process of the sandbox now (for timeouts and
// retirement); Wait then reports SIGKILL. Killing a finished sandbox is a
// no-op.
func (s *Sandbox) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return nil
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	if _, v2 := s.z.cg.CloneFD(); v2 {
		return s.z.cg.Kill()
	}
	// cgroup v1: SIGKILL to the pid namespace's init makes the kernel kill
	// every other process in the namespace; none can leave it.
	if err := s.z.killInit(); err != nil {
		return fmt.Errorf("sandbox %s: %w", s.id, err)
	}
	return nil
}

// PeakMemory returns the highest memory use (bytes) of the sandbox since it
// started or since the last ResetPeakMemory, for Lambda's "Max Memory Used".
func (s *Sandbox) PeakMemory() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return 0, fmt.Errorf("sandbox %s: closed", s.id)
	}
	return s.z.cg.PeakMemory()
}

// SetCPUs moves every thread of the sandbox (its init and the function's
// processes) onto cpus, as Spec.CPUs placed them at the start. Like that
// placement it is a hint for the scheduler, not a limit: the cgroup's CPU
// quota is the limit, and a thread the function creates while the move is
// under way may keep the old affinity. Threads that exit meanwhile are
// skipped.
func (s *Sandbox) SetCPUs(cpus []int) error {
	if len(cpus) == 0 {
		return fmt.Errorf("sandbox %s: set CPUs: none given", s.id)
	}
	if err := checkCPUs(cpus); err != nil {
		return fmt.Errorf("sandbox %s: set CPUs: %w", s.id, err)
	}
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return fmt.Errorf("sandbox %s: closed", s.id)
	}
	pids, err := s.z.cg.Procs()
	if err != nil {
		return fmt.Errorf("sandbox %s: set CPUs: %w", s.id, err)
	}
	for _, pid := range pids {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			continue // the process has exited
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("sandbox %s: set CPUs of thread %d: %w", s.id, tid, err)
			}
		}
	}
	return nil
}

// ResetPeakMemory restarts PeakMemory from the current use, typically
// before each invocation.
func (s *Sandbox) ResetPeakMemory() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return fmt.Errorf("sandbox %s: closed", s.id)
	}
	return s.z.cg.ResetPeakMemory()
}

// Close kills the sandbox, waits for it, closes the listeners and removes
// its cgroup. It is idempotent and safe to call concurrently.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		err := s.Kill()
		<-s.done
		s.mu.Lock()
		s.removed = true
		s.mu.Unlock()
		for _, l := range s.listeners {
			l.Close()
		}
		s.closeErr = errors.Join(err, s.z.release())
		s.m.forget(s)
	})
	return s.closeErr
}
