package codezip

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExtractIgnoresUmask extracts under a restrictive umask: modes are set
// explicitly, not left to the umask.
func TestExtractIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	data := zipOf(t,
		file{name: "bootstrap", body: "#!/bin/sh", mode: 0o755},
		file{name: "lib/x.py", body: "x"},
	)
	dest := filepath.Join(t.TempDir(), "out")
	if err := Extract(data, dest, Limits{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		".": dirPerm, "bootstrap": execPerm + "#!/bin/sh", "lib": dirPerm, "lib/x.py": filePerm + "x",
	}
	if diff := cmp.Diff(want, snapshot(t, dest)); diff != "" {
		t.Fatalf("tree (-want +got):\n%s", diff)
	}
}

// TestExtractConcurrent runs many Extracts of one package into one
// destination: one wins, the rest return nil, and no temporary directory
// survives.
func TestExtractConcurrent(t *testing.T) {
	var files []file
	for i := range 200 {
		files = append(files, file{name: fmt.Sprintf("d%d/f%d", i%10, i), body: strings.Repeat("x", i)})
	}
	data := zipOf(t, files...)
	parent := t.TempDir()
	dest := filepath.Join(parent, "out")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = Extract(data, dest, Limits{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Extract %d: %v", i, err)
		}
	}
	if got := listDir(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Fatalf("parent holds %q, want only out", got)
	}
	if got := len(snapshot(t, dest)); got != 1+10+200 {
		t.Fatalf("extracted tree has %d paths, want %d", got, 1+10+200)
	}
}

// TestExtractExistingDest leaves an existing destination alone, still
// reporting a bad package.
func TestExtractExistingDest(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "out")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dest, "marker"), []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Extract(zipOf(t, file{name: "new", body: "new"}), dest, Limits{}); err != nil {
		t.Fatalf("Extract onto an existing destination: %v", err)
	}
	wantKind(t, Extract([]byte("junk"), dest, Limits{}), ErrNotZip)
	want := map[string]string{".": dirPerm, "marker": filePerm + "original"}
	if diff := cmp.Diff(want, snapshot(t, dest)); diff != "" {
		t.Fatalf("existing destination changed (-want +got):\n%s", diff)
	}
	if got := listDir(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Fatalf("parent holds %q, want only out", got)
	}
}

func TestExtractBadDestination(t *testing.T) {
	data := zipOf(t, file{name: "a", body: "a"})
	for _, dest := range []string{
		filepath.Join(t.TempDir(), "missing", "out"),
		"/",
		".",
	} {
		t.Run(dest, func(t *testing.T) {
			err := Extract(data, dest, Limits{})
			var ze *Error
			if err == nil || errors.As(err, &ze) {
				t.Fatalf("Extract(%q) = %v, want a server-side error", dest, err)
			}
		})
	}
}

// TestExtractLargeFile streams a file much larger than the copy buffer,
// both deflated and stored.
func TestExtractLargeFile(t *testing.T) {
	body := make([]byte, 1<<20+12345)
	rand.Read(body[:len(body)/2]) // half incompressible, half zeros
	for _, store := range []bool{false, true} {
		t.Run(fmt.Sprint("store=", store), func(t *testing.T) {
			data := zipOf(t, file{name: "big.bin", body: string(body), store: store})
			dest := filepath.Join(t.TempDir(), "out")
			if err := Extract(data, dest, Limits{}); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dest, "big.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Fatal("extracted content differs")
			}
		})
	}
}

// TestZipCLI extracts packages made by Info-ZIP's zip(1), the way users
// build them, in several modes.
func TestZipCLI(t *testing.T) {
	zipBin, err := exec.LookPath("zip")
	if err != nil {
		t.Skip("zip(1) not installed (Debian package zip); CI installs it")
	}
	src := t.TempDir()
	mk := func(rel, body string, mode fs.FileMode) {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("bootstrap", "#!/bin/sh\nexec ./handler\n", 0o755)
	mk("handler.py", "def handler(event, context):\n    return event\n", 0o644)
	mk("pkg/__init__.py", "", 0o644)
	mk("pkg/core/impl.py", strings.Repeat("x = 1\n", 5000), 0o644)
	mk("bin/tool", "#!/bin/sh\n", 0o700)
	if err := os.Mkdir(filepath.Join(src, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"pkg/core/impl.py", "impl"}, {"pkg/core", "core"}, {"../bin/tool", "pkg/tool"}} {
		if err := os.Symlink(l[0], filepath.Join(src, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	wantLinks := map[string]string{
		".":                dirPerm,
		"bootstrap":        execPerm + "#!/bin/sh\nexec ./handler\n",
		"handler.py":       filePerm + "def handler(event, context):\n    return event\n",
		"pkg":              dirPerm,
		"pkg/__init__.py":  filePerm,
		"pkg/core":         dirPerm,
		"pkg/core/impl.py": filePerm + strings.Repeat("x = 1\n", 5000),
		"bin":              dirPerm,
		"bin/tool":         execPerm + "#!/bin/sh\n",
		"empty":            dirPerm,
		"impl":             "link pkg/core/impl.py",
		"core":             "link pkg/core",
		"pkg/tool":         "link ../bin/tool",
	}
	// Without -y, zip stores what the links point to.
	wantFollowed := merged(wantLinks, map[string]string{
		"impl":         wantLinks["pkg/core/impl.py"],
		"core":         dirPerm,
		"core/impl.py": wantLinks["pkg/core/impl.py"],
		"pkg/tool":     wantLinks["bin/tool"],
	})

	tests := []struct {
		name string
		args []string
		pipe bool // write to stdout through a pipe: data descriptors
		want map[string]string
	}{
		{"symlinks kept (-y)", []string{"-r", "-y"}, false, wantLinks},
		{"symlinks followed", []string{"-r"}, false, wantFollowed},
		{"stored (-0)", []string{"-r", "-y", "-0"}, false, wantLinks},
		{"maximum compression (-9)", []string{"-r", "-y", "-9"}, false, wantLinks},
		{"forced zip64 (-fz)", []string{"-r", "-y", "-fz"}, false, wantLinks},
		{"streamed to a pipe", []string{"-r", "-y"}, true, wantLinks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := runZip(t, src, zipBin, tt.pipe, tt.args...)
			check(t, data, Limits{}, nil, tt.want)
		})
	}

	t.Run("streamed from a file on stdin (zip64 local header and descriptor)", func(t *testing.T) {
		in := filepath.Join(t.TempDir(), "in")
		if err := os.WriteFile(in, []byte("from stdin"), 0o644); err != nil {
			t.Fatal(err)
		}
		data := runZipShell(t, src, zipBin, `"$0" -q - - < "$IN" | cat > "$OUT"`, "IN="+in)
		check(t, data, Limits{}, nil, map[string]string{".": dirPerm, "-": filePerm + "from stdin"})
	})
	t.Run("streamed from a pipe: zip records the FIFO type", func(t *testing.T) {
		data := runZipShell(t, src, zipBin, `printf 'from a pipe' | "$0" -q - - | cat > "$OUT"`)
		check(t, data, Limits{}, ErrSpecialFile, nil)
	})
	t.Run("streamed to a pipe with zip64: zip promises a zip64 record it never writes", func(t *testing.T) {
		data := runZip(t, src, zipBin, true, "-r", "-y", "-fz")
		check(t, data, Limits{}, ErrNotZip, nil)
	})
}

// runZip runs zip(1) with args in dir and returns the archive, written to a
// file or, with pipe, streamed to stdout through a pipe.
func runZip(t *testing.T, dir, zipBin string, pipe bool, args ...string) []byte {
	t.Helper()
	if pipe {
		return runZipShell(t, dir, zipBin, `"$0" -q `+strings.Join(args, " ")+` - . | cat > "$OUT"`)
	}
	out := filepath.Join(t.TempDir(), "pkg.zip")
	cmd := exec.Command(zipBin, append(append([]string{"-q"}, args...), out, ".")...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// runZipShell runs script with sh in dir, with $0 set to zip(1) and $OUT to
// the file it must write the archive to, and returns the archive.
func runZipShell(t *testing.T, dir, zipBin, script string, env ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "pkg.zip")
	cmd := exec.Command("sh", "-c", script, zipBin)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "OUT="+out), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// merged returns a copy of base with over's entries added or replaced.
func merged(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}
