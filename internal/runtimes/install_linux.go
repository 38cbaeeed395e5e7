package runtimes

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkParent refuses an install directory that anyone but its owner can
// write, or that belongs to another user.
func checkParent(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 || !ownedBySelf(fi) {
		return ErrInsecureDir
	}
	return nil
}

// ownedBySelf reports whether the effective user owns fi.
func ownedBySelf(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int64(st.Uid) == int64(os.Geteuid())
}
