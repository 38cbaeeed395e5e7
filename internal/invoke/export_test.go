package invoke

// PinnedCPUs reports how many host CPUs have a pinned environment.
func (s *Service) PinnedCPUs() int {
	s.place.mu.Lock()
	defer s.place.mu.Unlock()
	return len(s.place.used)
}

// AllowedCPUs lists the CPUs this process may run on.
func AllowedCPUs() []int { return allowedCPUs() }
