package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloister/cloister/internal/sandbox/cgroup"
	"github.com/cloister/cloister/internal/sandbox/seccomp"
)

// Upper bounds on how long an init may take to answer; normal answers take
// milliseconds.
const (
	readyTimeout = 30 * time.Second
	claimTimeout = 30 * time.Second
)

// refillDelay separates a claim from the spawn that replaces its zygote.
const refillDelay = 20 * time.Millisecond

// Manager creates sandboxes on this host and owns their cgroups, host id
// ranges and the zygote pool.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	cg      *cgroup.Hierarchy
	ids     *idRange
	devNull *os.File
	initBin *os.File // InitPath, opened once: see spawn
	idLock  *os.File // holds this Manager's host id range
	seq     atomic.Uint64

	pool   chan *zygote // ready zygotes; only refill sends
	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup // refill

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup      // Start calls in progress
	live     map[string]*Sandbox // by ID; nil while a Start holds the ID
}

// NewManager checks that this host can isolate functions and prepares the
// cgroup parent. It fails closed, naming the missing feature, when not
// root, when a kernel feature is missing (user namespaces, seccomp filters,
// the mount API, cgroup controllers) or when a first sandbox init cannot be
// brought up; it also kills and removes cgroups left under CgroupParent by a
// previous run. With PoolSize > 0 it keeps that many zygotes ready until
// Close.
func NewManager(ctx context.Context, cfg Config) (*Manager, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := checkHost(cfg.InitPath); err != nil {
		return nil, err
	}
	base := cfg.HostIDBase
	if base == 0 {
		base = defaultHostIDBase
	}
	base, idLock, err := claimIDRange(base, cfg.HostIDBase == 0)
	if err != nil {
		return nil, err
	}
	var closers []func() error
	fail := func(err error) (*Manager, error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}
	closers = append(closers, idLock.Close)
	cg, err := cgroup.Open(cfg.CgroupParent)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrIsolation, err))
	}
	closers = append(closers, cg.Close)
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return fail(fmt.Errorf("sandbox: %w", err))
	}
	closers = append(closers, devNull.Close)
	initBin, err := os.Open(cfg.InitPath)
	if err != nil {
		return fail(fmt.Errorf("sandbox: init binary: %w", err))
	}
	closers = append(closers, initBin.Close)
	m := &Manager{
		cfg:     cfg,
		log:     cfg.Logger,
		cg:      cg,
		ids:     newIDRange(base, cfg.MaxSandboxes),
		devNull: devNull,
		initBin: initBin,
		idLock:  idLock,
		pool:    make(chan *zygote, cfg.PoolSize),
		kick:    make(chan struct{}, 1),
		live:    map[string]*Sandbox{},
	}
	m.removeLeftovers()
	// Bring one init all the way up now: a host that cannot isolate fails
	// here, at start-up, not at the first invocation.
	z, err := m.spawn(ctx)
	if err != nil {
		return fail(fmt.Errorf("sandbox: host check: %w", err))
	}
	refillCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if cfg.PoolSize > 0 {
		m.pool <- z
		m.wg.Add(1)
		go m.refill(refillCtx)
	} else if err := z.release(); err != nil {
		m.log.Warn("sandbox: release host-check zygote", "err", err)
	}
	return m, nil
}

// checkHost verifies kernel features before anything is created.
func checkHost(initPath string) error {
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return fmt.Errorf("%w: user namespaces are disabled (user.max_user_namespaces = 0)", ErrIsolation)
	}
	b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	if err != nil {
		return fmt.Errorf("%w: seccomp filters: %v", ErrIsolation, err)
	}
	for _, a := range []string{"kill_process", "errno", "allow"} {
		if !slices.Contains(strings.Fields(string(b)), a) {
			return fmt.Errorf("%w: seccomp action %s unavailable", ErrIsolation, a)
		}
	}
	if _, err := seccomp.Program(); err != nil {
		return fmt.Errorf("%w: %w", ErrIsolation, err)
	}
	// open_tree(2) and mount_setattr(2) (Linux 5.12): probe with invalid
	// arguments, which fail with something other than ENOSYS when present.
	if _, err := unix.OpenTree(-1, "", 0); err == unix.ENOSYS {
		return fmt.Errorf("%w: kernel lacks open_tree (Linux 5.12 or later required)", ErrIsolation)
	}
	if err := unix.MountSetattr(-1, "", 0, &unix.MountAttr{}); err == unix.ENOSYS {
		return fmt.Errorf("%w: kernel lacks mount_setattr (Linux 5.12 or later required)", ErrIsolation)
	}
	fi, err := os.Stat(initPath)
	if err != nil {
		return fmt.Errorf("sandbox: init binary: %w", err)
	}
	// The init executes it as the sandbox's root, an unprivileged host uid.
	if !fi.Mode().IsRegular() || fi.Mode()&0o001 == 0 {
		return fmt.Errorf("sandbox: init binary %s must be a file executable by others (mode o+x)", initPath)
	}
	if fi, err := os.Stat(stage); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: %s must be a directory (sandbox roots are composed over it in private mount namespaces)", ErrIsolation, stage)
	}
	return nil
}

// removeLeftovers kills and removes groups a previous run left behind.
func (m *Manager) removeLeftovers() {
	names, err := m.cg.Children()
	if err != nil {
		m.log.Warn("sandbox: list leftover cgroups", "err", err)
		return
	}
	for _, name := range names {
		g, err := m.cg.Adopt(name)
		if err == nil {
			if err = g.Kill(); err == nil {
				err = g.Remove()
			}
		}
		if err != nil {
			m.log.Warn("sandbox: remove leftover cgroup", "group", name, "err", err)
			continue
		}
		m.log.Info("sandbox: removed leftover cgroup", "group", name)
	}
}

// Start creates a sandbox for spec and starts the function in it. It takes
// a pooled zygote when one is ready and forks a fresh one otherwise. Start
// returns once the sandbox is complete and its listeners are open; the
// function is being exec'd at that moment, so that the caller can serve the
// listeners while it boots. If the exec fails (say, Args[0] does not exist
// or is not executable), Wait reports it in Exit.Err.
func (m *Manager) Start(ctx context.Context, spec Spec) (*Sandbox, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start sandbox %s: %w", spec.ID, err)
	}
	if spec.Hostname == "" {
		spec.Hostname = "localhost"
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	if _, dup := m.live[spec.ID]; dup {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: ID %q is in use", ErrInvalidSpec, spec.ID)
	}
	m.live[spec.ID] = nil
	m.inflight.Add(1)
	m.mu.Unlock()
	defer m.inflight.Done()

	s, err := m.start(ctx, &spec)
	m.mu.Lock()
	if err != nil {
		delete(m.live, spec.ID)
		m.mu.Unlock()
		return nil, fmt.Errorf("start sandbox %s: %w", spec.ID, err)
	}
	m.live[spec.ID] = s
	closed := m.closed
	m.mu.Unlock()
	if closed {
		s.Close()
		return nil, fmt.Errorf("start sandbox %s: %w", spec.ID, ErrClosed)
	}
	return s, nil
}

func (m *Manager) start(ctx context.Context, spec *Spec) (*Sandbox, error) {
	// Refill only once the claim is done: spawning forks this process and
	// would compete with the claim and the function's start for the CPU.
	defer m.kickRefill()
	for {
		var z *zygote
		select {
		case z = <-m.pool:
		default:
			var err error
			if z, err = m.spawn(ctx); err != nil {
				return nil, err
			}
		}
		if !z.alive() {
			z.release()
			continue
		}
		s, err := z.claim(ctx, spec)
		if err != nil {
			z.release()
			return nil, err
		}
		return s, nil
	}
}

func (m *Manager) forget(s *Sandbox) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live[s.id] == s {
		delete(m.live, s.id)
	}
}

// Close stops the pool, kills every zygote and sandbox, removes their
// cgroups and the parent. It waits for Start calls in progress.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.inflight.Wait()
	m.cancel()
	m.wg.Wait()
	var errs []error
	for len(m.pool) > 0 {
		errs = append(errs, (<-m.pool).release())
	}
	m.mu.Lock()
	live := make([]*Sandbox, 0, len(m.live))
	for _, s := range m.live {
		if s != nil {
			live = append(live, s)
		}
	}
	m.mu.Unlock()
	for _, s := range live {
		errs = append(errs, s.Close())
	}
	errs = append(errs, m.cg.Close(), m.devNull.Close(), m.initBin.Close(), m.idLock.Close())
	return errors.Join(errs...)
}

func (m *Manager) kickRefill() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// refill keeps the pool full, one zygote at a time, backing off while
// spawning fails.
func (m *Manager) refill(ctx context.Context) {
	defer m.wg.Done()
	delay := 10 * time.Millisecond
	for {
		for len(m.pool) < cap(m.pool) {
			z, err := m.spawn(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				m.log.Error("sandbox: refill zygote pool", "err", err, "retry_in", delay)
				select {
				case <-ctx.Done():
					return
				case <-time.After(delay):
				}
				delay = min(2*delay, 5*time.Second)
				continue
			}
			delay = 10 * time.Millisecond
			m.pool <- z
		}
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		}
		// Let the sandbox just claimed start its function first.
		select {
		case <-ctx.Done():
			return
		case <-time.After(refillDelay):
		}
	}
}

// zygote is a sandbox init that has composed its function-agnostic root and
// waits, in fresh namespaces and its own cgroup, to be claimed.
type zygote struct {
	m    *Manager
	name string // cgroup name
	slot int    // host id slot
	cg   cgroup.Group
	oom  cgroup.OOMWatch // drives endOnOOM
	// oomEnded is set once endOnOOM ends the sandbox. On cgroup v1 that
	// kill can beat the OOM killer's own (whose notice comes first), and the
	// group's oom_kill count then stays 0.
	oomEnded atomic.Bool
	cmd      *exec.Cmd
	ctl      *conn
	exited   chan struct{} // closed once cmd.Wait returned
}

// spawn starts a zygote and waits until it is ready.
func (m *Manager) spawn(ctx context.Context) (_ *zygote, err error) {
	slot, ok := m.ids.alloc()
	if !ok {
		return nil, ErrCapacity
	}
	z := &zygote{m: m, slot: slot, name: fmt.Sprintf("sbx-%d", m.seq.Add(1)), exited: make(chan struct{})}
	defer func() {
		if err != nil {
			z.release()
		}
	}()
	if z.cg, err = m.cg.New(z.name); err != nil {
		return nil, err
	}
	if err := z.cg.SetLimits(cgroup.Limits{PidsMax: int64(m.cfg.PidsMax)}); err != nil {
		return nil, err
	}
	if z.oom, err = z.cg.WatchOOM(); err != nil {
		return nil, err
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sandbox: socketpair: %w", err)
	}
	hostEnd, initEnd := os.NewFile(uintptr(pair[0]), "control"), os.NewFile(uintptr(pair[1]), "control")
	defer initEnd.Close()
	c, err := net.FileConn(hostEnd)
	hostEnd.Close()
	if err != nil {
		return nil, fmt.Errorf("sandbox: control socket: %w", err)
	}
	z.ctl = newConn(c.(*net.UnixConn), hostRecvBuf)

	root, fn := m.ids.hostIDs(slot)
	attr := &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
			unix.CLONE_NEWUTS | unix.CLONE_NEWIPC,
		UidMappings: []syscall.SysProcIDMap{
			{ContainerID: 0, HostID: int(root), Size: 1},
			{ContainerID: FunctionUID, HostID: int(fn), Size: 1},
		},
		GidMappings: []syscall.SysProcIDMap{
			{ContainerID: 0, HostID: int(root), Size: 1},
			{ContainerID: FunctionGID, HostID: int(fn), Size: 1},
		},
		// Needed once, by the setgroups below; the init clears the groups
		// again before dropping its capabilities.
		GidMappingsEnableSetgroups: true,
		// Become the sandbox's root before exec: without this the child
		// would keep the host's uid 0, and with it ownership of host files.
		// Groups: none of the host's supplementary groups survive.
		Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}},
		Setsid:     true,
	}
	if fd, ok := z.cg.CloneFD(); ok {
		attr.UseCgroupFD, attr.CgroupFD = true, fd
	}
	// The child executes the binary through the descriptor the manager
	// opened: the sandbox's root may not traverse the directories above
	// InitPath (go test's build directory is 0700), and a binary replaced on
	// disk by an upgrade does not change what sandboxes run.
	z.cmd = &exec.Cmd{
		Path: fmt.Sprintf("/proc/self/fd/%d", initBinFD),
		Args: []string{m.cfg.InitPath, initArg},
		// One P is plenty for the init. Race-enabled builds (tests) would
		// otherwise hold every exiting init for a second.
		Env:         []string{"GOMAXPROCS=1", "GORACE=atexit_sleep_ms=0"},
		Dir:         "/",
		Stderr:      os.Stderr, // the init writes here only if it crashes
		ExtraFiles:  []*os.File{initEnd, m.initBin},
		SysProcAttr: attr,
	}
	if err := z.cmd.Start(); err != nil {
		close(z.exited)
		return nil, fmt.Errorf("sandbox: start init: %w", err)
	}
	go func() {
		z.cmd.Wait()
		close(z.exited)
	}()
	go z.endOnOOM(z.oom)
	initEnd.Close()
	if _, ok := z.cg.CloneFD(); !ok {
		// cgroup v1 cannot place a child at clone time: move the zygote in
		// while it starts up. After an idle spell the move waits for an RCU
		// grace period (milliseconds), which overlaps the zygote's warm-up
		// here and stays off the claim path. The zygote forks nothing before
		// its claim.
		if err := z.cg.Attach(z.cmd.Process.Pid); err != nil {
			return nil, err
		}
	}

	msg, fds, err := z.ctl.recvCtx(ctx, readyTimeout)
	closeFDs(fds)
	if err != nil {
		return nil, fmt.Errorf("sandbox: wait for init: %w", z.explain(err))
	}
	switch msg.Kind {
	case kindReady:
	case kindError:
		return nil, fmt.Errorf("sandbox: init: %s", msg.Error)
	default:
		return nil, fmt.Errorf("%w: %s before ready", errProtocol, msg.Kind)
	}
	return z, nil
}

func (z *zygote) alive() bool {
	select {
	case <-z.exited:
		return false
	default:
		return true
	}
}

// explain adds how the init ended to err, if it has.
func (z *zygote) explain(err error) error {
	if z.cmd == nil || z.cmd.Process == nil {
		return err
	}
	select {
	case <-z.exited:
		return fmt.Errorf("%w (init %s)", err, z.cmd.ProcessState)
	case <-time.After(50 * time.Millisecond):
		return err
	}
}

// release kills the zygote or sandbox init (and so everything in its pid
// namespace), waits for it, removes its cgroup and frees its host ids. It
// is called exactly once per zygote.
func (z *zygote) release() error {
	var errs []error
	if z.cmd != nil && z.cmd.Process != nil {
		if err := z.killInit(); err != nil {
			errs = append(errs, err)
		}
		<-z.exited
	}
	if z.oom != nil {
		z.oom.Close()
	}
	if z.ctl != nil {
		z.ctl.close()
	}
	freeIDs := true
	if z.cg != nil {
		if procs, err := z.cg.Procs(); err != nil || len(procs) > 0 {
			// Nothing can outlive the pid namespace's init; this is the
			// belt to those braces.
			if err := z.cg.Kill(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := z.cg.Remove(); err != nil {
			// Keep the ids reserved: something may still run as them.
			freeIDs = false
			errs = append(errs, err)
		}
	}
	if freeIDs {
		z.m.ids.free(z.slot)
	}
	return errors.Join(errs...)
}

// recvCtx is recv bounded by ctx and timeout.
func (c *conn) recvCtx(ctx context.Context, timeout time.Duration) (message, []int, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.c.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.c.SetReadDeadline(time.Now()) })
	m, fds, err := c.recv()
	if stop() {
		c.c.SetReadDeadline(time.Time{})
	}
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return m, fds, err
}

// endOnOOM ends the sandbox when the OOM killer strikes in it, as
// memory.oom.group does on cgroup v2: SIGKILL to the init takes the whole
// pid namespace. It also forgives the group's CPU debt then, and again
// shortly after (on v1 the notice comes before the kernel's own kill), so
// that the killed tasks die at once and the invocation ends in
// Runtime.OutOfMemory (cgroup/oom_linux.go explains the debt). Forgiving
// only a sandbox that is ending keeps a function from running up kernel
// time past its quota over and over, an OOM-killed child at a time, and
// having it forgiven. It returns when the watch is closed.
func (z *zygote) endOnOOM(w cgroup.OOMWatch) {
	for w.Wait() == nil {
		z.oomEnded.Store(true)
		if err := z.killInit(); err != nil {
			z.m.log.Warn("sandbox: end after an OOM kill", "cgroup", z.cg.Path(), "err", err)
		}
		time.AfterFunc(oomSettle, func() {
			// Fails only once the group is being removed: nothing to forgive.
			if err := z.cg.ForgiveCPU(); err != nil {
				z.m.log.Debug("sandbox: forgive CPU after an OOM kill", "cgroup", z.cg.Path(), "err", err)
			}
		})
	}
}

// killInit sends SIGKILL to the init, which takes its whole pid namespace
// with it, and forgives the group's CPU debt: tasks throttled for it could
// not die until it was paid (cgroup/oom_linux.go).
func (z *zygote) killInit() error {
	var errs []error
	if err := z.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		errs = append(errs, fmt.Errorf("sandbox: kill init: %w", err))
	}
	if z.cg != nil {
		if err := z.cg.ForgiveCPU(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// oomSettle is how long after an OOM notice the CPU debt is forgiven again.
const oomSettle = 50 * time.Millisecond
