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
	if err := unix.CloseRange(initBinFD, ^uint(0), 0); err != nil {
		return nil, fmt.Errorf("close_range: %w", err)
	}
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
	in := &initProc{ctl: newConn(uc), chld: make(chan os.Signal, 1)}
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
	m, fds, err := in.ctl.recv()
	if err == io.EOF {
		return 0 // the manager retired this zygote
	}
	if err != nil || m.Kind != kindStart {
		closeFDs(fds)
		in.fail(fmt.Errorf("expected a start message: %v", err))
		return 1
	}
	pid, listeners, err := in.claim(m.Start, fds)
	if err != nil {
		in.fail(err)
		return 1
	}
	err = in.ctl.send(message{Kind: kindStarted, Started: &startedMsg{Pid: pid, Listeners: len(listeners)}}, listeners...)
	closeFDs(listeners)
	if err != nil {
		return 1
	}
	return in.supervise(pid)
}

// fail reports err to the host, best effort.
func (in *initProc) fail(err error) {
	text := err.Error()
	if len(text) > maxErrorText {
		text = text[:maxErrorText]
	}
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
	// Let Go probe pidfd support now rather than in the claim's fork.
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Release()
	}
	return nil
}

// claim turns the zygote into the sandbox of st and starts the function.
// fds are stdout, stderr, the /var/task tree, then the optional
// /var/runtime and /opt trees; claim closes them.
func (in *initProc) claim(st *startMsg, fds []int) (pid int, listeners []int, err error) {
	defer closeFDs(fds)
	stdout, stderr := fds[0], fds[1]
	trees := []struct {
		fd     int
		target string
	}{{fds[2], "/var/task"}}
	next := 3
	if st.Runtime {
		trees = append(trees, struct {
			fd     int
			target string
		}{fds[next], "/var/runtime"})
		next++
	}
	if st.Opt {
		trees = append(trees, struct {
			fd     int
			target string
		}{fds[next], "/opt"})
	}
	// The zygote now sits in its final cgroup: root a cgroup namespace
	// there, so /proc/self/cgroup shows "/" and nothing of the host.
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return 0, nil, fmt.Errorf("cgroup namespace: %w", err)
	}
	if err := unix.Sethostname([]byte(st.Hostname)); err != nil {
		return 0, nil, fmt.Errorf("sethostname: %w", err)
	}
	for _, t := range trees {
		if err := attachTree(t.fd, t.target); err != nil {
			return 0, nil, err
		}
	}
	if err := mountTmp(st.TmpMB); err != nil {
		return 0, nil, err
	}
	if listeners, err = listen(st.Listen); err != nil {
		return 0, nil, err
	}
	defer func() {
		if err != nil {
			closeFDs(listeners)
			listeners = nil
		}
	}()
	// The function expects ordinary blocking standard streams.
	for _, fd := range []int{stdout, stderr} {
		if err := unix.SetNonblock(fd, false); err != nil {
			return 0, nil, fmt.Errorf("standard stream: %w", err)
		}
	}
	stdin, err := os.Open("/dev/null")
	if err != nil {
		return 0, nil, err
	}
	defer stdin.Close()
	if err := confine(in.prog, st.NProc); err != nil {
		return 0, nil, fmt.Errorf("confine: %w", err)
	}
	// Belt and braces: whatever was opened since start is close-on-exec too.
	if err := unix.CloseRange(ctlFD, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return 0, nil, fmt.Errorf("close_range: %w", err)
	}
	env := st.Env
	if env == nil {
		env = []string{} // nil would mean "inherit"
	}
	out, errf := os.NewFile(uintptr(stdout), "stdout"), os.NewFile(uintptr(stderr), "stderr")
	p, err := os.StartProcess(st.Args[0], st.Args, &os.ProcAttr{
		Dir:   "/var/task",
		Env:   env,
		Files: []*os.File{stdin, out, errf},
	})
	// The descriptors now belong to the os.Files; keep defer closeFDs off them.
	fds[0], fds[1] = -1, -1
	out.Close()
	errf.Close()
	if err != nil {
		return 0, nil, fmt.Errorf("start function: %w", err)
	}
	pid = p.Pid
	p.Release()
	return pid, listeners, nil
}

// supervise reaps every child that exits, and returns once the function
// has; the caller then exits, which makes the kernel kill whatever is left
// in the pid namespace. It also returns when the host closes the control
// channel.
func (in *initProc) supervise(fn int) int {
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
		}
	}
}
