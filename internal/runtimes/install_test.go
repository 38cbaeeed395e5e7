package runtimes

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// privateDir returns a fresh directory that passes Install's checks.
func privateDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "runtimes")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkInstalled verifies an installed tree independently of Install's own
// verify: every embedded file present with its content, nothing else, and
// the documented permissions.
func checkInstalled(t *testing.T, root string) {
	t.Helper()
	want := map[string]string{}
	err := fs.WalkDir(embedded, embeddedRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := embedded.ReadFile(p)
		want[strings.TrimPrefix(p, embeddedRoot+"/")] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 2 {
		t.Fatalf("embedded clients hold %d files, want the Python and Node.js clients", len(want))
	}
	got := map[string]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if fi.Mode().Perm() != 0o755 {
				t.Errorf("%s: mode %v, want 0755", rel, fi.Mode())
			}
			return nil
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want a 0644 regular file", rel, fi.Mode())
		}
		data, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("installed %d files, want %d", len(got), len(want))
	}
	for name, data := range want {
		if got[name] != data {
			t.Errorf("%s: installed content differs from the embedded file", name)
		}
	}
}

func TestInstall(t *testing.T) {
	dir := privateDir(t)
	root, err := Install(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadBundle()
	if err != nil {
		t.Fatal(err)
	}
	if root != filepath.Join(dir, b.hash) {
		t.Errorf("Install = %s, want %s", root, filepath.Join(dir, b.hash))
	}
	checkInstalled(t, root)
	for _, f := range []string{pythonClient, nodeClient} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("entry point %s: %v", f, err)
		}
	}

	// A second install keeps the same tree: same inode, no leftovers.
	before, _ := os.Stat(filepath.Join(root, pythonClient))
	again, err := Install(dir)
	if err != nil || again != root {
		t.Fatalf("second Install = %q, %v; want %q", again, err, root)
	}
	after, _ := os.Stat(filepath.Join(root, pythonClient))
	if !os.SameFile(before, after) {
		t.Error("second Install rewrote an intact tree")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("install dir holds %d entries, want 1: %v", len(entries), entries)
	}
}

func TestInstallRepairsAlteredTree(t *testing.T) {
	tests := []struct {
		name  string
		alter func(t *testing.T, root string)
	}{
		{"changed content", func(t *testing.T, root string) {
			writeOver(t, filepath.Join(root, pythonClient), "import os; os.system('id')\n")
		}},
		{"same size, different content", func(t *testing.T, root string) {
			p := filepath.Join(root, nodeClient)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0x20
			writeOver(t, p, string(data))
		}},
		{"extra file", func(t *testing.T, root string) {
			writeOver(t, filepath.Join(root, "sitecustomize.py"), "print('hi')\n")
		}},
		{"missing file", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, nodeClient)); err != nil {
				t.Fatal(err)
			}
		}},
		{"loosened mode", func(t *testing.T, root string) {
			if err := os.Chmod(filepath.Join(root, pythonClient), 0o666); err != nil {
				t.Fatal(err)
			}
		}},
		{"writable root", func(t *testing.T, root string) {
			if err := os.Chmod(root, 0o777); err != nil {
				t.Fatal(err)
			}
		}},
		{"file swapped for a symlink", func(t *testing.T, root string) {
			p := filepath.Join(root, pythonClient)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			elsewhere := filepath.Join(t.TempDir(), "bootstrap.py")
			writeOver(t, elsewhere, string(data))
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"root swapped for a symlink", func(t *testing.T, root string) {
			good := filepath.Join(t.TempDir(), "copy")
			if err := os.Rename(root, good); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(good, root); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := privateDir(t)
			root, err := Install(dir)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := loadBundle()
			tc.alter(t, root)
			if err := b.verify(root); err == nil {
				t.Fatal("verify accepted the altered tree")
			}
			again, err := Install(dir)
			if err != nil {
				t.Fatalf("Install after alteration: %v", err)
			}
			if again != root {
				t.Errorf("Install = %s, want %s", again, root)
			}
			if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
				t.Fatalf("installed root is not a directory: %v %v", fi, err)
			}
			checkInstalled(t, root)
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("install dir holds %d entries, want 1: %v", len(entries), entries)
			}
		})
	}
}

func writeOver(t *testing.T, p, content string) {
	t.Helper()
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInstallConcurrent(t *testing.T) {
	dir := privateDir(t)
	const n = 8
	var wg sync.WaitGroup
	roots := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { roots[i], errs[i] = Install(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Install %d: %v", i, errs[i])
		}
		if roots[i] != roots[0] {
			t.Errorf("Install %d = %s, want %s", i, roots[i], roots[0])
		}
	}
	checkInstalled(t, roots[0])
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("install dir holds %d entries, want 1 (temporary trees left behind?): %v", len(entries), entries)
	}
}

func TestInstallRefusesInsecureDir(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"world-writable", func(t *testing.T, dir string) {
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
		}},
		{"group-writable", func(t *testing.T, dir string) {
			if err := os.Chmod(dir, 0o775); err != nil {
				t.Fatal(err)
			}
		}},
		{"owned by another user", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("changing a directory's owner needs root")
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := privateDir(t)
			tc.setup(t, dir)
			_, err := Install(dir)
			if !errors.Is(err, ErrInsecureDir) {
				t.Errorf("Install = %v, want ErrInsecureDir", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("Install wrote %v into an insecure directory", entries)
			}
		})
	}
}

func TestInstallCreatesMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	root, err := Install(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkInstalled(t, root)
}
