package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cloister/cloister/internal/sandbox/seccomp"
)

// initArg is argv[1] of a sandbox init.
const initArg = "init"

// Descriptors the init starts with: the control socket, and the init
// binary it was executed from (see Manager.spawn).
const (
	ctlFD     = 3
	initBinFD = 4
)

// IsInit reports whether this process was started as a sandbox init
// ("<binary> init"). The daemon's main and test mains call it first thing
// and then os.Exit(InitMain()).
func IsInit() bool { return len(os.Args) == 2 && os.Args[1] == initArg }

// InitMain runs the sandbox init and returns its exit status. It refuses to
// run unless it is pid 1 of a fresh pid namespace inside a user namespace
// with the control socket on descriptor 3, so that "cloister init" typed on
// a host does nothing.
//
// The init is a zygote until claimed: it composes the function-agnostic root
// and assembles the seccomp filter, reports ready, and waits. A claim mounts
// the function's trees and /tmp, opens the listeners, drops every privilege
// on itself and forks the function, then reaps children and reports the
// function's exit. When the function exits, or the host goes away, the init
// exits and the kernel kills everything left in the pid namespace.
func InitMain() int {
	// The calling goroutine stays on this thread for good: the cgroup
	// namespace, securebits and capability sets are per thread, and the
	// function is forked from here.
	runtime.LockOSThread()
	if err := checkInitContext(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %v: the init runs only inside a sandbox made by the manager\n", err)
		return 2
	}
	// Executed through /proc/self/fd/4, the init would be called "4" in ps.
	if name, err := unix.BytePtrFromString("cloister-init"); err == nil {
		unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
	in, err := newInit()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox init: %v\n", err)
		return 1
	}
	return in.run()
}

func checkInitContext() error {
	if os.Getpid() != 1 {
		return fmt.Errorf("pid %d is not 1", os.Getpid())
	}
	if t, err := unix.GetsockoptInt(ctlFD, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || t != unix.SOCK_SEQPACKET {
		return errors.New("descriptor 3 is not the control socket")
	}
	m, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return err
	}
	if f := bytes.Fields(m); len(f) == 3 && string(f[0]) == "0" && string(f[1]) == "0" {
		return errors.New("not in a user namespace")
	}
	return nil
}

type initProc struct {
	ctl  *conn
	prog []unix.SockFilter
	chld chan os.Signal
}

func newInit() (*initProc, error) {
	// Nothing the init holds may reach the function: mark every inherited
	// descriptor close-on-exec.
	unix.Close(initBinFD) // only needed by execve
	if err := unix.CloseRange(ctlFD, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return nil, fmt.Errorf("close_range: %w", err)
	}
	f := os.NewFile(ctlFD, "control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("control socket is not a unix socket")
	}
	in := &initProc{ctl: newConn(uc, initRecvBuf), chld: make(chan os.Signal, 1)}
	// As pid 1 the init only receives signals it handles. Catch all of them
	// so that none sent by the function (same uid) makes Go exit, and keep
	// SIGCHLD on its own channel so a flood of others cannot crowd it out.
	signal.Notify(in.chld, unix.SIGCHLD)
	junk := make(chan os.Signal, 8)
	signal.Notify(junk)
	go func() {
		for range junk {
		}
	}()
	return in, nil
}

func (in *initProc) run() int {
	if err := in.warmUp(); err != nil {
		in.fail(fmt.Errorf("warm up: %w", err))
		return 1
	}
	if err := in.ctl.send(message{Kind: kindReady}); err != nil {
		return 1
	}
	if err := in.ctl.waitReadable(); err != nil {
		return 1
	}
	m, fds, err := in.ctl.recv()
	if err == io.EOF {
		return 0 // the manager retired this zygote
	}
	if err != nil || m.Kind != kindStart {
		closeFDs(fds)
		in.fail(fmt.Errorf("expected a start message: %v", err))
		return 1
	}
	listeners, err := in.prepare(m.Start, fds[2:])
	closeFDs(fds[2:]) // the trees are attached (or useless)
	if err != nil {
		closeFDs(fds[:2])
		in.fail(err)
		return 1
	}
	// The host can serve the listeners while the function boots.
	err = in.ctl.send(message{Kind: kindListening, Listening: &listeningMsg{Listeners: len(listeners)}}, listeners...)
	closeFDs(listeners)
	if err != nil {
		closeFDs(fds[:2])
		return 1
	}
	pid, err := in.launch(m.Start, fds[0], fds[1]) // takes stdout and stderr
	if err != nil {
		in.fail(err)
		return 1
	}
	if err := in.ctl.send(message{Kind: kindStarted, Started: &startedMsg{Pid: pid}}); err != nil {
		return 1
	}
	return in.supervise(pid)
}

// fail reports err to the host, best effort.
func (in *initProc) fail(err error) {
	text := err.Error()
	if len(text) > maxErrorText-8 {
		text = text[:maxErrorText-8]
	}
	// JSON would turn invalid UTF-8 (a cut rune) into longer U+FFFD.
	text = strings.ToValidUTF8(text, "?")
	if in.ctl.send(message{Kind: kindError, Error: text}) != nil {
		fmt.Fprintf(os.Stderr, "sandbox init: %v\n", err)
	}
}

// warmUp does every function-agnostic step ahead of the claim.
func (in *initProc) warmUp() error {
	prog, err := seccomp.Program()
	if err != nil {
		return err
	}
	in.prog = prog
	if err := loUp(); err != nil {
		return err
	}
	if err := composeRoot(); err != nil {
		return err
	}
	if err := hardenThread(); err != nil {
		return err
	}
	// Let Go probe pidfd support now rather than in the claim's fork.
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Release()
	}
	return nil
}

// prepare turns the zygote into the sandbox of st: cgroup namespace,
// hostname, the function's trees, /tmp and the listening sockets, which it
// returns. trees are the /var/task tree, then the optional /var/runtime and
// /opt trees.
func (in *initProc) prepare(st *startMsg, trees []int) ([]int, error) {
	targets := []string{"/var/task"}
	if st.Runtime {
		targets = append(targets, "/var/runtime")
	}
	if st.Opt {
		targets = append(targets, "/opt")
	}
	// The zygote now sits in its final cgroup: root a cgroup namespace
	// there (for the locked thread, which forks the function), so
	// /proc/self/cgroup shows "/" and nothing of the host.
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return nil, fmt.Errorf("cgroup namespace: %w", err)
	}
	if err := unix.Sethostname([]byte(st.Hostname)); err != nil {
		return nil, fmt.Errorf("sethostname: %w", err)
	}
	for i, target := range targets {
		if err := attachTree(trees[i], target); err != nil {
			return nil, err
		}
	}
	if err := mountTmp(st.TmpMB); err != nil {
		return nil, err
	}
	return listen(st.Listen)
}

// launch drops the locked thread's privileges and forks the function from
// it with stdin /dev/null, stdout and stderr as given; it closes stdout and
// stderr.
func (in *initProc) launch(st *startMsg, stdout, stderr int) (int, error) {
	out, errf := os.NewFile(uintptr(stdout), "stdout"), os.NewFile(uintptr(stderr), "stderr")
	defer out.Close()
	defer errf.Close()
	// The function expects ordinary blocking standard streams.
	for _, fd := range []int{stdout, stderr} {
		if err := unix.SetNonblock(fd, false); err != nil {
			return 0, fmt.Errorf("standard stream: %w", err)
		}
	}
	stdin, err := os.Open("/dev/null")
	if err != nil {
		return 0, err
	}
	defer stdin.Close()
	if len(st.CPUs) > 0 {
		// The function inherits the forking thread's affinity.
		var set unix.CPUSet
		for _, c := range st.CPUs {
			set.Set(c)
		}
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return 0, fmt.Errorf("cpu affinity %v: %w", st.CPUs, err)
		}
	}
	if err := confineThread(in.prog, st.NProc); err != nil {
		return 0, fmt.Errorf("confine: %w", err)
	}
	// Belt and braces: whatever was opened since start is close-on-exec too.
	if err := unix.CloseRange(ctlFD, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return 0, fmt.Errorf("close_range: %w", err)
	}
	env := st.Env
	if env == nil {
		env = []string{} // nil would mean "inherit"
	}
	p, err := os.StartProcess(st.Args[0], st.Args, &os.ProcAttr{
		Dir:   "/var/task",
		Env:   env,
		Files: []*os.File{stdin, out, errf},
	})
	if err != nil {
		return 0, fmt.Errorf("start function: %w", err)
	}
	pid := p.Pid
	p.Release()
	return pid, nil
}

// confineDelay is how long after the function's start the init confines
// its own remaining threads (see confineThread for why that window is safe):
// the signals that takes would otherwise compete with the function's boot.
const confineDelay = 10 * time.Millisecond

// supervise confines the init's other threads, reaps every child that
// exits, and returns once the function has; the caller then exits, which
// makes the kernel kill whatever is left in the pid namespace. It also
// returns when the host closes the control channel, or when the init cannot
// confine itself.
func (in *initProc) supervise(fn int) int {
	confineNow := time.NewTimer(confineDelay)
	defer confineNow.Stop()
	hostGone := make(chan struct{})
	go func() {
		defer close(hostGone)
		for {
			_, fds, err := in.ctl.recv()
			closeFDs(fds) // the host sends nothing after start
			if err != nil && !errors.Is(err, errProtocol) {
				return
			}
		}
	}()
	for {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil || pid <= 0 {
				break
			}
			if pid == fn {
				st := &exitMsg{Code: ws.ExitStatus(), Signal: 0}
				if ws.Signaled() {
					st = &exitMsg{Code: -1, Signal: int(ws.Signal())}
				}
				in.ctl.send(message{Kind: kindExit, Exit: st})
				return 0
			}
		}
		select {
		case <-in.chld:
		case <-hostGone:
			return 0
		case <-confineNow.C:
			if err := confineProcess(in.prog); err != nil {
				in.fail(fmt.Errorf("confine init: %w", err))
				return 1
			}
		}
	}
}
