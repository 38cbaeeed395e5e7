//go:build !linux

package codezip

import (
	"errors"
	"fmt"
)

// Extract is supported on Linux only: it depends on openat, O_NOFOLLOW and
// renameat2 to write without following symbolic links. Elsewhere it fails
// closed.
func Extract(data []byte, dest string, lim Limits) error {
	return fmt.Errorf("codezip: extract: %w", errors.ErrUnsupported)
}
