package invoke

import "strings"

// PinnedEnvironments counts the live environments pinned to a CPU.
func (s *Service) PinnedEnvironments() int {
	s.place.mu.Lock()
	defer s.place.mu.Unlock()
	return pinnedIn(s.place)
}

// PreparedOpt reports the /opt directory already prepared for a function
// of account naming these layer ARNs, if any.
func (s *Service) PreparedOpt(account string, arns ...string) (string, bool) {
	v, ok := s.optDirs.Load(account + "\n" + strings.Join(arns, "\n"))
	if !ok {
		return "", false
	}
	return v.(string), true
}

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
