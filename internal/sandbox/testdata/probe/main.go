// Command probe runs inside Cloister sandboxes for the sandbox tests: it
// reports what it sees and tries to break out, printing JSON on stdout.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: probe <command> [args]")
	}
	arg := func(i int) string {
		if len(os.Args) <= i+1 {
			fail("missing argument")
		}
		return os.Args[i+1]
	}
	switch os.Args[1] {
	case "hello":
		fmt.Println("hello")
	case "stderr":
		fmt.Fprintln(os.Stderr, "to stderr")
	case "exit":
		n, _ := strconv.Atoi(arg(1))
		os.Exit(n)
	case "kill":
		n, _ := strconv.Atoi(arg(1))
		syscall.Kill(os.Getpid(), syscall.Signal(n))
		time.Sleep(time.Minute)
	case "info":
		emit(info())
	case "http":
		resp, err := http.Get(arg(1))
		if err != nil {
			fail(err.Error())
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s", resp.StatusCode, body)
	case "ping":
		// The cold-start benchmark's function: connect to the runtime API
		// at once and say hello.
		c, err := net.Dial("tcp", arg(1))
		if err != nil {
			fail(err.Error())
		}
		c.Write([]byte("x"))
		c.Close()
	case "heartbeat":
		heartbeat(arg(1))
	case "alloc":
		mb, _ := strconv.Atoi(arg(1))
		hold(mb)
		fmt.Println("allocated")
		forever()
	case "childoom":
		// A child runs out of memory; the parent would carry on.
		cmd := exec.Command("/var/task/probe", "alloc", arg(1))
		cmd.Stderr = os.Stderr
		fmt.Println("child ended:", cmd.Run())
		forever()
	case "peak":
		mb, _ := strconv.Atoi(arg(1))
		hold(mb)
		hoard = nil
		debug.FreeOSMemory()
		fmt.Println("freed")
		forever()
	case "sleep":
		forever()
	case "forkbomb":
		forkbomb()
	case "tree":
		n, _ := strconv.Atoi(arg(1))
		tree(n, true)
	case "subtree":
		tree(1, false)
	case "filltmp":
		filltmp()
	case "int80":
		if !haveInt80 {
			fmt.Println("no int80 on this architecture")
			os.Exit(3)
		}
		fmt.Println("calling int 0x80")
		pid := int80Getpid()
		fmt.Println("int 0x80 returned", pid)
	case "attack":
		emit(attack(arg(1), os.Args[3:]))
	case "touchtmp":
		if err := os.WriteFile(filepath.Join("/tmp", arg(1)), []byte("x"), 0o644); err != nil {
			fail(err.Error())
		}
		fmt.Println("ok")
		forever()
	default:
		fail("unknown command " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "probe:", msg)
	os.Exit(100)
}

func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(err.Error())
	}
	fmt.Println(string(b))
}

// Info is what a sandbox looks like from inside.
type Info struct {
	Args       []string
	Env        []string
	Cwd        string
	UID, EUID  int
	GID, EGID  int
	Groups     []int
	Hostname   string
	Status     map[string]string   // this process's /proc/self/status lines
	InitStatus []map[string]string // every thread of pid 1
	FDs        []string
	Rlimits    map[string][2]uint64
	Mounts     map[string]string // mount point -> per-mount options
	Dev        []string
	Etc        []string
	Root       []string
	TmpBytes   uint64
	Pids       []int
	Cgroup     string
	UIDMap     string
	Certs      bool
}

func info() Info {
	var in Info
	in.Args = os.Args
	in.Env = os.Environ()
	in.Cwd, _ = os.Getwd()
	in.UID, in.EUID, in.GID, in.EGID = os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid()
	in.Groups, _ = os.Getgroups()
	in.Hostname, _ = os.Hostname()
	in.Status = status("/proc/self/status")
	in.InitStatus = initThreads()
	// The init confines its other threads shortly after starting the
	// function; wait (boundedly) for that before reporting.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		confined := true
		for _, st := range in.InitStatus {
			confined = confined && st["NoNewPrivs"] == "1" && st["Seccomp"] == "2"
		}
		if confined {
			break
		}
		time.Sleep(5 * time.Millisecond)
		in.InitStatus = initThreads()
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, f := range fds {
		in.FDs = append(in.FDs, f.Name())
	}
	in.Rlimits = map[string][2]uint64{}
	for name, r := range map[string]int{"nofile": unix.RLIMIT_NOFILE, "nproc": unix.RLIMIT_NPROC, "core": unix.RLIMIT_CORE} {
		var l unix.Rlimit
		unix.Getrlimit(r, &l)
		in.Rlimits[name] = [2]uint64{l.Cur, l.Max}
	}
	in.Mounts = map[string]string{}
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fl := strings.Fields(sc.Text())
			if len(fl) > 5 {
				in.Mounts[fl[4]] = fl[5]
			}
		}
		f.Close()
	}
	in.Dev = names("/dev")
	in.Etc = names("/etc")
	in.Root = names("/")
	var st unix.Statfs_t
	if unix.Statfs("/tmp", &st) == nil {
		in.TmpBytes = st.Blocks * uint64(st.Bsize)
	}
	in.Pids = pids()
	cg, _ := os.ReadFile("/proc/self/cgroup")
	in.Cgroup = string(cg)
	um, _ := os.ReadFile("/proc/self/uid_map")
	in.UIDMap = string(um)
	_, err := os.Stat("/etc/ssl/certs/ca-certificates.crt")
	in.Certs = err == nil
	return in
}

func initThreads() []map[string]string {
	var out []map[string]string
	tasks, _ := os.ReadDir("/proc/1/task")
	for _, t := range tasks {
		out = append(out, status("/proc/1/task/"+t.Name()+"/status"))
	}
	return out
}

func status(path string) map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		out["error"] = err.Error()
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

func names(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func pids() []int {
	var out []int
	for _, n := range names("/proc") {
		if p, err := strconv.Atoi(n); err == nil {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out
}

func livePids() []int {
	var out []int
	for _, p := range pids() {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		if i := strings.LastIndexByte(string(st), ')'); i > 0 && i+2 < len(st) && st[i+2] != 'Z' {
			out = append(out, p)
		}
	}
	return out
}

// hoard keeps allocations reachable.
var hoard [][]byte

func hold(mb int) {
	for range mb {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hoard = append(hoard, b)
	}
}

// heartbeat plays a Lambda runtime: fetch the next event, post it back.
func heartbeat(base string) {
	for {
		resp, err := http.Get(base + "/next")
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r, err := http.Post(base+"/response", "text/plain", strings.NewReader(string(body)))
		if err == nil {
			r.Body.Close()
		}
	}
}

func forkbomb() {
	n := 0
	var last error
	for n < 100000 {
		cmd := exec.Command("/var/task/probe", "sleep")
		if last = cmd.Start(); last != nil {
			break
		}
		n++
	}
	emit(map[string]any{"started": n, "error": fmt.Sprint(last)})
}

func tree(n int, top bool) {
	for range n {
		kind := "subtree"
		if !top {
			kind = "sleep"
		}
		cmd := exec.Command("/var/task/probe", kind)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			fail(err.Error())
		}
	}
	if top {
		// Wait until the grandchildren exist too. Zombies do not count: Go
		// forks and reaps a short-lived child when it first starts a process
		// (its pidfd check).
		for len(livePids()) < 2+2*n {
			time.Sleep(time.Millisecond)
		}
		fmt.Println("ready", len(livePids()))
	}
	forever()
}

func filltmp() {
	buf := make([]byte, 1<<20)
	f, err := os.Create("/tmp/fill")
	if err != nil {
		fail(err.Error())
	}
	var total int64
	for {
		n, err := f.Write(buf)
		total += int64(n)
		if err != nil {
			var errno syscall.Errno
			errors.As(err, &errno)
			emit(map[string]any{"bytes": total, "errno": unix.ErrnoName(errno)})
			return
		}
	}
}

// Result is the outcome of one attack.
type Result struct {
	Contained bool
	Detail    string
}

func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func raw(nr uintptr, args ...uintptr) error {
	var a [6]uintptr
	copy(a[:], args)
	_, _, e := unix.RawSyscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if e != 0 {
		return e
	}
	return nil
}

// denied runs calls that must all fail with one of the allowed errnos.
func denied(want []string, calls map[string]func() error) Result {
	var detail []string
	ok := true
	keys := make([]string, 0, len(calls))
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		got := errName(calls[k]())
		detail = append(detail, k+"="+got)
		good := false
		for _, w := range want {
			good = good || got == w
		}
		ok = ok && good
	}
	return Result{Contained: ok, Detail: strings.Join(detail, " ")}
}

var eperm = []string{"EPERM"}

func attack(name string, args []string) Result {
	switch name {
	case "setuid":
		return denied(eperm, map[string]func() error{
			"setuid0":    func() error { return raw(unix.SYS_SETUID, 0) },
			"setresuid0": func() error { return raw(unix.SYS_SETRESUID, 0, 0, 0) },
			"setgid0":    func() error { return raw(unix.SYS_SETGID, 0) },
			"setgroups":  func() error { return raw(unix.SYS_SETGROUPS, 1, uintptr(unsafe.Pointer(&[]uint32{0}[0]))) },
		})
	case "capset":
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		data := [2]unix.CapUserData{{Effective: 1 << unix.CAP_SYS_ADMIN, Permitted: 1 << unix.CAP_SYS_ADMIN}}
		r := denied(eperm, map[string]func() error{
			"capset-sysadmin": func() error { return unix.Capset(&hdr, &data[0]) },
			"ambient-raise": func() error {
				return unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, unix.CAP_NET_ADMIN, 0, 0)
			},
		})
		st := status("/proc/self/status")
		for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
			r.Detail += " " + k + "=" + st[k]
			r.Contained = r.Contained && st[k] == "0000000000000000"
		}
		r.Detail += " NoNewPrivs=" + st["NoNewPrivs"] + " Seccomp=" + st["Seccomp"]
		r.Contained = r.Contained && st["NoNewPrivs"] == "1" && st["Seccomp"] == "2"
		return r
	case "mount":
		os.Mkdir("/tmp/m", 0o755)
		return denied(eperm, map[string]func() error{
			"mount-tmpfs": func() error { return unix.Mount("tmpfs", "/tmp/m", "tmpfs", 0, "") },
			"remount-rw":  func() error { return unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND, "") },
			"umount-proc": func() error { return unix.Unmount("/proc", unix.MNT_DETACH) },
			"umount-mask": func() error { return unix.Unmount("/usr/local", 0) },
			"fsopen":      func() error { _, err := unix.Fsopen("tmpfs", 0); return err },
			"open_tree":   func() error { _, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE); return err },
			"pivot_root":  func() error { return unix.PivotRoot("/tmp", "/tmp") },
			"mount_setattr": func() error {
				return unix.MountSetattr(unix.AT_FDCWD, "/", 0, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY})
			},
		})
	case "namespaces":
		nsfd, _ := unix.Open("/proc/self/ns/net", unix.O_RDONLY, 0)
		return denied(eperm, map[string]func() error{
			"unshare-user":   func() error { return unix.Unshare(unix.CLONE_NEWUSER) },
			"unshare-mount":  func() error { return unix.Unshare(unix.CLONE_NEWNS) },
			"unshare-net":    func() error { return unix.Unshare(unix.CLONE_NEWNET) },
			"setns":          func() error { return unix.Setns(nsfd, 0) },
			"clone-newuser":  func() error { return rawClone(unix.CLONE_NEWUSER) },
			"clone-newpid":   func() error { return rawClone(unix.CLONE_NEWPID) },
			"clone-newns":    func() error { return rawClone(unix.CLONE_NEWNS) },
			"sethostname":    func() error { return unix.Sethostname([]byte("evil")) },
			"setdomainname":  func() error { return unix.Setdomainname([]byte("evil")) },
			"chroot":         func() error { return unix.Chroot("/tmp") },
			"personality-ex": func() error { return raw(unix.SYS_PERSONALITY, 0x0400000) },
		})
	case "clone3":
		args := make([]uint64, 11)
		args[0] = unix.CLONE_NEWUSER
		r := denied([]string{"ENOSYS"}, map[string]func() error{
			"clone3-newuser": func() error {
				r, _, e := unix.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args[0])), 88, 0)
				if e == 0 && r == 0 {
					unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
				}
				if e != 0 {
					return e
				}
				return nil
			},
		})
		return r
	case "kernel":
		return denied(eperm, map[string]func() error{
			"ptrace-init":       func() error { return unix.PtraceAttach(1) },
			"ptrace-traceme":    func() error { return raw(unix.SYS_PTRACE, unix.PTRACE_TRACEME) },
			"process_vm_readv":  func() error { return raw(unix.SYS_PROCESS_VM_READV, 1) },
			"process_vm_writev": func() error { return raw(unix.SYS_PROCESS_VM_WRITEV, 1) },
			"bpf":               func() error { return raw(unix.SYS_BPF, 0) },
			"keyctl":            func() error { return raw(unix.SYS_KEYCTL, 0) },
			"add_key":           func() error { return raw(unix.SYS_ADD_KEY) },
			"request_key":       func() error { return raw(unix.SYS_REQUEST_KEY) },
			"perf_event_open":   func() error { return raw(unix.SYS_PERF_EVENT_OPEN) },
			"userfaultfd":       func() error { return raw(unix.SYS_USERFAULTFD) },
			"io_uring_setup":    func() error { return raw(unix.SYS_IO_URING_SETUP, 8) },
			"kexec_load":        func() error { return raw(unix.SYS_KEXEC_LOAD) },
			"kexec_file_load":   func() error { return raw(unix.SYS_KEXEC_FILE_LOAD) },
			"reboot":            func() error { return unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF) },
			"settimeofday":      func() error { var tv unix.Timeval; unix.Gettimeofday(&tv); return unix.Settimeofday(&tv) },
			"clock_settime": func() error {
				var ts unix.Timespec
				unix.ClockGettime(unix.CLOCK_REALTIME, &ts)
				return raw(unix.SYS_CLOCK_SETTIME, unix.CLOCK_REALTIME, uintptr(unsafe.Pointer(&ts)))
			},
			"adjtimex":          func() error { var tx unix.Timex; _, err := unix.Adjtimex(&tx); return err },
			"init_module":       func() error { return raw(unix.SYS_INIT_MODULE) },
			"finit_module":      func() error { return raw(unix.SYS_FINIT_MODULE, 0) },
			"delete_module":     func() error { return raw(unix.SYS_DELETE_MODULE) },
			"swapon":            func() error { return raw(unix.SYS_SWAPON) },
			"acct":              func() error { return raw(unix.SYS_ACCT) },
			"open_by_handle_at": func() error { return raw(unix.SYS_OPEN_BY_HANDLE_AT, 0) },
			"prlimit-init":      func() error { return unix.Prlimit(1, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1, Max: 1}, nil) },
			"tiocsti":           func() error { c := byte('x'); return raw(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafe.Pointer(&c))) },
		})
	case "sockets":
		return denied(eperm, map[string]func() error{
			"raw-icmp":        func() error { return sock(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP) },
			"raw6":            func() error { return sock(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_ICMPV6) },
			"packet":          func() error { return sock(unix.AF_PACKET, unix.SOCK_RAW, 0x0300) },
			"packet-dgram":    func() error { return sock(unix.AF_PACKET, unix.SOCK_DGRAM, 0x0300) },
			"netlink-audit":   func() error { return sock(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT) },
			"netlink-kobj":    func() error { return sock(unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_KOBJECT_UEVENT) },
			"vsock":           func() error { return sock(unix.AF_VSOCK, unix.SOCK_STREAM, 0) },
			"alg":             func() error { return sock(unix.AF_ALG, unix.SOCK_SEQPACKET, 0) },
			"socketpair-inet": func() error { _, err := unix.Socketpair(unix.AF_INET, unix.SOCK_STREAM, 0); return err },
		})
	case "writes":
		return denied([]string{"EROFS", "EACCES", "EPERM", "ENOENT"}, map[string]func() error{
			"root":          func() error { return os.WriteFile("/evil", nil, 0o644) },
			"var-task":      func() error { return os.WriteFile("/var/task/evil", nil, 0o644) },
			"var-task-bin":  func() error { return os.WriteFile("/var/task/probe", nil, 0o755) },
			"etc-passwd":    func() error { return os.WriteFile("/etc/passwd", []byte("root::0:0::/:/bin/sh\n"), 0o644) },
			"usr-bin":       func() error { return os.WriteFile("/usr/bin/evil", nil, 0o755) },
			"dev":           func() error { return os.WriteFile("/dev/evil", nil, 0o644) },
			"proc-hostname": func() error { return os.WriteFile("/proc/sys/kernel/hostname", []byte("evil"), 0o644) },
			"proc-core":     func() error { return os.WriteFile("/proc/sys/kernel/core_pattern", []byte("|/tmp/x"), 0o644) },
			"proc-drop":     func() error { return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o644) },
			"sysrq":         func() error { return os.WriteFile("/proc/sysrq-trigger", []byte("h"), 0o644) },
			"init-oom-adj":  func() error { return os.WriteFile("/proc/1/oom_score_adj", []byte("1000"), 0o644) },
			"chmod-tmp-dev": func() error { return unix.Mknod("/tmp/null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) },
			"mknod-block":   func() error { return unix.Mknod("/tmp/sda", unix.S_IFBLK|0o666, int(unix.Mkdev(8, 0))) },
			"uid_map":       func() error { return os.WriteFile("/proc/self/uid_map", []byte("0 0 1\n"), 0o644) },
			"setgroups":     func() error { return os.WriteFile("/proc/self/setgroups", []byte("allow"), 0o644) },
		})
	case "reads":
		r := denied([]string{"ENOENT", "EACCES", "EPERM"}, map[string]func() error{
			"kcore":        func() error { return readAny("/proc/kcore") },
			"kmsg":         func() error { return readAny("/proc/kmsg") },
			"keys":         func() error { return readAny("/proc/keys") },
			"timer_list":   func() error { return readAny("/proc/timer_list") },
			"init-environ": func() error { return readAny("/proc/1/environ") },
			"init-mem":     func() error { return readAny("/proc/1/mem") },
			"init-fd":      func() error { _, err := os.ReadDir("/proc/1/fd"); return err },
			"init-root":    func() error { _, err := os.Readlink("/proc/1/root"); return err },
			"init-ns":      func() error { return readAny("/proc/1/ns/mnt") },
			"sys":          func() error { _, err := os.Stat("/sys/kernel"); return err },
			"dev-mem":      func() error { return readAny("/dev/mem") },
			"dev-sda":      func() error { return readAny("/dev/vda") },
			"dev-kmsg":     func() error { return readAny("/dev/kmsg") },
			"dev-shm":      func() error { _, err := os.Stat("/dev/shm"); return err },
			"usr-local":    func() error { _, err := os.Stat("/usr/local/bin"); return err },
		})
		return r
	case "hostpaths":
		calls := map[string]func() error{}
		for _, p := range append([]string{"/etc/shadow", "/root", "/work", "/home", "/run", "/var/lib", "/boot", "/etc/ssl/private"}, args...) {
			calls[p] = func() error { _, err := os.Lstat(p); return err }
		}
		return denied([]string{"ENOENT"}, calls)
	case "network":
		calls := map[string]func() error{
			"tcp-10.0.0.1":  func() error { return dial("tcp", "10.0.0.1:80") },
			"tcp-1.1.1.1":   func() error { return dial("tcp", "1.1.1.1:443") },
			"udp-8.8.8.8":   func() error { return udp("8.8.8.8:53") },
			"tcp-169.254":   func() error { return dial("tcp", "169.254.169.254:80") },
			"tcp6-external": func() error { return dial("tcp6", "[2001:4860:4860::8888]:53") },
		}
		for _, a := range args {
			if strings.HasPrefix(a, "@") {
				calls["unix-"+a] = func() error { return dial("unix", a) }
			} else {
				calls["tcp-"+a] = func() error { return dial("tcp", a) }
			}
		}
		return denied([]string{"ENETUNREACH", "ECONNREFUSED", "EHOSTUNREACH", "EADDRNOTAVAIL"}, calls)
	case "killall":
		child := exec.Command("/var/task/probe", "sleep")
		if err := child.Start(); err != nil {
			return Result{Detail: err.Error()}
		}
		errKillAll := syscall.Kill(-1, syscall.SIGKILL)
		errKillInit := syscall.Kill(1, syscall.SIGKILL)
		child.Wait()
		time.Sleep(20 * time.Millisecond)
		_, initErr := os.Stat("/proc/1/status")
		// The init survives (the kernel ignores SIGKILL to a pid namespace's
		// init from inside); the child does not.
		return Result{
			Contained: initErr == nil && child.ProcessState != nil,
			Detail:    fmt.Sprintf("kill(-1)=%s kill(1)=%s child=%v pids=%v", errName(errKillAll), errName(errKillInit), child.ProcessState, pids()),
		}
	case "fds":
		fds := listFDs()
		return Result{Contained: len(fds) == 4 && fds[0] == "0" && fds[1] == "1" && fds[2] == "2", Detail: strings.Join(fds, ",")}
	case "pids":
		p := pids()
		init := status("/proc/1/status")
		return Result{Contained: len(p) <= 3 && p[0] == 1, Detail: fmt.Sprintf("%v init=%s", p, init["Name"])}
	case "ipc":
		key, _ := strconv.Atoi(args[0])
		_, err := unix.SysvShmGet(key, 0, 0)
		return Result{Contained: errName(err) == "ENOENT", Detail: "shmget(host key)=" + errName(err)}
	case "tmpabsent":
		_, err := os.Stat(filepath.Join("/tmp", args[0]))
		return Result{Contained: errors.Is(err, os.ErrNotExist), Detail: errName(err)}
	}
	fail("unknown attack " + name)
	return Result{}
}

func rawClone(flags uintptr) error {
	r, _, e := unix.RawSyscall(unix.SYS_CLONE, flags|uintptr(unix.SIGCHLD), 0, 0)
	if e == 0 && r == 0 {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0) // the child of a clone that should have failed
	}
	if e != 0 {
		return e
	}
	return nil
}

func sock(domain, typ, proto int) error {
	fd, err := unix.Socket(domain, typ, proto)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func readAny(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 64)
	n, err := f.Read(b)
	if n > 0 {
		return fmt.Errorf("read %d bytes", n)
	}
	if err == io.EOF {
		return unix.ENOENT // masked: empty
	}
	return err
}

func dial(network, addr string) error {
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

func udp(addr string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte("x"))
	return err
}

// listFDs lists /proc/self/fd with raw system calls, so that no descriptor
// of Go's poller shows up; the list includes the directory's own.
func listFDs() []string {
	fd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		fail(err.Error())
	}
	defer unix.Close(fd)
	var out []string
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil {
			fail(err.Error())
		}
		if n == 0 {
			break
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		out = append(out, names...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i])
		b, _ := strconv.Atoi(out[j])
		return a < b
	})
	return out
}

// forever blocks without tripping Go's "all goroutines are asleep" check.
func forever() {
	for {
		time.Sleep(time.Hour)
	}
}
