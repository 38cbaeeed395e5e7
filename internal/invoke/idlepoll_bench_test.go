package invoke_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/cloister/cloister/internal/invoke"
)

// With idlePollEnv set (to anything), TestMain keeps every CPU the tests may
// use out of halt for the whole run: one child per CPU spins there at
// SCHED_IDLE, which any runnable task preempts at once. That is what a
// guest kernel's idle polling (cpuidle-haltpoll's guest_halt_poll_ns, which
// this kind of machine's kernel command line sets to 0) does, without
// changing the machine's settings, so the benchmarks can say how much of an
// invocation's latency is the price of waking a halted vCPU
// (docs/benchmarks.md, "Data plane"). It costs both CPUs' idle time, which
// is why Cloister itself never does it.
const (
	idlePollEnv = "CLOISTER_BENCH_IDLE_POLL"
	spinCPUEnv  = "CLOISTER_BENCH_SPIN_CPU"
)

// startIdlePollers starts one spinning child per allowed CPU and returns a
// function that stops them.
func startIdlePollers() (stop func(), err error) {
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for _, cpu := range invoke.AllowedCPUs() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), spinCPUEnv+"="+strconv.Itoa(cpu), "GOMAXPROCS=1")
		if err := cmd.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("idle poller on CPU %d: %w", cpu, err)
		}
		cmds = append(cmds, cmd)
	}
	return stop, nil
}

// spinMain is an idle poller: pinned to one CPU at SCHED_IDLE, it spins
// until its parent dies.
func spinMain(cpu string) int {
	n, err := strconv.Atoi(cpu)
	if err != nil {
		return 2
	}
	if err := pinThread(n); err != nil {
		return 2
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return 2
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return 2
	}
	if os.Getppid() == 1 { // the parent died before PDEATHSIG was set
		return 0
	}
	for {
		spins++
	}
}

// spins is global so that the compiler keeps spinMain's loop.
var spins uint64
