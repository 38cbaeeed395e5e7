package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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

// Dropping privileges happens in two steps so that the function's cold
// start does not wait for the init's own threads.
//
// confineThread runs on the locked thread that then forks the function. It
// uses raw, per-thread system calls only (a few microseconds): the function
// inherits exactly this thread's credentials, securebits, capability sets,
// no_new_privs and seccomp filter. The process-wide parts (resource limits,
// dumpable) are set here too.
//
// confineProcess runs shortly after the function has started (confineDelay)
// and extends the confinement to every other thread of the init, using Go's
// all-thread setresuid family and seccomp TSYNC, which signal each thread.
// Until it returns, the init's other threads are still the sandbox's root.
// The function cannot use them: they run as another uid (no signals to or
// ptrace of them), the init is not dumpable (no /proc/1/mem, fds, environ,
// ns links), ptrace and process_vm_* are filtered anyway, and the init runs
// only its own supervision code, which takes nothing from the function but
// the signals Go relays to channels that discard them.

// confineThread confines the calling thread and sets the process-wide
// limits the function inherits.
func confineThread(prog []unix.SockFilter, nproc uint64) error {
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
	// The manager started the init without supplementary groups (verified
	// below). Leaving uid 0 for good clears the permitted, effective and
	// ambient sets.
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, FunctionGID, FunctionGID, FunctionGID); e != 0 {
		return fmt.Errorf("setresgid: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, FunctionUID, FunctionUID, FunctionUID); e != 0 {
		return fmt.Errorf("setresuid: %w", e)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	if err := unix.Capset(&hdr, &none[0]); err != nil {
		return fmt.Errorf("clear capabilities: %w", err)
	}
	// Non-dumpable: the function, which ends up sharing the uid, cannot open
	// the init's /proc/1/mem, environ or fds.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear dumpable: %w", err)
	}
	if err := seccomp.LoadThread(prog); err != nil {
		return err
	}
	return verifyThread()
}

// hardenThread runs while the zygote warms up: it sets what limits future
// privileges without removing current ones, so the claim keeps its
// capabilities. Securebits: root gains nothing at execve, capabilities are
// never kept across setuid, no ambient raise, all locked. The ambient set
// is cleared and the bounding set emptied (on every thread when the runtime
// allows it, else on this one).
func hardenThread() error {
	bits := secbitNoRoot | secbitNoRootLocked | secbitNoSetuidFixupLocked | secbitKeepCapsLocked |
		secbitNoCapAmbientRaise | secbitNoCapAmbientRaiseLocked
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(bits), 0, 0, 0); err != nil {
		return fmt.Errorf("set securebits: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	return dropBounding()
}

// confineProcess confines every thread of the init; see confineThread.
func confineProcess(prog []unix.SockFilter) error {
	if err := syscall.Setresgid(FunctionGID, FunctionGID, FunctionGID); err != nil {
		return fmt.Errorf("setresgid: %w", err)
	}
	if err := syscall.Setresuid(FunctionUID, FunctionUID, FunctionUID); err != nil {
		return fmt.Errorf("setresuid: %w", err)
	}
	if err := seccomp.Load(prog); err != nil {
		return err
	}
	return verifyProcess()
}

// dropBounding empties the capability bounding set of every thread when
// the Go runtime can run a system call on all of them, else (cgo binaries)
// of the calling thread only; the other threads then keep a bounding set
// that no_new_privs makes inert, as they never execve.
func dropBounding() error {
	allThreads := true
	for c := uintptr(0); c < 64; c++ {
		if allThreads {
			_, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0)
			switch e {
			case 0:
				continue
			case syscall.EINVAL:
				return nil // past the last capability this kernel knows
			case syscall.ENOTSUP:
				allThreads = false
			default:
				return fmt.Errorf("drop capability %d on all threads: %w", c, e)
			}
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err == unix.EINVAL {
			return nil
		} else if err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// verifyThread re-reads the calling thread's state: a failure here means a
// step above silently did less than it claims.
func verifyThread() error {
	r, e, s := unix.Getresuid()
	if r != FunctionUID || e != FunctionUID || s != FunctionUID {
		return fmt.Errorf("uids %d/%d/%d after setresuid", r, e, s)
	}
	r, e, s = unix.Getresgid()
	if r != FunctionGID || e != FunctionGID || s != FunctionGID {
		return fmt.Errorf("gids %d/%d/%d after setresgid", r, e, s)
	}
	if groups, err := unix.Getgroups(); err != nil || len(groups) != 0 {
		return fmt.Errorf("supplementary groups %v (%v)", groups, err)
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

// verifyProcess checks every thread of the init through /proc (the
// sandbox's own, mounted in the composed root).
func verifyProcess() error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	want := map[string]string{
		"Uid": "993\t993\t993\t993", "Gid": "990\t990\t990\t990", "Groups": "",
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000",
		"CapEff": "0000000000000000", "CapAmb": "0000000000000000",
		"NoNewPrivs": "1", "Seccomp": "2",
	}
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", t.Name(), "status"))
		if err != nil {
			return err
		}
		seen := 0
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			k, v, _ := bytes.Cut(line, []byte(":"))
			w, ok := want[string(k)]
			if !ok {
				continue
			}
			if got := string(bytes.TrimSpace(v)); got != w {
				return fmt.Errorf("thread %s: %s is %q, want %q", t.Name(), k, got, w)
			}
			seen++
		}
		if seen != len(want) {
			return fmt.Errorf("thread %s: status lacks fields", t.Name())
		}
	}
	return nil
}
