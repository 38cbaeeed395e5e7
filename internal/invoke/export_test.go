package invoke

// PinnedEnvironments counts the live environments pinned to a CPU.
func (s *Service) PinnedEnvironments() int { return s.place.pinned() }

// HoldCPU counts an invocation as running on cpu until release is called,
// as if another environment pinned there were busy.
func (s *Service) HoldCPU(cpu int) (release func()) {
	s.place.mu.Lock()
	s.place.busy[cpu]++
	s.place.mu.Unlock()
	return func() { s.place.end(cpu) }
}

// AllowedCPUs lists the CPUs this process may run on.
func AllowedCPUs() []int { return allowedCPUs() }
