package runtimes

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// ErrInsecureDir is returned by Install when the directory it would write
// into can be written by someone other than its owner, or is not owned by
// the user Cloister runs as: a client installed there could be swapped.
var ErrInsecureDir = errors.New("runtimes: install directory is writable by others or owned by another user")

//go:embed client
var embedded embed.FS

// embeddedRoot is the directory inside embedded that holds the clients.
const embeddedRoot = "client"

// Permissions of an installed tree: read-only for everyone but the owner,
// who never writes after publishing.
const (
	filePerm fs.FileMode = 0o644
	dirPerm  fs.FileMode = 0o755
)

// bundleFile is one file of the embedded clients.
type bundleFile struct {
	rel  string // slash-separated, relative to the bundle root
	data []byte
}

// bundle is the embedded clients, read once.
type bundle struct {
	files []bundleFile // sorted by rel
	dirs  []string     // sorted; every directory under the root, not the root
	hash  string       // names the installed directory
}

var loadBundle = sync.OnceValues(func() (*bundle, error) {
	b := &bundle{}
	err := fs.WalkDir(embedded, embeddedRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, embeddedRoot), "/")
		if rel == "" {
			return nil
		}
		if d.IsDir() {
			b.dirs = append(b.dirs, rel)
			return nil
		}
		data, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		b.files = append(b.files, bundleFile{rel: rel, data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read embedded runtime clients: %w", err)
	}
	slices.SortFunc(b.files, func(x, y bundleFile) int { return strings.Compare(x.rel, y.rel) })
	slices.Sort(b.dirs)

	// The hash covers names, kinds and contents, each length-prefixed so
	// that no two different trees hash alike.
	h := sha256.New()
	for _, d := range b.dirs {
		fmt.Fprintf(h, "d %d:%s\n", len(d), d)
	}
	for _, f := range b.files {
		fmt.Fprintf(h, "f %d:%s %d\n", len(f.rel), f.rel, len(f.data))
		h.Write(f.data)
	}
	b.hash = hex.EncodeToString(h.Sum(nil)[:16])
	return b, nil
})

// Install writes the embedded runtime clients into dir/<content-hash>/ once
// and returns that path, to be bind-mounted read-only at /var/runtime. The
// tree is built in a temporary directory and published by one rename, so a
// reader sees all of it or nothing; files are 0644 and directories 0755,
// owned by the user Cloister runs as (root in production).
//
// If the directory already exists Install checks it byte for byte and keeps
// it; if it differs in any way it is moved aside, removed and written anew.
// Install is safe to call concurrently, from several processes too. dir is
// created if missing and must not be writable by group or others.
func Install(dir string) (string, error) {
	b, err := loadBundle()
	if err != nil {
		return "", err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("install runtime clients: %w", err)
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return "", fmt.Errorf("install runtime clients: %w", err)
	}
	if err := checkParent(dir); err != nil {
		return "", fmt.Errorf("install runtime clients in %s: %w", dir, err)
	}

	target := filepath.Join(dir, b.hash)
	switch err := b.verify(target); {
	case err == nil:
		return target, nil
	case errors.Is(err, fs.ErrNotExist):
	default:
		if err := discard(dir, target, b.hash); err != nil {
			return "", err
		}
	}

	tmp, err := os.MkdirTemp(dir, "."+b.hash+".tmp-")
	if err != nil {
		return "", fmt.Errorf("install runtime clients: %w", err)
	}
	published := false
	defer func() {
		if !published {
			os.RemoveAll(tmp)
		}
	}()
	if err := b.write(tmp); err != nil {
		return "", fmt.Errorf("install runtime clients: %w", err)
	}
	if err := os.Rename(tmp, target); err != nil {
		// Another installer published first: use its tree if it is right.
		if verr := b.verify(target); verr == nil {
			return target, nil
		}
		return "", fmt.Errorf("install runtime clients: %w", err)
	}
	published = true
	if err := syncDir(dir); err != nil {
		return "", fmt.Errorf("install runtime clients: %w", err)
	}
	return target, nil
}

// discard moves an altered tree out of the way and removes it.
func discard(dir, target, hash string) error {
	aside := filepath.Join(dir, "."+hash+".stale-"+rand.Text())
	if err := os.Rename(target, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("install runtime clients: move aside altered %s: %w", target, err)
	}
	if err := os.RemoveAll(aside); err != nil {
		return fmt.Errorf("install runtime clients: remove altered %s: %w", aside, err)
	}
	return nil
}

// write creates the tree under root, which exists and is empty, and syncs it.
func (b *bundle) write(root string) error {
	for _, d := range b.dirs {
		p := filepath.Join(root, filepath.FromSlash(d))
		if err := os.Mkdir(p, dirPerm); err != nil {
			return err
		}
		if err := os.Chmod(p, dirPerm); err != nil {
			return err
		}
	}
	for _, f := range b.files {
		if err := writeFile(filepath.Join(root, filepath.FromSlash(f.rel)), f.data); err != nil {
			return err
		}
	}
	// Sync directories deepest first, then the root, before publishing.
	for _, d := range slices.Backward(b.dirs) {
		if err := syncDir(filepath.Join(root, filepath.FromSlash(d))); err != nil {
			return err
		}
	}
	if err := os.Chmod(root, dirPerm); err != nil {
		return err
	}
	return syncDir(root)
}

func writeFile(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(filePerm) // the umask may have narrowed the mode
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// errAltered says an installed tree differs from the embedded clients.
var errAltered = errors.New("installed runtime clients differ from the embedded ones")

// verify checks that root holds exactly the embedded tree: the same entries,
// no symlinks, the right permissions and owner, and identical contents. It
// returns an error wrapping fs.ErrNotExist when root does not exist.
func (b *bundle) verify(root string) error {
	fi, err := os.Lstat(root)
	if err != nil {
		return err
	}
	if err := checkEntry(fi, true); err != nil {
		return fmt.Errorf("%s: %w", root, err)
	}
	wantFiles := make(map[string][]byte, len(b.files))
	for _, f := range b.files {
		wantFiles[f.rel] = f.data
	}
	seen := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if _, ok := slices.BinarySearch(b.dirs, rel); !ok {
				return fmt.Errorf("%w: unexpected directory %s", errAltered, rel)
			}
			return checkEntry(fi, true)
		}
		want, ok := wantFiles[rel]
		if !ok {
			return fmt.Errorf("%w: unexpected entry %s", errAltered, rel)
		}
		if err := checkEntry(fi, false); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if fi.Size() != int64(len(want)) {
			return fmt.Errorf("%w: %s has the wrong size", errAltered, rel)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%w: %s has the wrong content", errAltered, rel)
		}
		seen++
		return nil
	})
	if err != nil {
		return err
	}
	if seen != len(b.files) {
		return fmt.Errorf("%w: %d of %d files present", errAltered, seen, len(b.files))
	}
	return nil
}

// checkEntry checks the kind, permissions and owner of one installed entry.
func checkEntry(fi fs.FileInfo, wantDir bool) error {
	switch {
	case wantDir && !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", errAltered, fi.Name())
	case !wantDir && !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file", errAltered, fi.Name())
	}
	want := filePerm
	if wantDir {
		want = dirPerm
	}
	if fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != want {
		return fmt.Errorf("%w: %s has mode %v", errAltered, fi.Name(), fi.Mode())
	}
	if !ownedBySelf(fi) {
		return fmt.Errorf("%w: %s has the wrong owner", errAltered, fi.Name())
	}
	return nil
}
