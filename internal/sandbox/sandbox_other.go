//go:build !linux

package sandbox

import (
	"context"
	"fmt"
	"net"
	"os"
)

// Manager is unavailable off Linux: NewManager always fails.
type Manager struct{}

// NewManager returns ErrUnsupported: sandboxes need Linux namespaces,
// cgroups and seccomp, and Cloister never runs functions unsandboxed.
func NewManager(ctx context.Context, cfg Config) (*Manager, error) { return nil, ErrUnsupported }

// Start returns ErrUnsupported.
func (m *Manager) Start(ctx context.Context, spec Spec) (*Sandbox, error) {
	return nil, ErrUnsupported
}

// Close returns nil.
func (m *Manager) Close() error { return nil }

// Sandbox is never created off Linux.
type Sandbox struct{}

// ID returns "".
func (s *Sandbox) ID() string { return "" }

// Listeners returns nil.
func (s *Sandbox) Listeners() []net.Listener { return nil }

// Done returns a closed channel.
func (s *Sandbox) Done() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// Wait reports ErrUnsupported.
func (s *Sandbox) Wait() Exit { return Exit{Code: -1, Err: ErrUnsupported} }

// Kill returns ErrUnsupported.
func (s *Sandbox) Kill() error { return ErrUnsupported }

// PeakMemory returns ErrUnsupported.
func (s *Sandbox) PeakMemory() (uint64, error) { return 0, ErrUnsupported }

// SetCPUs returns ErrUnsupported.
func (s *Sandbox) SetCPUs([]int) error { return ErrUnsupported }

// ResetPeakMemory returns ErrUnsupported.
func (s *Sandbox) ResetPeakMemory() error { return ErrUnsupported }

// Close returns nil.
func (s *Sandbox) Close() error { return nil }

// IsInit reports whether the process was started as "<binary> init".
func IsInit() bool { return len(os.Args) == 2 && os.Args[1] == "init" }

// InitMain refuses to run: there is no sandbox to initialise off Linux.
func InitMain() int {
	fmt.Fprintln(os.Stderr, ErrUnsupported)
	return 2
}
