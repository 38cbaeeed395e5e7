//go:build linux && (amd64 || arm64)

package seccomp

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// data is struct seccomp_data.
type data struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

func (d data) bytes() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[offNr:], d.nr)
	binary.LittleEndian.PutUint32(b[offArch:], d.arch)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[offArgs+8*i:], a)
	}
	return b
}

// emulate runs a classic BPF program the way the kernel's seccomp does,
// accepting only the instructions this package emits.
func emulate(prog []unix.SockFilter, d data) (uint32, error) {
	act, _, err := run(prog, d)
	return act, err
}

// run is emulate that also counts the instructions executed.
func run(prog []unix.SockFilter, d data) (act uint32, steps int, err error) {
	in := d.bytes()
	var a uint32
	for pc := 0; ; steps++ {
		if pc < 0 || pc >= len(prog) {
			return 0, steps, fmt.Errorf("pc %d out of program of %d", pc, len(prog))
		}
		if steps > len(prog) {
			return 0, steps, fmt.Errorf("program loops")
		}
		ins := prog[pc]
		switch ins.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if ins.K%4 != 0 || ins.K+4 > uint32(len(in)) {
				return 0, steps, fmt.Errorf("pc %d: bad load offset %d", pc, ins.K)
			}
			a = binary.LittleEndian.Uint32(in[ins.K:])
			pc++
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			a &= ins.K
			pc++
		case unix.BPF_JMP | unix.BPF_JA:
			pc += 1 + int(ins.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var cond bool
			switch ins.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				cond = a == ins.K
			case unix.BPF_JGE:
				cond = a >= ins.K
			case unix.BPF_JGT:
				cond = a > ins.K
			case unix.BPF_JSET:
				cond = a&ins.K != 0
			}
			if cond {
				pc += 1 + int(ins.Jt)
			} else {
				pc += 1 + int(ins.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return ins.K, steps + 1, nil
		default:
			return 0, steps, fmt.Errorf("pc %d: unexpected opcode %#x", pc, ins.Code)
		}
	}
}

// reference decides d directly from the declarative policy.
func reference(d data) uint32 {
	if d.arch != auditArch {
		return retKill
	}
	var maxNr uint32
	for _, nr := range syscalls {
		maxNr = max(maxNr, nr)
	}
	if d.nr > maxNr {
		if x32Bit != 0 && d.nr >= x32Bit && d.nr <= x32Bit|x32Span {
			return retKill
		}
		return retENOSYS
	}
	name := ""
	for n, nr := range syscalls {
		if nr == d.nr {
			name = n
		}
	}
	switch {
	case name == "":
		return retENOSYS
	case slices.Contains(allowed, name):
		return retAllow
	case slices.Contains(denied, name):
		return retEPERM
	case slices.Contains(unimplemented, name):
		return retENOSYS
	}
	r, ok := argRules[name]
	if !ok {
		return retEPERM
	}
	for _, c := range r.clauses {
		holds := true
		for _, m := range c.all {
			if uint32(d.args[m.arg])&m.mask != m.val {
				holds = false
			}
		}
		if holds {
			return c.act
		}
	}
	return r.deflt
}

func mustProgram(t testing.TB) []unix.SockFilter {
	t.Helper()
	prog, err := Program()
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func sys(t *testing.T, name string) uint32 {
	t.Helper()
	nr, ok := syscalls[name]
	if !ok {
		t.Skipf("%s does not exist on %s", name, runtime.GOARCH)
	}
	return nr
}

func actName(act uint32) string {
	switch act {
	case retAllow:
		return "allow"
	case retEPERM:
		return "EPERM"
	case retENOSYS:
		return "ENOSYS"
	case retKill:
		return "kill"
	}
	return fmt.Sprintf("%#x", act)
}

// TestPolicy pins the contract of the filter on the assembled program.
func TestPolicy(t *testing.T) {
	prog := mustProgram(t)
	var maxNr uint32
	for _, nr := range syscalls {
		maxNr = max(maxNr, nr)
	}
	const (
		afPacket   = 17
		afVsock    = 40
		afAlg      = 38
		nlAudit    = 9
		perReadExe = 0x0400000
		perNoRand  = 0x0040000
		fionread   = 0x541b
	)
	tests := []struct {
		name    string
		syscall string // resolved through the table unless nr is set
		nr      uint32
		arch    uint32
		args    [6]uint64
		want    uint32
	}{
		{name: "read", syscall: "read", want: retAllow},
		{name: "execve", syscall: "execve", want: retAllow},
		{name: "foreign arch", syscall: "read", arch: unix.AUDIT_ARCH_I386, want: retKill},
		{name: "arm compat arch", syscall: "read", arch: unix.AUDIT_ARCH_ARM, want: retKill},
		{name: "unknown number", nr: maxNr + 1, want: retENOSYS},
		{name: "number -1", nr: 0xffffffff, want: retENOSYS},
		{name: "clone3", syscall: "clone3", want: retENOSYS},
		{name: "clone thread", syscall: "clone", args: [6]uint64{unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM}, want: retAllow},
		{name: "clone fork", syscall: "clone", args: [6]uint64{uint64(unix.SIGCHLD)}, want: retAllow},
		{name: "clone vfork pidfd", syscall: "clone", args: [6]uint64{unix.CLONE_VM | unix.CLONE_VFORK | unix.CLONE_PIDFD | uint64(unix.SIGCHLD)}, want: retAllow},
		{name: "clone newuser", syscall: "clone", args: [6]uint64{unix.CLONE_NEWUSER}, want: retEPERM},
		{name: "clone newns", syscall: "clone", args: [6]uint64{unix.CLONE_NEWNS | uint64(unix.SIGCHLD)}, want: retEPERM},
		{name: "clone newnet", syscall: "clone", args: [6]uint64{unix.CLONE_NEWNET}, want: retEPERM},
		{name: "clone newpid high bits", syscall: "clone", args: [6]uint64{1<<40 | unix.CLONE_NEWPID}, want: retEPERM},
		{name: "clone ignored high bits", syscall: "clone", args: [6]uint64{1 << 40}, want: retAllow},
		{name: "unshare", syscall: "unshare", args: [6]uint64{unix.CLONE_NEWUSER}, want: retEPERM},
		{name: "setns", syscall: "setns", want: retEPERM},
		{name: "mount", syscall: "mount", want: retEPERM},
		{name: "umount2", syscall: "umount2", want: retEPERM},
		{name: "pivot_root", syscall: "pivot_root", want: retEPERM},
		{name: "chroot", syscall: "chroot", want: retEPERM},
		{name: "fsopen", syscall: "fsopen", want: retEPERM},
		{name: "open_tree", syscall: "open_tree", want: retEPERM},
		{name: "ptrace", syscall: "ptrace", want: retEPERM},
		{name: "process_vm_readv", syscall: "process_vm_readv", want: retEPERM},
		{name: "process_vm_writev", syscall: "process_vm_writev", want: retEPERM},
		{name: "bpf", syscall: "bpf", want: retEPERM},
		{name: "keyctl", syscall: "keyctl", want: retEPERM},
		{name: "add_key", syscall: "add_key", want: retEPERM},
		{name: "request_key", syscall: "request_key", want: retEPERM},
		{name: "perf_event_open", syscall: "perf_event_open", want: retEPERM},
		{name: "userfaultfd", syscall: "userfaultfd", want: retEPERM},
		{name: "io_uring_setup", syscall: "io_uring_setup", want: retEPERM},
		{name: "io_uring_enter", syscall: "io_uring_enter", want: retEPERM},
		{name: "io_uring_register", syscall: "io_uring_register", want: retEPERM},
		{name: "init_module", syscall: "init_module", want: retEPERM},
		{name: "finit_module", syscall: "finit_module", want: retEPERM},
		{name: "delete_module", syscall: "delete_module", want: retEPERM},
		{name: "kexec_load", syscall: "kexec_load", want: retEPERM},
		{name: "kexec_file_load", syscall: "kexec_file_load", want: retEPERM},
		{name: "reboot", syscall: "reboot", want: retEPERM},
		{name: "settimeofday", syscall: "settimeofday", want: retEPERM},
		{name: "clock_settime", syscall: "clock_settime", want: retEPERM},
		{name: "clock_adjtime", syscall: "clock_adjtime", want: retEPERM},
		{name: "adjtimex", syscall: "adjtimex", want: retEPERM},
		{name: "swapon", syscall: "swapon", want: retEPERM},
		{name: "swapoff", syscall: "swapoff", want: retEPERM},
		{name: "acct", syscall: "acct", want: retEPERM},
		{name: "quotactl", syscall: "quotactl", want: retEPERM},
		{name: "name_to_handle_at", syscall: "name_to_handle_at", want: retEPERM},
		{name: "open_by_handle_at", syscall: "open_by_handle_at", want: retEPERM},
		{name: "socket unix", syscall: "socket", args: [6]uint64{unix.AF_UNIX, unix.SOCK_SEQPACKET}, want: retAllow},
		{name: "socket tcp cloexec", syscall: "socket", args: [6]uint64{unix.AF_INET, unix.SOCK_STREAM | unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK}, want: retAllow},
		{name: "socket udp6", syscall: "socket", args: [6]uint64{unix.AF_INET6, unix.SOCK_DGRAM}, want: retAllow},
		{name: "socket raw", syscall: "socket", args: [6]uint64{unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP}, want: retEPERM},
		{name: "socket raw6", syscall: "socket", args: [6]uint64{unix.AF_INET6, unix.SOCK_RAW | unix.SOCK_CLOEXEC}, want: retEPERM},
		{name: "socket packet", syscall: "socket", args: [6]uint64{afPacket, unix.SOCK_RAW}, want: retEPERM},
		{name: "socket packet dgram", syscall: "socket", args: [6]uint64{afPacket, unix.SOCK_DGRAM}, want: retEPERM},
		{name: "socket vsock", syscall: "socket", args: [6]uint64{afVsock, unix.SOCK_STREAM}, want: retEPERM},
		{name: "socket alg", syscall: "socket", args: [6]uint64{afAlg, unix.SOCK_SEQPACKET}, want: retEPERM},
		{name: "socket netlink route", syscall: "socket", args: [6]uint64{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE}, want: retAllow},
		{name: "socket netlink audit", syscall: "socket", args: [6]uint64{unix.AF_NETLINK, unix.SOCK_RAW, nlAudit}, want: retEPERM},
		{name: "socket family high bits", syscall: "socket", args: [6]uint64{1<<32 | afPacket, unix.SOCK_RAW}, want: retEPERM},
		{name: "socketpair unix", syscall: "socketpair", args: [6]uint64{unix.AF_UNIX, unix.SOCK_STREAM}, want: retAllow},
		{name: "socketpair inet", syscall: "socketpair", args: [6]uint64{unix.AF_INET, unix.SOCK_STREAM}, want: retEPERM},
		{name: "ioctl fionread", syscall: "ioctl", args: [6]uint64{0, fionread}, want: retAllow},
		{name: "ioctl tiocsti", syscall: "ioctl", args: [6]uint64{0, unix.TIOCSTI}, want: retEPERM},
		{name: "ioctl tioclinux", syscall: "ioctl", args: [6]uint64{0, unix.TIOCLINUX}, want: retEPERM},
		{name: "personality query", syscall: "personality", args: [6]uint64{0xffffffff}, want: retAllow},
		{name: "personality linux", syscall: "personality", args: [6]uint64{0}, want: retAllow},
		{name: "personality read implies exec", syscall: "personality", args: [6]uint64{perReadExe}, want: retEPERM},
		{name: "personality no aslr", syscall: "personality", args: [6]uint64{perNoRand}, want: retEPERM},
		{name: "prlimit64 self", syscall: "prlimit64", args: [6]uint64{0, unix.RLIMIT_NOFILE}, want: retAllow},
		{name: "prlimit64 other", syscall: "prlimit64", args: [6]uint64{1, unix.RLIMIT_NOFILE}, want: retEPERM},
		{name: "mknodat fifo", syscall: "mknodat", args: [6]uint64{0, 0, unix.S_IFIFO | 0o644}, want: retAllow},
		{name: "mknodat char", syscall: "mknodat", args: [6]uint64{0, 0, unix.S_IFCHR | 0o666, 0x103}, want: retEPERM},
		{name: "mknodat block", syscall: "mknodat", args: [6]uint64{0, 0, unix.S_IFBLK | 0o600}, want: retEPERM},
		{name: "mknod char", syscall: "mknod", args: [6]uint64{0, unix.S_IFCHR | 0o666}, want: retEPERM},
		{name: "mknod socket", syscall: "mknod", args: [6]uint64{0, unix.S_IFSOCK | 0o666}, want: retAllow},
	}
	if x32Bit != 0 {
		tests = append(tests, struct {
			name    string
			syscall string
			nr      uint32
			arch    uint32
			args    [6]uint64
			want    uint32
		}{name: "x32 read", nr: x32Bit, want: retKill}, struct {
			name    string
			syscall string
			nr      uint32
			arch    uint32
			args    [6]uint64
			want    uint32
		}{name: "x32 execve", nr: x32Bit | 520, want: retKill})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := data{nr: tc.nr, arch: auditArch, args: tc.args}
			if tc.syscall != "" {
				d.nr = sys(t, tc.syscall)
			}
			if tc.arch != 0 {
				d.arch = tc.arch
			}
			got, err := emulate(prog, d)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("filter says %s, want %s", actName(got), actName(tc.want))
			}
		})
	}
}

// TestEveryKnownSyscallClassified forces a decision for every system call
// number x/sys knows, and catches policy names that match nothing.
func TestEveryKnownSyscallClassified(t *testing.T) {
	var named []string
	named = append(named, allowed...)
	named = append(named, denied...)
	named = append(named, unimplemented...)
	for n := range argRules {
		named = append(named, n)
	}
	for name := range syscalls {
		if !slices.Contains(named, name) {
			t.Errorf("system call %s is not classified", name)
		}
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the amd64 table is the superset used to catch misspelt names")
	}
	for _, name := range named {
		if _, ok := syscalls[name]; !ok {
			t.Errorf("policy names %q, which no architecture has", name)
		}
	}
	if _, err := classify(syscalls); err != nil {
		t.Error(err)
	}
}

// TestProgramMatchesReference runs every number and a spread of arguments
// through the assembled program and the direct evaluation of the policy.
func TestProgramMatchesReference(t *testing.T) {
	prog := mustProgram(t)
	argSets := [][6]uint64{
		{},
		{unix.AF_INET, unix.SOCK_RAW},
		{unix.AF_NETLINK, unix.SOCK_DGRAM, 4},
		{unix.CLONE_NEWUSER, 0, unix.S_IFCHR},
		{0xffffffff, unix.TIOCSTI, unix.S_IFIFO},
		{1, 2, 3, 4, 5, 6},
	}
	x32 := uint32(x32Bit)
	nrs := []uint32{x32 - 1, x32, x32 | x32Span, x32 | (x32Span + 1), 0x7fffffff, 0xffffffff}
	for nr := range uint32(1024) {
		nrs = append(nrs, nr)
	}
	for _, nr := range nrs {
		for _, args := range argSets {
			d := data{nr: nr, arch: auditArch, args: args}
			got, err := emulate(prog, d)
			if err != nil {
				t.Fatalf("nr %d: %v", nr, err)
			}
			if want := reference(d); got != want {
				t.Fatalf("nr %d args %v: program says %s, policy says %s", nr, args, actName(got), actName(want))
			}
		}
	}
}

func TestProgramIsCopy(t *testing.T) {
	a := mustProgram(t)
	a[0] = ret(retAllow)
	b := mustProgram(t)
	if b[0] == a[0] {
		t.Fatal("Program returned shared storage")
	}
}

func TestAssembleLongJumps(t *testing.T) {
	// A synthetic table whose runs alternate so the left halves of the
	// search tree exceed the 255-instruction reach of conditional jumps.
	decisions := map[uint32]decision{}
	for nr := range uint32(2000) {
		decisions[nr] = decision{act: []uint32{retAllow, retEPERM}[nr%2]}
	}
	prog, err := assemble(decisions, auditArch, x32Bit)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 2*255 {
		t.Fatalf("program of %d instructions does not exercise long jumps", len(prog))
	}
	for nr := uint32(0); nr < 2002; nr++ {
		got, err := emulate(prog, data{nr: nr, arch: auditArch})
		if err != nil {
			t.Fatal(err)
		}
		want := []uint32{retAllow, retEPERM}[nr%2]
		if nr >= 2000 {
			want = retENOSYS
		}
		if got != want {
			t.Fatalf("nr %d: got %s want %s", nr, actName(got), actName(want))
		}
	}
}

func FuzzProgram(f *testing.F) {
	prog := mustProgram(f)
	f.Add(uint32(0), uint32(auditArch), uint64(0), uint64(0), uint64(0))
	f.Add(uint32(syscalls["socket"]), uint32(auditArch), uint64(unix.AF_INET), uint64(unix.SOCK_RAW), uint64(0))
	f.Add(uint32(syscalls["clone"]), uint32(auditArch), uint64(unix.CLONE_NEWUSER), uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, nr, arch uint32, a0, a1, a2 uint64) {
		d := data{nr: nr, arch: arch, args: [6]uint64{a0, a1, a2}}
		got, err := emulate(prog, d)
		if err != nil {
			t.Fatal(err)
		}
		if want := reference(d); got != want {
			t.Fatalf("%+v: program says %s, policy says %s", d, actName(got), actName(want))
		}
	})
}

// TestSearchDepth keeps the search tree balanced: every system call is
// decided after a few instructions.
func TestSearchDepth(t *testing.T) {
	prog := mustProgram(t)
	worst := 0
	for nr := range uint32(1024) {
		_, steps, err := run(prog, data{nr: nr, arch: auditArch})
		if err != nil {
			t.Fatal(err)
		}
		worst = max(worst, steps)
	}
	t.Logf("%d instructions, worst path %d", len(prog), worst)
	if worst > 40 {
		t.Errorf("worst path of %d instructions; the search tree is unbalanced", worst)
	}
}
