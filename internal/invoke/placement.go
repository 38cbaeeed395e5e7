package invoke

import (
	"sync"

	"github.com/cloister/cloister/internal/sandbox"
)

// placement gives an environment whose CPU share is at most one vCPU a CPU
// of its own while one is free: its function starts with that CPU as its
// affinity. A runtime that sees one CPU sizes itself to it (Go's GOMAXPROCS,
// Node's and Python's thread pools), its threads wake each other on one CPU
// instead of waking idle vCPUs, and its caches stay warm between events. On
// a 2-vCPU virtual machine, where every wake-up of an idle vCPU costs 20-25
// µs, this took the warm invoke p50 from 347 µs to about 230 µs
// (docs/benchmarks.md).
//
// Placement is a hint, not a limit: the cgroup's CPU quota is the limit, and
// a function may widen its own affinity. Once every CPU has an environment,
// further environments are not pinned and the kernel balances them: two
// pinned environments never share a CPU while another CPU idles. Larger
// environments (more than one vCPU) are never pinned.
type placement struct {
	mu   sync.Mutex
	cpus []int        // the CPUs this process may use
	used map[int]bool // CPUs with a live pinned environment
}

func newPlacement() *placement {
	p := &placement{used: map[int]bool{}}
	if cpus := allowedCPUs(); len(cpus) > 1 {
		p.cpus = cpus // with one CPU there is nothing to place
	}
	return p
}

// take returns a free CPU for a new environment of memoryMB and marks it
// used, or -1 when the environment is not pinned.
func (p *placement) take(memoryMB int) int {
	if len(p.cpus) == 0 || memoryMB > sandbox.MBPerCPU {
		return -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.cpus {
		if !p.used[c] {
			p.used[c] = true
			return c
		}
	}
	return -1
}

// give frees the CPU of an environment that has ended.
func (p *placement) give(cpu int) {
	if cpu < 0 {
		return
	}
	p.mu.Lock()
	delete(p.used, cpu)
	p.mu.Unlock()
}
