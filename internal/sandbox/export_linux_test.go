package sandbox

import (
	"context"
	"time"
)

// InitPid returns the host pid of a sandbox's init, for tests that inspect
// it from the host.
func InitPid(s *Sandbox) int { return s.z.cmd.Process.Pid }

// CgroupPath returns the sandbox's cgroup (the memory controller's on v1).
func CgroupPath(s *Sandbox) string { return s.z.cg.Path() }

// WaitPoolFull blocks until the zygote pool is full.
func WaitPoolFull(ctx context.Context, m *Manager) error {
	for len(m.pool) < cap(m.pool) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
