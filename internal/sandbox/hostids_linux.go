package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Host id ranges are handed out in units of idUnit ids. Managers on one host
// (several servers, test binaries) coordinate through a lock file per unit
// in idLockDir, held with flock for the Manager's life: the kernel releases
// it when the process dies, so a crash frees the range.
const (
	idUnit    = 1 << 16
	idUnits   = 256 // units tried from the default base
	idLockDir = "/run/cloister"
)

// claimIDRange locks a free unit at base (and, when searching, at the units
// after it) and returns its first id and the open lock file.
func claimIDRange(base uint32, search bool) (uint32, *os.File, error) {
	if err := os.MkdirAll(idLockDir, 0o755); err != nil {
		return 0, nil, fmt.Errorf("sandbox: host id locks: %w", err)
	}
	tries := 1
	if search {
		tries = idUnits
	}
	for i := range tries {
		b := uint64(base) + uint64(i)*idUnit
		if b+idUnit > 0xfffffffe {
			break
		}
		path := filepath.Join(idLockDir, fmt.Sprintf("hostids-%08x.lock", b))
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return 0, nil, fmt.Errorf("sandbox: host id lock: %w", err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return uint32(b), f, nil
		}
		f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return 0, nil, fmt.Errorf("sandbox: host id lock %s: %w", path, err)
		}
	}
	return 0, nil, fmt.Errorf("%w: every host id range from %#x is held by another manager", ErrCapacity, base)
}
