package sandbox

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cloister/cloister/internal/sandbox/seccomp"
)

// Securebits (linux/securebits.h).
const (
	secbitNoRoot                  = 1 << 0
	secbitNoRootLocked            = 1 << 1
	secbitNoSetuidFixupLocked     = 1 << 3
	secbitKeepCapsLocked          = 1 << 5
	secbitNoCapAmbientRaise       = 1 << 6
	secbitNoCapAmbientRaiseLocked = 1 << 7
)

// confine turns the calling process, the sandbox init, into an unprivileged
// process of the sandbox: FunctionUID/FunctionGID without supplementary
// groups, no capabilities, no_new_privs, not dumpable, the seccomp filter,
// and the function's resource limits. The function it forks next inherits
// all of it.
//
// Credentials and the filter are applied to every thread (Go's setresuid
// family and seccomp TSYNC do that). Securebits, the bounding set and the
// inheritable set are per thread: they are set on the calling thread, which
// InitMain locked and from which the function is forked, and the bounding
// set is also dropped on every other thread when the runtime allows it (not
// in cgo binaries; those threads then keep a bounding set that no_new_privs
// makes inert, as they never execve).
func confine(prog []unix.SockFilter, nproc uint64) error {
	for _, l := range []struct {
		res int
		val uint64
	}{
		{unix.RLIMIT_NOFILE, NoFile},
		{unix.RLIMIT_NPROC, nproc},
		{unix.RLIMIT_CORE, 0},
	} {
		// syscall.Setrlimit keeps Go's saved RLIMIT_NOFILE in step, so
		// the function gets NoFile and not the value Go started with.
		if err := syscall.Setrlimit(l.res, &syscall.Rlimit{Cur: l.val, Max: l.val}); err != nil {
			return fmt.Errorf("setrlimit %d: %w", l.res, err)
		}
	}
	bits := secbitNoRoot | secbitNoRootLocked | secbitNoSetuidFixupLocked | secbitKeepCapsLocked |
		secbitNoCapAmbientRaise | secbitNoCapAmbientRaiseLocked
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(bits), 0, 0, 0); err != nil {
		return fmt.Errorf("set securebits: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	allThreads := true
	for c := uintptr(0); c < 64; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err == unix.EINVAL {
			break // past the last capability this kernel knows
		} else if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
		if allThreads {
			_, _, errno := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0)
			if errno == syscall.ENOTSUP {
				allThreads = false
			} else if errno != 0 {
				return fmt.Errorf("drop capability %d on all threads: %w", c, errno)
			}
		}
	}
	if err := syscall.Setgroups([]int{}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setresgid(FunctionGID, FunctionGID, FunctionGID); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	// Leaving uid 0 for good clears the permitted, effective and ambient
	// sets of every thread.
	if err := syscall.Setresuid(FunctionUID, FunctionUID, FunctionUID); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	if err := unix.Capset(&hdr, &none[0]); err != nil {
		return fmt.Errorf("clear capabilities: %w", err)
	}
	// Non-dumpable: the function, which shares the uid, cannot open the
	// init's /proc/1/mem, environ or fds, nor ptrace it.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear dumpable: %w", err)
	}
	if err := seccomp.Load(prog); err != nil {
		return err
	}
	return verifyConfined()
}

// verifyConfined re-reads the calling thread's credentials: a failure here
// means a step above silently did less than it claims.
func verifyConfined() error {
	r, e, s := unix.Getresuid()
	if r != FunctionUID || e != FunctionUID || s != FunctionUID {
		return fmt.Errorf("uids %d/%d/%d after setresuid", r, e, s)
	}
	r, e, s = unix.Getresgid()
	if r != FunctionGID || e != FunctionGID || s != FunctionGID {
		return fmt.Errorf("gids %d/%d/%d after setresgid", r, e, s)
	}
	if groups, err := syscall.Getgroups(); err != nil || len(groups) != 0 {
		return fmt.Errorf("supplementary groups %v (%v) after setgroups", groups, err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	if caps != [2]unix.CapUserData{} {
		return fmt.Errorf("capabilities left: %+v", caps)
	}
	if v, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, 0, 0, 0, 0); err != nil || v != 0 {
		return fmt.Errorf("bounding set still holds capability 0 (%v)", err)
	}
	if v, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); err != nil || v != 1 {
		return fmt.Errorf("no_new_privs is %d (%v)", v, err)
	}
	if v, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil || v != 2 {
		return fmt.Errorf("seccomp mode %d (%v)", v, err)
	}
	return nil
}
