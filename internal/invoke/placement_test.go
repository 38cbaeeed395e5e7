package invoke

import (
	"testing"

	"github.com/cloister/cloister/internal/sandbox"
)

func TestPlacement(t *testing.T) {
	p := &placement{cpus: []int{2, 5}, used: map[int]bool{}}
	if c := p.take(sandbox.MBPerCPU + 1); c != -1 {
		t.Errorf("an environment larger than one vCPU got CPU %d", c)
	}
	a, b := p.take(128), p.take(sandbox.MBPerCPU)
	if a != 2 || b != 5 {
		t.Fatalf("took %d and %d, want 2 and 5", a, b)
	}
	if c := p.take(128); c != -1 {
		t.Errorf("a third environment got CPU %d while both are used", c)
	}
	p.give(a)
	p.give(-1) // an unpinned environment ends: nothing to free
	if c := p.take(256); c != a {
		t.Errorf("after CPU %d was freed, took %d", a, c)
	}
	if c := p.take(256); c != -1 {
		t.Errorf("took %d, want none free", c)
	}

	one := &placement{used: map[int]bool{}} // a host with one CPU
	if c := one.take(128); c != -1 {
		t.Errorf("one-CPU host pinned to %d", c)
	}
}
