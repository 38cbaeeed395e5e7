package sandbox

import "sync"

// idRange hands out host id slots: slot i owns host ids base+2i (the
// sandbox's root, which only the init uses while it composes the sandbox)
// and base+2i+1 (FunctionUID/FunctionGID). A slot is reused only after the
// sandbox that held it has been torn down, so two live sandboxes never share
// a host uid or gid.
type idRange struct {
	base uint32
	mu   sync.Mutex
	used []bool
	next int
}

func newIDRange(base uint32, n int) *idRange {
	return &idRange{base: base, used: make([]bool, n)}
}

// alloc returns a free slot, or false when all are taken.
func (r *idRange) alloc() (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.used {
		s := (r.next + i) % len(r.used)
		if !r.used[s] {
			r.used[s] = true
			r.next = s + 1
			return s, true
		}
	}
	return 0, false
}

func (r *idRange) free(slot int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.used[slot] = false
}

// hostIDs returns the host ids that slot maps to root and to the function.
func (r *idRange) hostIDs(slot int) (root, function uint32) {
	root = r.base + 2*uint32(slot)
	return root, root + 1
}
