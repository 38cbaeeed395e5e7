//go:build !linux

package runtimes

import (
	"errors"
	"fmt"
	"io/fs"
)

// checkParent fails closed: the runtime clients are only ever mounted into
// Linux sandboxes, and ownership cannot be checked portably.
func checkParent(string) error {
	return fmt.Errorf("runtimes: install is supported on Linux only: %w", errors.ErrUnsupported)
}

func ownedBySelf(fs.FileInfo) bool { return false }
