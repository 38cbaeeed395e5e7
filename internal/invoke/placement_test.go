package invoke

import (
	"testing"

	"github.com/cloister/cloister/internal/sandbox"
)

func TestPlacement(t *testing.T) {
	p := &placement{cpus: []int{2, 5}, live: map[int]int{}, busy: map[int]int{}}
	if c := p.take(sandbox.MBPerCPU + 1); c != -1 {
		t.Errorf("an environment larger than one vCPU got CPU %d", c)
	}
	a, b, c := p.take(128), p.take(sandbox.MBPerCPU), p.take(128)
	if a != 2 || b != 5 || c != 2 {
		t.Fatalf("took %d, %d and %d, want 2, 5 and 2 (the fewest pinned, in order)", a, b, c)
	}
	if n := pinnedIn(p); n != 3 {
		t.Fatalf("%d pinned, want 3", n)
	}

	// a runs on 2; c, also on 2, moves to the quiet 5; then b stays on
	// 5: no CPU is quiet.
	if on, moved := p.begin(&a); on != 2 || moved || a != 2 {
		t.Fatalf("a: begin = %d, %v (a on %d), want 2, not moved", on, moved, a)
	}
	if p.quiet(&c) || !p.quiet(&b) {
		t.Errorf("quiet: CPU 2 %v, CPU 5 %v; want false, true", p.quiet(&c), p.quiet(&b))
	}
	if on, moved := p.begin(&c); on != 5 || !moved || c != 5 {
		t.Fatalf("c: begin = %d, %v (c on %d), want 5, moved", on, moved, c)
	}
	if on, moved := p.begin(&b); on != 5 || moved || b != 5 {
		t.Fatalf("b: begin = %d, %v (b on %d), want 5, not moved", on, moved, b)
	}
	if p.live[2] != 1 || p.live[5] != 2 || p.busy[2] != 1 || p.busy[5] != 2 {
		t.Fatalf("live %v busy %v, want 2:1 5:2 and 2:1 5:2", p.live, p.busy)
	}
	// A new environment goes where fewer invocations run, even to the CPU
	// with more pinned environments.
	p.end(5)
	p.end(5) // nothing runs on 5 now; a still runs on 2
	d := p.take(128)
	if d != 5 {
		t.Errorf("with an invocation on 2 only, a new environment got %d, want 5", d)
	}
	p.end(2)
	if p.busy[2] != 0 || p.busy[5] != 0 {
		t.Errorf("busy %v after every end, want none", p.busy)
	}

	// give frees once, however often it is called.
	p.give(&a)
	p.give(&a)
	if a != -1 || pinnedIn(p) != 3 || p.live[2] != 0 {
		t.Errorf("after giving a twice: a %d, %d pinned, live %v", a, pinnedIn(p), p.live)
	}
	none := -1
	p.give(&none) // an unpinned environment ends: nothing to free
	if on, moved := p.begin(&none); on != -1 || moved {
		t.Errorf("unpinned begin = %d, %v", on, moved)
	}
	p.end(-1)
	if !p.quiet(&none) {
		t.Error("an unpinned environment is not on a quiet CPU")
	}

	one := &placement{live: map[int]int{}, busy: map[int]int{}} // a host with one CPU
	if c := one.take(128); c != -1 {
		t.Errorf("one-CPU host pinned to %d", c)
	}
}

func pinnedIn(p *placement) int {
	n := 0
	for _, k := range p.live {
		n += k
	}
	return n
}
