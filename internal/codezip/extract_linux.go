package codezip

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// Extract unpacks a package into dest, which must not exist yet; its parent
// must. It checks everything Validate checks again as it writes (it never
// relies on an earlier Validate) and rejects a bad package with the same
// *Error values.
//
// The tree is built in a private temporary sibling of dest (named
// ".<base>.tmp-*") and renamed into place only when complete, so dest is
// either absent or whole. Directories are 0755; files are 0644, or 0755 when
// the zip gives them the owner's execute bit; setuid, setgid and sticky bits
// are dropped; everything is owned by the calling user. No path is ever
// opened through a symbolic link: every file is created relative to its
// directory's descriptor with O_NOFOLLOW and O_EXCL, and symbolic links, which
// the tree never has entries under, are created as they are reached.
//
// The temporary tree is created and renamed by path, so dest's parent must
// be writable only by the caller (the code cache's own directory).
//
// dest is meant to be keyed by the package's code hash, and Extract never
// touches an existing dest. If a concurrent Extract of the same package
// renames its copy into place first, Extract discards its own and returns
// nil. If dest exists when Extract is called, it only validates data and
// returns the verdict. A rejected package leaves nothing behind. After a
// crash, temporary siblings may remain; they are never renamed into place
// and can be removed.
//
// data must not change during the call.
func Extract(data []byte, dest string, lim Limits) error {
	lim = lim.withDefaults()
	dest = filepath.Clean(dest)
	parent, base := filepath.Dir(dest), filepath.Base(dest)
	if base == "/" || base == "." || base == ".." {
		return fmt.Errorf("codezip: extract: invalid destination %q", dest)
	}
	if _, err := os.Lstat(dest); err == nil {
		_, err := Validate(data, lim)
		return err
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("codezip: extract: %w", err)
	}

	p, err := plan(data, lim)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("codezip: extract: %w", err)
	}
	if err := p.write(data, tmp); err != nil {
		return withCleanup(err, tmp)
	}
	existed, err := renameNoReplace(tmp, dest)
	if err != nil {
		return withCleanup(fmt.Errorf("codezip: extract: %w", err), tmp)
	}
	if existed {
		return withCleanup(nil, tmp)
	}
	return nil
}

// withCleanup removes the temporary tree and returns err, joined with the
// removal's error if that failed too.
func withCleanup(err error, tmp string) error {
	if rerr := os.RemoveAll(tmp); rerr != nil {
		return errors.Join(err, fmt.Errorf("codezip: remove temporary directory: %w", rerr))
	}
	return err
}

// renameNoReplace renames the directory tmp to dest unless dest exists, and
// reports whether it did.
func renameNoReplace(tmp, dest string) (existed bool, err error) {
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dest, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// The filesystem lacks RENAME_NOREPLACE. A plain rename never
		// replaces a non-empty directory, and dest only ever comes from
		// another Extract of the same package; replacing an empty dest is
		// replacing an identical, empty package.
		err = unix.Rename(tmp, dest)
		if errors.Is(err, unix.ENOTEMPTY) {
			return true, nil
		}
	}
	if errors.Is(err, unix.EEXIST) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("rename into place: %w", err)
	}
	return false, nil
}

// write extracts the package into the empty directory dir.
func (p *pkg) write(data []byte, dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("codezip: open temporary directory: %w", err)
	}
	defer unix.Close(fd)
	if err := p.writeDir(data, fd, p.tree.root); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, 0o755); err != nil {
		return fmt.Errorf("codezip: chmod temporary directory: %w", err)
	}
	return nil
}

// writeDir creates n's children inside the directory open as dirfd, in name
// order, and recurses into subdirectories.
func (p *pkg) writeDir(data []byte, dirfd int, n *node) error {
	for _, name := range slices.Sorted(maps.Keys(n.children)) {
		c := n.children[name]
		var err error
		switch c.kind {
		case kindDir:
			err = p.writeSubdir(data, dirfd, c)
		case kindFile:
			err = p.writeFile(data, dirfd, c)
		case kindSymlink:
			if serr := unix.Symlinkat(p.entries[c.entry].target, dirfd, name); serr != nil {
				err = fmt.Errorf("codezip: create symbolic link: %w", serr)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *pkg) writeSubdir(data []byte, dirfd int, n *node) error {
	if err := unix.Mkdirat(dirfd, n.name, 0o700); err != nil {
		return fmt.Errorf("codezip: create directory: %w", err)
	}
	fd, err := unix.Openat(dirfd, n.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("codezip: open directory: %w", err)
	}
	defer unix.Close(fd)
	if err := p.writeDir(data, fd, n); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, 0o755); err != nil {
		return fmt.Errorf("codezip: chmod directory: %w", err)
	}
	return nil
}

func (p *pkg) writeFile(data []byte, dirfd int, n *node) error {
	e := &p.entries[n.entry]
	fd, err := unix.Openat(dirfd, n.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("codezip: create file: %w", err)
	}
	f := os.NewFile(uintptr(fd), n.name)
	err = copyEntry(data, e, f, &p.budget)
	if err == nil {
		mode := os.FileMode(0o644)
		if e.exec {
			mode = 0o755
		}
		if cerr := f.Chmod(mode); cerr != nil {
			err = fmt.Errorf("codezip: chmod file: %w", cerr)
		}
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("codezip: close file: %w", cerr)
	}
	return err
}
