//go:build linux

package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrUnsupportedArch reports an architecture without a classified system
// call table; sandboxes cannot start there.
var ErrUnsupportedArch = errors.New("seccomp: unsupported architecture " + runtime.GOARCH)

// Offsets into struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16 // args[i] is at offArgs+8*i; its low half comes first (little endian)
)

// x32Span bounds the x32 system call numbers: x32Bit to x32Bit|x32Span.
const x32Span = 0xfff

// maxInsns is BPF_MAXINSNS, the kernel's limit on a classic BPF program.
const maxInsns = 4096

var (
	assembleOnce sync.Once
	assembled    []unix.SockFilter
	assembleErr  error
)

// Program returns the policy assembled for the running architecture. The
// program is built on first use and cached for the life of the process; the
// returned slice is a copy the caller may keep.
func Program() ([]unix.SockFilter, error) {
	assembleOnce.Do(func() {
		if auditArch == 0 {
			assembleErr = ErrUnsupportedArch
			return
		}
		var decisions map[uint32]decision
		if decisions, assembleErr = classify(syscalls); assembleErr != nil {
			return
		}
		assembled, assembleErr = assemble(decisions, auditArch, x32Bit)
	})
	if assembleErr != nil {
		return nil, assembleErr
	}
	return slices.Clone(assembled), nil
}

// Load installs prog on every thread of the calling process
// (SECCOMP_FILTER_FLAG_TSYNC) after setting no_new_privs on the calling
// thread; synchronisation copies no_new_privs to the other threads.
func Load(prog []unix.SockFilter) error {
	return install(prog, unix.SECCOMP_FILTER_FLAG_TSYNC)
}

// LoadThread installs prog, and no_new_privs, on the calling thread only.
// The caller must keep its goroutine locked to the thread
// (runtime.LockOSThread) for the filter to mean anything; processes forked
// from the thread inherit it.
func LoadThread(prog []unix.SockFilter) error {
	return install(prog, 0)
}

func install(prog []unix.SockFilter, flags uintptr) error {
	if len(prog) == 0 || len(prog) > maxInsns {
		return fmt.Errorf("seccomp: program of %d instructions", len(prog))
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: set no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("seccomp: load filter: %w", errno)
	}
	if r != 0 {
		return fmt.Errorf("seccomp: thread %d could not be synchronised", r)
	}
	return nil
}

// decision is what the filter does for one system call number.
type decision struct {
	act  uint32   // constant action, when rule is nil
	rule *argRule // decided by arguments
}

// classify maps every number of table to its decision. Numbers of table
// not named by the policy are denied (and flagged by a test); numbers the
// table does not know are answered in assemble.
func classify(table map[string]uint32) (map[uint32]decision, error) {
	out := make(map[uint32]decision, len(table))
	seen := map[string]string{}
	add := func(list, name string, d decision) error {
		if prev, ok := seen[name]; ok {
			return fmt.Errorf("seccomp: %s is both %s and %s", name, prev, list)
		}
		seen[name] = list
		if nr, ok := table[name]; ok {
			out[nr] = d
		}
		return nil
	}
	for _, n := range allowed {
		if err := add("allowed", n, decision{act: retAllow}); err != nil {
			return nil, err
		}
	}
	for _, n := range denied {
		if err := add("denied", n, decision{act: retEPERM}); err != nil {
			return nil, err
		}
	}
	for _, n := range unimplemented {
		if err := add("unimplemented", n, decision{act: retENOSYS}); err != nil {
			return nil, err
		}
	}
	for n, r := range argRules {
		if err := add("argument-checked", n, decision{rule: &r}); err != nil {
			return nil, err
		}
	}
	for _, nr := range table {
		if _, ok := out[nr]; !ok {
			out[nr] = decision{act: retEPERM}
		}
	}
	return out, nil
}

// span is a run of consecutive system call numbers with one decision.
type span struct {
	lo uint32
	d  decision
}

// assemble builds the filter: architecture check, ENOSYS above the highest
// known number (kill for the x32 ABI's numbers), then a balanced binary search over runs of
// numbers with equal decisions, so that any system call is decided after
// about log2(runs) comparisons and the kernel can cache every constant
// decision in its per-filter bitmap.
func assemble(decisions map[uint32]decision, arch uint32, x32 uint32) ([]unix.SockFilter, error) {
	if len(decisions) == 0 {
		return nil, errors.New("seccomp: empty policy")
	}
	var maxNr uint32
	for nr := range decisions {
		maxNr = max(maxNr, nr)
	}
	var spans []span
	for nr := uint32(0); nr <= maxNr; nr++ {
		d, ok := decisions[nr]
		if !ok {
			d = decision{act: retENOSYS} // a gap in the numbering
		}
		if n := len(spans); n > 0 && d.rule == nil && spans[n-1].d.rule == nil && spans[n-1].d.act == d.act {
			continue
		}
		spans = append(spans, span{lo: nr, d: d})
	}

	prog := []unix.SockFilter{
		load(offArch),
		jump(unix.BPF_JEQ, arch, 1, 0),
		ret(retKill),
		load(offNr),
	}
	// Above the highest known number: kill in the x32 range, else ENOSYS.
	above := []unix.SockFilter{ret(retENOSYS)}
	if x32 != 0 {
		above = []unix.SockFilter{
			jump(unix.BPF_JGE, x32, 0, 2),
			jump(unix.BPF_JGT, x32|x32Span, 1, 0),
			ret(retKill),
			ret(retENOSYS),
		}
	}
	prog = append(prog, jump(unix.BPF_JGT, maxNr, 0, uint8(len(above))))
	prog = append(prog, above...)
	tree, err := emitTree(spans)
	if err != nil {
		return nil, err
	}
	prog = append(prog, tree...)
	if len(prog) > maxInsns {
		return nil, fmt.Errorf("seccomp: program of %d instructions exceeds %d", len(prog), maxInsns)
	}
	return prog, nil
}

// emitTree emits a binary search over spans, which cover consecutive
// numbers: the left half holds numbers below spans[mid].lo.
func emitTree(spans []span) ([]unix.SockFilter, error) {
	if len(spans) == 1 {
		if r := spans[0].d.rule; r != nil {
			return emitRule(*r)
		}
		return []unix.SockFilter{ret(spans[0].d.act)}, nil
	}
	mid := len(spans) / 2
	left, err := emitTree(spans[:mid])
	if err != nil {
		return nil, err
	}
	right, err := emitTree(spans[mid:])
	if err != nil {
		return nil, err
	}
	var out []unix.SockFilter
	if len(left) <= 255 {
		out = append(out, jump(unix.BPF_JGE, spans[mid].lo, uint8(len(left)), 0))
	} else {
		// Conditional jumps reach 255 instructions; go through a JA.
		out = append(out, jump(unix.BPF_JGE, spans[mid].lo, 0, 1), stmt(unix.BPF_JMP|unix.BPF_JA, uint32(len(left))))
	}
	out = append(out, left...)
	return append(out, right...), nil
}

// emitRule emits the clauses of r in order, each falling through to the
// next when one of its comparisons fails, then r's default.
func emitRule(r argRule) ([]unix.SockFilter, error) {
	var out []unix.SockFilter
	for _, c := range r.clauses {
		size := 1 // the final ret
		for _, m := range c.all {
			if m.arg > 5 {
				return nil, fmt.Errorf("seccomp: argument %d out of range", m.arg)
			}
			size += 2
			if m.mask != all32 {
				size++
			}
		}
		if size > 256 {
			return nil, fmt.Errorf("seccomp: clause of %d instructions", size)
		}
		var body []unix.SockFilter
		for _, m := range c.all {
			body = append(body, load(offArgs+8*uint32(m.arg)))
			if m.mask != all32 {
				body = append(body, stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, m.mask))
			}
			rest := size - len(body) - 1 // instructions after this jump in the clause
			body = append(body, jump(unix.BPF_JEQ, m.val&m.mask, 0, uint8(rest)))
		}
		out = append(out, body...)
		out = append(out, ret(c.act))
	}
	return append(out, ret(r.deflt)), nil
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func load(off uint32) unix.SockFilter {
	return stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off)
}

func ret(act uint32) unix.SockFilter { return stmt(unix.BPF_RET|unix.BPF_K, act) }

func jump(op uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, Jt: jt, Jf: jf, K: k}
}
