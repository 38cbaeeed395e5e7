// Command probe is a Lambda function (aws-lambda-go, provided.al2023) used by
// the data plane's tests: it reports on its environment and attempts attacks
// on its sandbox, reporting what happened. It must never succeed at an
// attack; the tests assert that.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"golang.org/x/sys/unix"
)

// Event selects what the probe does.
type Event struct {
	Op    string `json:"op"`
	Arg   string `json:"arg"`
	N     int    `json:"n"`
	Bytes int    `json:"bytes"`
}

var invocations int // counts invocations served by this process

func handle(ctx context.Context, ev Event) (any, error) {
	invocations++
	lc, _ := lambdacontext.FromContext(ctx)
	switch ev.Op {
	case "", "echo":
		return map[string]any{"op": ev.Op, "arg": ev.Arg, "request": lc.AwsRequestID, "arn": lc.InvokedFunctionArn,
			"pid": os.Getpid(), "invocations": invocations, "client": lc.ClientContext.Custom}, nil
	case "env":
		return os.Environ(), nil
	case "affinity":
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
				return strings.TrimSpace(v), nil
			}
		}
		return nil, errors.New("no Cpus_allowed_list")
	case "print":
		for i := 0; i < ev.N; i++ {
			fmt.Printf("line %d %s\n", i, ev.Arg)
		}
		return "printed", nil
	case "sleep":
		time.Sleep(time.Duration(ev.N) * time.Millisecond)
		return "slept", nil
	case "fail":
		return nil, errors.New("probe failure: " + ev.Arg)
	case "exit":
		os.Exit(ev.N)
	case "panic":
		panic("probe panic")
	case "alloc":
		b := make([]byte, ev.Bytes)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		return len(b), nil
	case "big":
		return strings.Repeat("x", ev.Bytes), nil
	case "writetmp":
		return nil, os.WriteFile("/tmp/"+ev.Arg, []byte(ev.Arg), 0o600)
	case "readtmp":
		b, err := os.ReadFile("/tmp/" + ev.Arg)
		if err != nil {
			return "absent: " + err.Error(), nil
		}
		return "present: " + string(b), nil
	case "ls":
		entries, err := os.ReadDir(ev.Arg)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names, nil
	case "fds":
		// Keep the directory open while resolving, so its own descriptor
		// resolves too.
		d, err := os.Open("/proc/self/fd")
		if err != nil {
			return nil, err
		}
		defer d.Close()
		names, _ := d.Readdirnames(-1)
		var out []string
		for _, n := range names {
			target, _ := os.Readlink(filepath.Join("/proc/self/fd", n))
			out = append(out, n+"->"+target)
		}
		return out, nil
	case "attack":
		return attack(ev), nil
	case "call":
		return call(ctx, ev.Arg), nil
	case "recurse":
		return recurse(ctx), nil
	case "spin":
		return spin(time.Duration(ev.N) * time.Millisecond), nil
	case "identity":
		return identity(ctx), nil
	}
	return nil, fmt.Errorf("unknown op %q", ev.Op)
}

// call invokes another function with the execution role's credentials,
// through the endpoint Cloister gives functions (AWS_ENDPOINT_URL), and
// reports the outcome.
func call(ctx context.Context, target string, payload ...string) map[string]string {
	body := `{"op":"echo","arg":"called"}`
	if len(payload) > 0 {
		body = payload[0]
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return map[string]string{"error": "config: " + err.Error()}
	}
	out, err := awslambda.NewFromConfig(cfg).Invoke(ctx, &awslambda.InvokeInput{
		FunctionName: &target, Payload: []byte(body),
	})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			return map[string]string{"error": apiErr.ErrorCode(), "message": apiErr.ErrorMessage()}
		}
		return map[string]string{"error": "call: " + err.Error()}
	}
	return map[string]string{"payload": string(out.Payload)}
}

// recurse invokes its own function synchronously, which does the same, until
// Cloister stops the chain; it reports how deep the chain went and how it
// ended.
func recurse(ctx context.Context) map[string]any {
	self := os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	r := call(ctx, self, `{"op":"recurse"}`)
	if r["error"] != "" {
		return map[string]any{"levels": 1, "stoppedBy": r["error"]}
	}
	var inner map[string]any
	if err := json.Unmarshal([]byte(r["payload"]), &inner); err != nil {
		return map[string]any{"levels": 1, "stoppedBy": "bad payload: " + r["payload"]}
	}
	levels, _ := inner["levels"].(float64)
	return map[string]any{"levels": int(levels) + 1, "stoppedBy": inner["stoppedBy"]}
}

// spin burns CPU on every core for d of wall time and reports the CPU time
// the process actually got.
func spin(d time.Duration) map[string]int64 {
	var before, after unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &before)
	start := time.Now()
	done := make(chan struct{})
	for i := 0; i < 4; i++ {
		go func() {
			x := 0
			for time.Since(start) < d {
				x++
			}
			_ = x
			done <- struct{}{}
		}()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
	_ = unix.Getrusage(unix.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	return map[string]int64{"wall_ms": time.Since(start).Milliseconds(), "cpu_ms": cpu.Milliseconds()}
}

// identity reports who the function's credentials say it is.
func identity(ctx context.Context) map[string]string {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	return map[string]string{"arn": *out.Arn, "account": *out.Account}
}

// result reports an attack: Blocked says the sandbox stopped it.
type result struct {
	Attack  string `json:"attack"`
	Blocked bool   `json:"blocked"`
	Detail  string `json:"detail"`
}

func blocked(name string, err error) result {
	if err == nil {
		return result{name, false, "succeeded"}
	}
	return result{name, true, err.Error()}
}

func attack(ev Event) result {
	name, _, _ := strings.Cut(ev.Arg, "|")
	switch name {
	case "setuid":
		return blocked(name, unix.Setresuid(0, 0, 0))
	case "mount":
		return blocked(name, unix.Mount("tmpfs", "/tmp", "tmpfs", 0, ""))
	case "unshare":
		return blocked(name, unix.Unshare(unix.CLONE_NEWUSER|unix.CLONE_NEWNS))
	case "ptrace":
		_, _, e := unix.RawSyscall(unix.SYS_PTRACE, unix.PTRACE_ATTACH, 1, 0)
		return blocked(name, errnoErr(e))
	case "bpf":
		_, _, e := unix.RawSyscall(unix.SYS_BPF, 0, 0, 0)
		return blocked(name, errnoErr(e))
	case "keyctl":
		_, _, e := unix.RawSyscall(unix.SYS_KEYCTL, 0, 0, 0)
		return blocked(name, errnoErr(e))
	case "perf":
		_, _, e := unix.RawSyscall6(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0, 0)
		return blocked(name, errnoErr(e))
	case "userfaultfd":
		_, _, e := unix.RawSyscall(unix.SYS_USERFAULTFD, 0, 0, 0)
		return blocked(name, errnoErr(e))
	case "io_uring":
		_, _, e := unix.RawSyscall(unix.SYS_IO_URING_SETUP, 1, 0, 0)
		return blocked(name, errnoErr(e))
	case "init_module":
		_, _, e := unix.RawSyscall(unix.SYS_INIT_MODULE, 0, 0, 0)
		return blocked(name, errnoErr(e))
	case "reboot":
		return blocked(name, unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART))
	case "settime":
		tv := unix.Timeval{Sec: 0}
		return blocked(name, unix.Settimeofday(&tv))
	case "chroot":
		return blocked(name, unix.Chroot("/tmp"))
	case "mknod":
		return blocked(name, unix.Mknod("/tmp/mem", unix.S_IFCHR|0o600, int(unix.Mkdev(1, 1))))
	case "write-task":
		return blocked(name, os.WriteFile("/var/task/pwned", []byte("x"), 0o644))
	case "write-root":
		return blocked(name, os.WriteFile("/pwned", []byte("x"), 0o644))
	case "write-etc":
		return blocked(name, os.WriteFile("/etc/passwd", []byte("x"), 0o644))
	case "sysrq":
		return blocked(name, os.WriteFile("/proc/sysrq-trigger", []byte("b"), 0o200))
	case "proc-sys":
		return blocked(name, os.WriteFile("/proc/sys/kernel/hostname", []byte("pwned"), 0o644))
	case "kcore":
		f, err := os.Open("/proc/kcore")
		if err == nil {
			buf := make([]byte, 16)
			n, rerr := f.Read(buf)
			f.Close()
			if rerr != nil || n == 0 {
				err = fmt.Errorf("opened but unreadable: %v", rerr)
			}
		}
		return blocked(name, err)
	case "read-path":
		// The test passes a host path that must not be visible.
		_, err := os.Stat(ev.Arg2())
		return blocked(name, err)
	case "raw-socket":
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err == nil {
			unix.Close(fd)
		}
		return blocked(name, err)
	case "connect":
		c, err := net.DialTimeout("tcp", ev.Arg2(), 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return blocked(name, err)
	case "fork-bomb":
		// Start processes until the pids limit stops us; report the limit was hit.
		// Spare threads first: at the limit the runtime could not create
		// one, and a Go runtime that fails to is a fatal error (exit 2),
		// which would end the attacker's environment instead of its fork.
		spareThreads(8)
		var procs []*exec.Cmd
		var err error
		for i := 0; i < 5000; i++ {
			c := exec.Command("/var/task/bootstrap")
			c.Env = []string{"PROBE_SLEEPER=1"}
			if err = c.Start(); err != nil {
				break
			}
			procs = append(procs, c)
		}
		for _, c := range procs {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		if err == nil {
			return result{name, false, fmt.Sprintf("started %d processes", len(procs))}
		}
		return result{name, true, fmt.Sprintf("stopped after %d processes: %v", len(procs), err)}
	case "fill-tmp":
		f, err := os.Create("/tmp/fill")
		if err != nil {
			return result{name, true, err.Error()}
		}
		defer os.Remove("/tmp/fill")
		buf := make([]byte, 1<<20)
		var n int64
		for {
			w, err := f.Write(buf)
			n += int64(w)
			if err != nil {
				f.Close()
				return result{name, errors.Is(err, syscall.ENOSPC), fmt.Sprintf("wrote %d MB: %v", n>>20, err)}
			}
		}
	case "kill-all":
		return blocked(name, unix.Kill(-1, unix.SIGKILL))
	case "caps":
		b, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "CapEff:") || strings.HasPrefix(l, "CapPrm:") || strings.HasPrefix(l, "CapBnd:") {
				if !strings.HasSuffix(strings.TrimSpace(l), "0000000000000000") {
					return result{name, false, l}
				}
			}
		}
		return result{name, true, "no capabilities"}
	case "uid":
		if os.Getuid() == 0 || os.Geteuid() == 0 {
			return result{name, false, "running as root"}
		}
		return result{name, true, fmt.Sprintf("uid %d gid %d", os.Getuid(), os.Getgid())}
	case "no-new-privs":
		v, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
		if err != nil || v != 1 {
			return result{name, false, fmt.Sprintf("no_new_privs=%d err=%v", v, err)}
		}
		return result{name, true, "no_new_privs=1"}
	case "proc-pids":
		// Only the sandbox's own processes may be visible.
		entries, _ := os.ReadDir("/proc")
		var pids []string
		for _, e := range entries {
			if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
				pids = append(pids, e.Name())
			}
		}
		if len(pids) > 4 {
			return result{name, false, "visible pids: " + strings.Join(pids, ",")}
		}
		return result{name, true, "visible pids: " + strings.Join(pids, ",")}
	}
	return result{name, false, "unknown attack"}
}

// Arg2 is the second part of "attack:arg" style arguments: "name|detail".
func (e Event) Arg2() string {
	_, after, _ := strings.Cut(e.Arg, "|")
	return after
}

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func main() {
	if os.Getenv("PROBE_SLEEPER") == "1" {
		time.Sleep(time.Minute)
		return
	}
	b, _ := json.Marshal(map[string]string{"started": "probe"})
	fmt.Println(string(b))
	lambda.Start(handle)
}

// spareThreads makes the Go runtime start n more OS threads, which it then
// keeps idle for later use: n goroutines block in read(2) on a pipe at once,
// and each blocked system call hands its processor to another thread.
func spareThreads(n int) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		return
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var b [1]byte
			_, _ = syscall.Read(fds[0], b[:])
		})
	}
	time.Sleep(50 * time.Millisecond) // sysmon retakes the processors of blocked calls
	_, _ = syscall.Write(fds[1], make([]byte, n))
	wg.Wait()
}
