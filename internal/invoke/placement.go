package invoke

import (
	"sync"

	"github.com/cloister/cloister/internal/sandbox"
)

// placement pins every environment whose CPU share is at most one vCPU to
// one host CPU: its function starts with that CPU as its affinity. A
// runtime that sees one CPU sizes itself to it (Go's GOMAXPROCS, Node's and
// Python's thread pools), its threads wake each other on one CPU instead of
// waking idle vCPUs, and its caches stay warm between events. On a 2-vCPU
// virtual machine, where waking an idle vCPU is a trip through the
// hypervisor, one pinned environment took the warm invoke p50 from 347 µs to
// about 230 µs, and pinning every small environment rather than only one per
// CPU raised warm throughput by 14% at concurrency 4 and 21% at 8
// (docs/benchmarks.md).
//
// A new environment goes to the CPU with the fewest environments running an
// invocation, then the fewest pinned. Because pinned threads are never moved
// by the kernel, placement also balances at dispatch: an environment whose
// CPU is running another environment's invocation while some CPU runs none
// is moved there first (begin), so two pinned invocations never share a CPU
// while another idles; the pool prefers environments on quiet CPUs so that a
// move is rarely needed.
//
// Placement is a hint, not a limit: the cgroup's CPU quota is the limit, and
// a function may widen its own affinity. Larger environments (more than one
// vCPU) are never pinned and the kernel balances them.
type placement struct {
	mu   sync.Mutex
	cpus []int       // the CPUs this process may use; none on a one-CPU host
	live map[int]int // pinned environments per CPU
	busy map[int]int // pinned environments running an invocation, per CPU
}

func newPlacement() *placement {
	p := &placement{live: map[int]int{}, busy: map[int]int{}}
	if cpus := allowedCPUs(); len(cpus) > 1 {
		p.cpus = cpus // with one CPU there is nothing to place
	}
	return p
}

// take places a new environment of memoryMB: it returns its CPU, counted as
// pinned, or -1 when the environment is not pinned.
func (p *placement) take(memoryMB int) int {
	if len(p.cpus) == 0 || memoryMB > sandbox.MBPerCPU {
		return -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.quietest()
	p.live[c]++
	return c
}

// quietest is the CPU with the fewest busy, then fewest pinned,
// environments. p.mu is held.
func (p *placement) quietest() int {
	best := p.cpus[0]
	for _, c := range p.cpus[1:] {
		if p.busy[c] < p.busy[best] || p.busy[c] == p.busy[best] && p.live[c] < p.live[best] {
			best = c
		}
	}
	return best
}

// begin counts the environment whose CPU *cpu holds as running an
// invocation. If another invocation runs on that CPU while some CPU runs
// none, the environment is moved there: *cpu changes and moved is true, and
// the caller moves the sandbox's threads. It returns the CPU counted busy,
// for end; -1 (nothing counted) for an unpinned environment.
func (p *placement) begin(cpu *int) (busyOn int, moved bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *cpu < 0 {
		return -1, false
	}
	if p.busy[*cpu] > 0 {
		if c := p.quietest(); p.busy[c] == 0 {
			p.live[*cpu]--
			p.live[c]++
			*cpu, moved = c, true
		}
	}
	p.busy[*cpu]++
	return *cpu, moved
}

// end undoes begin once the invocation is over.
func (p *placement) end(busyOn int) {
	if busyOn < 0 {
		return
	}
	p.mu.Lock()
	p.busy[busyOn]--
	p.mu.Unlock()
}

// quiet reports whether no pinned invocation runs on the CPU *cpu holds
// (or the environment is not pinned): the pool's preference.
func (p *placement) quiet(cpu *int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *cpu < 0 || p.busy[*cpu] == 0
}

// give frees the CPU *cpu holds when its environment has ended, and
// unpins the environment so that a second give counts nothing.
func (p *placement) give(cpu *int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *cpu < 0 {
		return
	}
	if p.live[*cpu]--; p.live[*cpu] <= 0 {
		delete(p.live, *cpu)
	}
	*cpu = -1
}
