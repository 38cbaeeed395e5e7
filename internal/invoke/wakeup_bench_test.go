package invoke_test

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloister/cloister/internal/invoke"
)

// echoCPUEnv names the CPU an echo child pins itself to (see TestMain).
const echoCPUEnv = "CLOISTER_BENCH_ECHO_CPU"

// BenchmarkWakeup measures what the machine charges for the hand-off every
// invocation makes twice: one process writing to another that sleeps in
// read(2), and back. Both sides are single threads in blocking system
// calls (no Go scheduler, no HTTP), one byte each way, with a 200 µs pause
// between round trips so that an idle CPU goes idle as it does between
// events. "same-cpu" pins both to one CPU; "cross-cpu" to two. The
// difference is the price of waking another CPU, which on a virtual
// machine whose idle vCPUs halt is far above the cost of the system calls
// (docs/benchmarks.md).
func BenchmarkWakeup(b *testing.B) {
	cpus := invoke.AllowedCPUs()
	if len(cpus) < 2 {
		b.Skip("needs two CPUs")
	}
	for _, c := range []struct {
		name       string
		mine, echo int
	}{{"same-cpu", cpus[1], cpus[1]}, {"cross-cpu", cpus[0], cpus[1]}} {
		b.Run(c.name, func(b *testing.B) { pingPong(b, c.mine, c.echo) })
	}
}

func pingPong(b *testing.B, mine, echo int) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fds[0])
	child := os.NewFile(uintptr(fds[1]), "echo")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), echoCPUEnv+"="+strconv.Itoa(echo))
	cmd.ExtraFiles = []*os.File{child}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	child.Close()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	// The thread stays locked: it ends with the benchmark's goroutine, so
	// its narrowed affinity never returns to the scheduler's pool.
	if err := pinThread(mine); err != nil {
		b.Fatal(err)
	}
	buf := []byte{0}
	one := func() time.Duration {
		s := time.Now()
		if _, err := unix.Write(fds[0], buf); err != nil {
			b.Fatal(err)
		}
		if n, err := unix.Read(fds[0], buf); n != 1 || err != nil {
			b.Fatalf("echo: %d, %v", n, err)
		}
		return time.Since(s)
	}
	for i := 0; i < 100; i++ {
		one()
	}
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ds = append(ds, one())
		b.StopTimer()
		time.Sleep(200 * time.Microsecond)
		b.StartTimer()
	}
	b.StopTimer()
	percentiles(b, ds)
}

// echoMain is the child of BenchmarkWakeup: pinned to one CPU, it answers
// every byte on fd 3 with itself until the socket closes.
func echoMain(cpu string) int {
	n, err := strconv.Atoi(cpu)
	if err != nil {
		return 2
	}
	if err := pinThread(n); err != nil {
		return 2
	}
	buf := []byte{0}
	for {
		if k, err := unix.Read(3, buf); k != 1 || err != nil {
			return 0
		}
		if _, err := unix.Write(3, buf); err != nil {
			return 0
		}
	}
}

// pinThread locks the calling goroutine to its thread and the thread to
// cpu. The thread stays locked: it ends with its goroutine, so its narrowed
// affinity never returns to the scheduler's pool.
func pinThread(cpu int) error {
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(0, &set)
}
