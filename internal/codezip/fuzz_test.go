package codezip

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the generated fuzz seeds in testdata/fuzz/FuzzValidate")

// fuzzLimits keep each fuzz iteration small: an input of a few kilobytes can
// still declare, and deflate can still produce, far more.
var fuzzLimits = Limits{MaxUnzipped: 16 << 20, MaxEntries: 4096}

// FuzzValidate checks that Validate never panics or misbehaves on any input,
// that its rejections are well-formed, and that whatever it accepts Extract
// also accepts, producing a tree that stays inside the destination.
func FuzzValidate(f *testing.F) {
	// The seed corpus lives in testdata/fuzz/FuzzValidate (see
	// TestFuzzSeeds); go test runs it as part of the normal test run.
	f.Fuzz(validateThenExtract)
}

// FuzzTree fuzzes names, types and link targets rather than archive bytes,
// which random mutation rarely turns into a zip with valid checksums. Each
// line of spec is one entry: a type letter (f file, x executable, d
// directory, l link), the name, and for links "=" and the target.
func FuzzTree(f *testing.F) {
	f.Fuzz(func(t *testing.T, spec string) {
		var files []file
		for line := range strings.Lines(spec) {
			line = strings.TrimSuffix(line, "\n")
			if len(files) == 64 || len(line) < 1 || len(line) > 4200 {
				break
			}
			kind, rest := line[0], line[1:]
			e := file{name: rest, body: "body of " + rest}
			switch kind {
			case 'x':
				e.mode = 0o755
			case 'd':
				e.mode, e.body = fs.ModeDir|0o755, ""
			case 'l':
				name, target, _ := strings.Cut(rest, "=")
				e = link(name, target)
			}
			if strings.HasSuffix(e.name, "/") {
				e.body = "" // archive/zip writes no data for directory names
			}
			files = append(files, e)
		}
		validateThenExtract(t, zipOf(t, files...))
	})
}

// validateThenExtract is the property both fuzzers check.
func validateThenExtract(t *testing.T, data []byte) {
	info, err := Validate(data, fuzzLimits)
	if err != nil {
		checkRejection(t, err)
		return
	}
	if info.Size != int64(len(data)) || info.UnzippedSize > fuzzLimits.MaxUnzipped || info.Entries > fuzzLimits.MaxEntries {
		t.Fatalf("Validate info %+v out of bounds", info)
	}
	if runtime.GOOS != "linux" {
		return
	}
	parent := t.TempDir()
	dest := filepath.Join(parent, "out")
	if err := Extract(data, dest, fuzzLimits); err != nil {
		t.Fatalf("Validate accepted what Extract rejects: %v", err)
	}
	if got := listDir(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Fatalf("Extract left %q next to the destination", got)
	}
	if size := checkInside(t, dest); size != info.UnzippedSize {
		t.Fatalf("extracted %d bytes of files and link targets, Validate counted %d", size, info.UnzippedSize)
	}
}

// checkRejection holds a rejection to the package's error contract.
func checkRejection(t *testing.T, err error) {
	t.Helper()
	var ze *Error
	if !errors.As(err, &ze) {
		t.Fatalf("Validate returned %v, not an *Error", err)
	}
	known := false
	for _, k := range []error{ErrNotZip, ErrTooLarge, ErrUnzippedTooLarge, ErrUnsafePath, ErrUnsafeSymlink, ErrSpecialFile, ErrBomb} {
		known = known || ze.Kind == k
	}
	if !known {
		t.Fatalf("rejection kind %v is not a sentinel", ze.Kind)
	}
	if len(ze.Entry) > maxQuoted {
		t.Fatalf("error carries %d bytes of an entry name", len(ze.Entry))
	}
	for _, s := range []string{ze.Message(), err.Error()} {
		if len(s) > 4*maxQuoted+400 {
			t.Fatalf("error text is %d bytes long", len(s))
		}
		if !utf8.ValidString(s) {
			t.Fatalf("error text %q is not valid UTF-8", s)
		}
		for _, r := range s {
			if !strconv.IsPrint(r) {
				t.Fatalf("error text %q holds an unescaped non-printable character", s)
			}
		}
	}
}

// checkInside walks an extracted tree without following links, checks every
// entry's type and mode, and resolves every symbolic link with os.Root,
// which refuses any resolution that leaves the root. It returns the total
// size of files and link targets.
func checkInside(t *testing.T, dest string) int64 {
	t.Helper()
	root, err := os.OpenRoot(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var size int64
	err = filepath.WalkDir(dest, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dest, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		switch {
		case mode.IsDir():
			if mode.Perm() != 0o755 || mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
				return fmt.Errorf("%s: directory mode %v", rel, mode)
			}
		case mode.IsRegular():
			if p := mode.Perm(); (p != 0o644 && p != 0o755) || mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
				return fmt.Errorf("%s: file mode %v", rel, mode)
			}
			size += info.Size()
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if filepath.IsAbs(target) {
				return fmt.Errorf("%s: absolute link target", rel)
			}
			size += int64(len(target))
			if _, err := root.Stat(rel); err != nil && !errors.Is(err, fs.ErrNotExist) &&
				!errors.Is(err, syscall.ENOTDIR) && !errors.Is(err, syscall.ELOOP) && !errors.Is(err, syscall.ENAMETOOLONG) {
				return fmt.Errorf("%s: link does not resolve inside the root: %w", rel, err)
			}
		default:
			return fmt.Errorf("%s: unexpected type %v", rel, mode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return size
}

// fuzzSeeds are the generated seeds: valid packages of every shape the
// package accepts and near-misses of each rejection.
func fuzzSeeds(t testing.TB) map[string][]byte {
	var multi []file
	for i := range 8 {
		multi = append(multi, file{name: fmt.Sprintf("d%d/f%d", i%3, i), body: strings.Repeat("ab", i*10)})
	}
	lie := honest("lie", []byte("lying sizes"))
	lie.hdr.UncompressedSize64 = 5
	desc := honest("desc", []byte("with a descriptor"))
	desc.hdr.Flags |= flagDescriptor
	var commented bytes.Buffer
	w := zip.NewWriter(&commented)
	w.SetComment("comment")
	fw, _ := w.Create("a")
	fw.Write([]byte("a"))
	w.Close()

	return map[string][]byte{
		"empty-archive":   endRecord(0, 0, 0),
		"one-file":        zipOf(t, file{name: "index.js", body: "exports.handler = async () => 1;\n"}),
		"stored":          zipOf(t, file{name: "s", body: "stored bytes", store: true}),
		"bootstrap-exec":  zipOf(t, file{name: "bootstrap", body: "#!/bin/sh\n", mode: 0o755}),
		"tree":            zipOf(t, multi...),
		"dirs":            zipOf(t, file{name: "a/", mode: fs.ModeDir | 0o755}, file{name: "a/b/", mode: fs.ModeDir | 0o755}, file{name: "a/b/c", body: "c"}),
		"symlinks":        zipOf(t, file{name: "lib/v1/x", body: "x"}, link("lib/cur", "v1"), link("x", "lib/cur/x"), link("up", "lib/cur/../..")),
		"symlink-escape":  zipOf(t, link("sub/up", ".."), link("esc", "sub/up/..")),
		"symlink-loop":    zipOf(t, link("a", "b"), link("b", "a")),
		"write-through":   zipOf(t, link("lib", "/etc"), file{name: "lib/passwd", body: "x"}),
		"zip-slip":        zipOf(t, file{name: "../evil", body: "x"}),
		"duplicate":       zipOf(t, file{name: "a/b", body: "1"}, file{name: "a//b", body: "2"}),
		"fifo":            zipOf(t, file{name: "p", mode: fs.ModeNamedPipe | 0o644}),
		"setuid":          zipOf(t, file{name: "s", body: "s", mode: fs.ModeSetuid | 0o755}),
		"lying-size":      rawZip(t, lie),
		"descriptor-less": rawZip(t, honest("plain", []byte("no data descriptor"))),
		"descriptor-raw":  rawZip(t, desc),
		"zip64":           newZ64([]byte("zip64")).bytes(),
		"overlap":         fifieldBomb(t, 3, 4096),
		"comment":         commented.Bytes(),
		"nested-zip":      zipOf(t, file{name: "inner.zip", body: string(zipOf(t, file{name: "x", body: "x"}))}),
	}
}

// treeSeeds are the generated seeds for FuzzTree.
var treeSeeds = map[string]string{
	"python":        "flambda_function.py\ndrequests/\nfrequests/__init__.py\nfrequests/api.py\n",
	"bootstrap":     "xbootstrap\nfsrc/main.go\n",
	"node-bin":      "findex.js\nxnode_modules/uuid/bin/uuid\nlnode_modules/.bin/uuid=../uuid/bin/uuid\n",
	"chain":         "flib/v1/x\nllib/cur=v1\nlx=lib/cur/x\nlup=lib/cur/../..\n",
	"physical-dots": "fdeep/er/f\nltop=deep/er\nlphys=top/../../deep\n",
	"escape":        "lsub/up=..\nlesc=sub/up/..\n",
	"loop":          "la=b\nlb=a\n",
	"through":       "llib=real\ndreal/\nflib/x\n",
	"slip":          "f../evil\nf/abs\nfa\\b\n",
	"collide":       "fa/b\nfa//b\nfa/./b\n",
	"dangling":      "ldangling=missing/../x\nfx\n",
}

// TestFuzzSeeds keeps testdata/fuzz in step with fuzzSeeds and treeSeeds;
// run with -update to rewrite it.
func TestFuzzSeeds(t *testing.T) {
	want := map[string]string{}
	for name, data := range fuzzSeeds(t) {
		want[filepath.Join("FuzzValidate", "seed-"+name)] = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	}
	for name, spec := range treeSeeds {
		want[filepath.Join("FuzzTree", "seed-"+name)] = fmt.Sprintf("go test fuzz v1\nstring(%q)\n", spec)
	}
	for rel, content := range want {
		path := filepath.Join("testdata", "fuzz", rel)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestFuzzSeeds -update)", err)
		}
		if string(got) != content {
			t.Errorf("%s is stale (run go test -run TestFuzzSeeds -update)", path)
		}
	}
}
