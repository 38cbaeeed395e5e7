package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Why a sandbox watches for OOM kills and forgives CPU (see Group.WatchOOM
// and Group.ForgiveCPU): a group at its memory limit makes the kernel
// reclaim in the faulting task's context, and that kernel time runs past
// the group's CPU quota, since a task is only throttled when it leaves the
// kernel. A 128 MB group (7% of a CPU) was measured running up 1.4 s of CPU
// before the OOM killer struck, a debt the kernel then recovers at 7 ms per
// 100 ms: for 19 s the killed function could not run its exit, the init
// could not report it, and the invocation ended as a timeout instead of
// Runtime.OutOfMemory. Rewriting the quota makes the kernel drop the debt.

// OOMWatch reports OOM kills in one group.
type OOMWatch interface {
	// Wait blocks until the OOM killer has struck in the group (on v1,
	// until it is about to: the kernel notifies before it kills), and
	// returns an error once the watch is closed.
	Wait() error
	// Close ends the watch; a blocked Wait returns.
	Close() error
}

// v1OOMWatch is an eventfd registered for memory.oom_control.
type v1OOMWatch struct{ f *os.File }

func (g *v1Group) WatchOOM() (OOMWatch, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("cgroup: eventfd: %w", err)
	}
	ofd, err := unix.Open(filepath.Join(g.dirs["memory"], "memory.oom_control"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	// The kernel keeps what it needs of both once registered.
	defer unix.Close(ofd)
	ctl := filepath.Join(g.dirs["memory"], "cgroup.event_control")
	if err := writeFile(ctl, fmt.Sprintf("%d %d", efd, ofd)); err != nil {
		unix.Close(efd)
		return nil, err
	}
	return &v1OOMWatch{f: os.NewFile(uintptr(efd), "oom-events")}, nil
}

func (w *v1OOMWatch) Wait() error {
	var b [8]byte
	if _, err := w.f.Read(b[:]); err != nil {
		return fmt.Errorf("cgroup: OOM events: %w", err)
	}
	return nil
}

func (w *v1OOMWatch) Close() error { return w.f.Close() }

// v2OOMWatch is an inotify watch on memory.events, whose changes include
// reaching memory.max; Wait returns only when its oom_kill count grew.
type v2OOMWatch struct {
	f     *os.File
	g     *v2Group
	kills uint64
}

func (g *v2Group) WatchOOM() (OOMWatch, error) {
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("cgroup: inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(ifd, filepath.Join(g.dir, "memory.events"), unix.IN_MODIFY); err != nil {
		unix.Close(ifd)
		return nil, fmt.Errorf("cgroup: watch memory.events: %w", err)
	}
	w := &v2OOMWatch{f: os.NewFile(uintptr(ifd), "oom-events"), g: g}
	if w.kills, err = g.OOMKills(); err != nil {
		w.f.Close()
		return nil, err
	}
	return w, nil
}

func (w *v2OOMWatch) Wait() error {
	buf := make([]byte, 4096)
	for {
		if _, err := w.f.Read(buf); err != nil {
			return fmt.Errorf("cgroup: OOM events: %w", err)
		}
		n, err := w.g.OOMKills()
		if err != nil {
			return err
		}
		if n > w.kills {
			w.kills = n
			return nil
		}
	}
}

func (w *v2OOMWatch) Close() error { return w.f.Close() }

// ForgiveCPU rewrites cpu.cfs_quota_us unchanged (see the top of this file).
func (g *v1Group) ForgiveCPU() error {
	err := rewrite(filepath.Join(g.dirs["cpu"], "cpu.cfs_quota_us"))
	if errors.Is(err, os.ErrNotExist) {
		return nil // an adopted group without its cpu part: nothing is throttled
	}
	return err
}

// ForgiveCPU rewrites cpu.max unchanged (see the top of this file).
func (g *v2Group) ForgiveCPU() error {
	err := rewrite(filepath.Join(g.dir, "cpu.max"))
	if errors.Is(err, os.ErrNotExist) {
		return nil // no cpu controller in this hierarchy: nothing is throttled
	}
	return err
}

// rewrite writes a cgroup file's own value back to it.
func rewrite(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	return writeFile(path, strings.TrimSpace(string(b)))
}
