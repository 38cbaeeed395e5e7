package codezip

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

const (
	dirPerm  = "dir -rwxr-xr-x"
	filePerm = "file -rw-r--r-- "
	execPerm = "file -rwxr-xr-x "
)

func TestAccept(t *testing.T) {
	innerZip := zipOf(t, file{name: "inner.txt", body: strings.Repeat("z", 10000)})
	tests := []struct {
		name  string
		files []file
		want  map[string]string
	}{
		{
			name:  "custom runtime bootstrap keeps its exec bit",
			files: []file{{name: "bootstrap", body: "#!/bin/sh\necho hi\n", mode: 0o755}},
			want:  map[string]string{".": dirPerm, "bootstrap": execPerm + "#!/bin/sh\necho hi\n"},
		},
		{
			name:  "missing parent directories are created",
			files: []file{{name: "a/b/c/d.txt", body: "deep"}},
			want: map[string]string{".": dirPerm, "a": dirPerm, "a/b": dirPerm, "a/b/c": dirPerm,
				"a/b/c/d.txt": filePerm + "deep"},
		},
		{
			name: "python package",
			files: []file{
				{name: "lambda_function.py", body: "def handler(e, c):\n    return 1\n", mode: 0o644},
				{name: "requests/", mode: fs.ModeDir | 0o755},
				{name: "requests/__init__.py", body: "", mode: 0o644},
				{name: "requests/api.py", body: "import json\n", mode: 0o644},
				{name: "requests-2.31.0.dist-info/METADATA", body: "Name: requests\n", mode: 0o644},
			},
			want: map[string]string{
				".":                                  dirPerm,
				"lambda_function.py":                 filePerm + "def handler(e, c):\n    return 1\n",
				"requests":                           dirPerm,
				"requests/__init__.py":               filePerm,
				"requests/api.py":                    filePerm + "import json\n",
				"requests-2.31.0.dist-info":          dirPerm,
				"requests-2.31.0.dist-info/METADATA": filePerm + "Name: requests\n",
			},
		},
		{
			name: "node package with a .bin symlink",
			files: []file{
				{name: "index.mjs", body: "export const handler = async () => 1;\n"},
				{name: "node_modules/uuid/package.json", body: "{}"},
				{name: "node_modules/uuid/dist/bin/uuid", body: "#!/usr/bin/env node\n", mode: 0o755},
				{name: "node_modules/.bin/uuid", body: "../uuid/dist/bin/uuid", mode: fs.ModeSymlink | 0o777},
			},
			want: map[string]string{
				".":                               dirPerm,
				"index.mjs":                       filePerm + "export const handler = async () => 1;\n",
				"node_modules":                    dirPerm,
				"node_modules/.bin":               dirPerm,
				"node_modules/.bin/uuid":          "link ../uuid/dist/bin/uuid",
				"node_modules/uuid":               dirPerm,
				"node_modules/uuid/package.json":  filePerm + "{}",
				"node_modules/uuid/dist":          dirPerm,
				"node_modules/uuid/dist/bin":      dirPerm,
				"node_modules/uuid/dist/bin/uuid": execPerm + "#!/usr/bin/env node\n",
			},
		},
		{
			name: "relative symlinks that stay inside, through chains, to dirs, dangling and to the root",
			files: []file{
				{name: "lib/v1/x.so", body: "elf"},
				{name: "lib/current", body: "v1", mode: fs.ModeSymlink | 0o777},
				{name: "x.so", body: "lib/current/x.so", mode: fs.ModeSymlink | 0o777},
				{name: "lib/v1/up", body: "../../lib", mode: fs.ModeSymlink | 0o777},
				{name: "lib/v1/again", body: "up/current/up/current/x.so", mode: fs.ModeSymlink | 0o777},
				{name: "root", body: ".", mode: fs.ModeSymlink | 0o777},
				{name: "self-root", body: "root/root/lib/..", mode: fs.ModeSymlink | 0o777},
				{name: "dangling", body: "missing/../x.so/..", mode: fs.ModeSymlink | 0o777},
				// Physically deep/er/../.. is the root: the kernel takes ".."
				// from where a link leads, not lexically.
				{name: "deep/er/f", body: "f"},
				{name: "top", body: "deep/er", mode: fs.ModeSymlink | 0o777},
				{name: "phys", body: "top/../../deep", mode: fs.ModeSymlink | 0o777},
			},
			want: map[string]string{
				".":            dirPerm,
				"lib":          dirPerm,
				"lib/v1":       dirPerm,
				"lib/v1/x.so":  filePerm + "elf",
				"lib/current":  "link v1",
				"x.so":         "link lib/current/x.so",
				"lib/v1/up":    "link ../../lib",
				"lib/v1/again": "link up/current/up/current/x.so",
				"root":         "link .",
				"self-root":    "link root/root/lib/..",
				"dangling":     "link missing/../x.so/..",
				"deep":         dirPerm,
				"deep/er":      dirPerm,
				"deep/er/f":    filePerm + "f",
				"top":          "link deep/er",
				"phys":         "link top/../../deep",
			},
		},
		{
			name: "setuid, setgid, sticky and group/other write bits are dropped",
			files: []file{
				{name: "suid", body: "s", mode: fs.ModeSetuid | fs.ModeSetgid | 0o777},
				{name: "user-exec-only", body: "u", mode: 0o700},
				{name: "group-exec-only", body: "g", mode: 0o654},
				{name: "world-writable", body: "w", mode: 0o666},
				{name: "sticky/", mode: fs.ModeDir | fs.ModeSticky | 0o777},
				{name: "private/", mode: fs.ModeDir | 0o700},
			},
			want: map[string]string{
				".":               dirPerm,
				"suid":            execPerm + "s",
				"user-exec-only":  execPerm + "u",
				"group-exec-only": filePerm + "g",
				"world-writable":  filePerm + "w",
				"sticky":          dirPerm,
				"private":         dirPerm,
			},
		},
		{
			name: "names are cleaned of . and empty components",
			files: []file{
				{name: "./", mode: fs.ModeDir | 0o755},
				{name: "./handler.py", body: "h"},
				{name: "a//b/./c", body: "c"},
				{name: "d/.", body: "dot"},
			},
			want: map[string]string{
				".": dirPerm, "handler.py": filePerm + "h", "a": dirPerm, "a/b": dirPerm,
				"a/b/c": filePerm + "c", "d": filePerm + "dot",
			},
		},
		{
			name: "stored, empty and non-ASCII entries",
			files: []file{
				{name: "stored.bin", body: "\x00\x01\x02\xff", store: true},
				{name: "empty", body: ""},
				{name: "empty-stored", body: "", store: true},
				{name: "données/文件.txt", body: "ü"},
				{name: "spaces and : colons", body: "ok"},
			},
			want: map[string]string{
				".": dirPerm, "stored.bin": filePerm + "\x00\x01\x02\xff", "empty": filePerm,
				"empty-stored": filePerm, "données": dirPerm, "données/文件.txt": filePerm + "ü",
				"spaces and : colons": filePerm + "ok",
			},
		},
		{
			name:  "nested archives are files, never expanded",
			files: []file{{name: "layer.zip", body: string(innerZip)}},
			want:  map[string]string{".": dirPerm, "layer.zip": filePerm + string(innerZip)},
		},
		{
			name:  "an archive with no entries",
			files: nil,
			want:  map[string]string{".": dirPerm},
		},
		{
			name: "explicit directory after its contents",
			files: []file{
				{name: "d/f", body: "f"},
				{name: "d/", mode: fs.ModeDir | 0o755},
			},
			want: map[string]string{".": dirPerm, "d": dirPerm, "d/f": filePerm + "f"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, zipOf(t, tt.files...), Limits{}, nil, tt.want)
		})
	}
}

// chain returns n links, each to the next, ending at a file; reversed lists
// them last link first.
func chain(n int, reversed bool) []file {
	files := []file{{name: "end", body: "end"}}
	for i := range n {
		next := "end"
		if i+1 < n {
			next = fmt.Sprintf("l%d", i+1)
		}
		files = append(files, link(fmt.Sprintf("l%d", i), next))
	}
	if reversed {
		slices.Reverse(files)
	}
	return files
}

// TestSymlinkChainLimit follows Linux: resolving a path may follow at most
// 40 links. The limit holds whichever link is checked first.
func TestSymlinkChainLimit(t *testing.T) {
	for _, reversed := range []bool{false, true} {
		t.Run(fmt.Sprint("reversed=", reversed), func(t *testing.T) {
			check(t, zipOf(t, chain(40, reversed)...), Limits{}, nil, nil)
			check(t, zipOf(t, chain(41, reversed)...), Limits{}, ErrUnsafeSymlink, nil)
		})
	}
	// Links along one path add up, even when none is long on its own.
	var files []file
	for i := range 7 {
		// d/a<i> -> ../d/a<i-1>/../a<i-1>: each link follows its
		// predecessor twice.
		target := "x"
		if i > 0 {
			target = fmt.Sprintf("a%d/../a%d", i-1, i-1)
		}
		files = append(files, link(fmt.Sprintf("d/a%d", i), target))
	}
	files = append(files, file{name: "d/x/f", body: "f"})
	check(t, zipOf(t, files[:5]...), Limits{}, nil, nil)
	check(t, zipOf(t, files...), Limits{}, ErrUnsafeSymlink, nil)
}

func TestValidateInfo(t *testing.T) {
	data := zipOf(t,
		file{name: "a/", mode: fs.ModeDir | 0o755},
		file{name: "a/b", body: "hello"},
		file{name: "l", body: "a/b", mode: fs.ModeSymlink | 0o777},
	)
	info, err := Validate(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if info.Entries != 3 || info.UnzippedSize != int64(len("hello")+len("a/b")) || info.Size != int64(len(data)) {
		t.Fatalf("info = %+v", info)
	}
	// Known answer: base64 of the SHA-256 of "abc".
	abc := Info{SHA256: [32]byte{0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad}}
	if got, want := abc.CodeSha256(), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="; got != want {
		t.Fatalf("CodeSha256 = %q, want %q", got, want)
	}
}

func TestLimitsDefaults(t *testing.T) {
	d := DefaultLimits()
	if d.MaxZipped != 52428800 || d.MaxUnzipped != 262144000 || d.MaxEntries != 65535 || d.MaxRatio != 1032 {
		t.Fatalf("DefaultLimits() = %+v", d)
	}
	if got := (Limits{MaxZipped: -1, MaxUnzipped: 0, MaxEntries: -5, MaxRatio: 0}).withDefaults(); got != d {
		t.Fatalf("zero and negative limits = %+v, want defaults", got)
	}
}

func link(name, target string) file {
	return file{name: name, body: target, mode: fs.ModeSymlink | 0o777}
}

func TestReject(t *testing.T) {
	long := strings.Repeat("n", 256)
	tests := []struct {
		name  string
		files []file
		lim   Limits
		kind  error
	}{
		// Unsafe paths.
		{"absolute name", []file{{name: "/etc/passwd", body: "x"}}, Limits{}, ErrUnsafePath},
		{"dot-dot", []file{{name: "../evil", body: "x"}}, Limits{}, ErrUnsafePath},
		{"dot-dot deeper", []file{{name: "a/b/../../../evil", body: "x"}}, Limits{}, ErrUnsafePath},
		{"dot-dot that stays inside", []file{{name: "a/../b", body: "x"}}, Limits{}, ErrUnsafePath},
		{"trailing dot-dot dir", []file{{name: "a/../", mode: fs.ModeDir | 0o755}}, Limits{}, ErrUnsafePath},
		{"backslash", []file{{name: `..\evil`, body: "x"}}, Limits{}, ErrUnsafePath},
		{"backslash inside", []file{{name: `a\b`, body: "x"}}, Limits{}, ErrUnsafePath},
		{"NUL byte", []file{{name: "a\x00b", body: "x"}}, Limits{}, ErrUnsafePath},
		{"newline", []file{{name: "a\nb", body: "x"}}, Limits{}, ErrUnsafePath},
		{"DEL", []file{{name: "a\x7fb", body: "x"}}, Limits{}, ErrUnsafePath},
		{"escape sequence", []file{{name: "\x1b[31mred", body: "x"}}, Limits{}, ErrUnsafePath},
		{"empty name", []file{{name: "", body: "x"}}, Limits{}, ErrUnsafePath},
		{"file named dot", []file{{name: ".", body: "x"}}, Limits{}, ErrUnsafePath},
		{"file named ./", []file{{name: "./.", body: "x"}}, Limits{}, ErrUnsafePath},
		{"duplicate", []file{{name: "a", body: "1"}, {name: "a", body: "2"}}, Limits{}, ErrUnsafePath},
		{"duplicate dirs", []file{{name: "d/", mode: fs.ModeDir | 0o755}, {name: "d//", mode: fs.ModeDir | 0o755}}, Limits{}, ErrUnsafePath},
		{"double slash collision", []file{{name: "a/b", body: "1"}, {name: "a//b", body: "2"}}, Limits{}, ErrUnsafePath},
		{"dot collision", []file{{name: "a/b", body: "1"}, {name: "a/./b", body: "2"}}, Limits{}, ErrUnsafePath},
		{"dir and file of one name", []file{{name: "a/", mode: fs.ModeDir | 0o755}, {name: "a", body: "2"}}, Limits{}, ErrUnsafePath},
		{"file then entry under it", []file{{name: "a", body: "1"}, {name: "a/b", body: "2"}}, Limits{}, ErrUnsafePath},
		{"entry then file over its dir", []file{{name: "a/b", body: "1"}, {name: "a", body: "2"}}, Limits{}, ErrUnsafePath},
		{"component too long", []file{{name: long, body: "x"}}, Limits{}, ErrUnsafePath},
		{"too deep", []file{{name: strings.Repeat("d/", maxDepth) + "f", body: "x"}}, Limits{}, ErrUnsafePath},
		{"name too long", []file{{name: strings.Repeat("abcdefg/", 600) + "f", body: "x"}}, Limits{}, ErrUnsafePath},

		// Unsafe symbolic links.
		{"absolute target", []file{link("l", "/etc/passwd")}, Limits{}, ErrUnsafeSymlink},
		{"target escapes", []file{link("l", "../outside")}, Limits{}, ErrUnsafeSymlink},
		{"target escapes from a subdirectory", []file{link("a/b/l", "../../../outside")}, Limits{}, ErrUnsafeSymlink},
		{"target leaves and comes back", []file{{name: "a/x", body: "x"}, link("a/l", "../../a/x")}, Limits{}, ErrUnsafeSymlink},
		{"target is the parent of the root", []file{link("l", "..")}, Limits{}, ErrUnsafeSymlink},
		{"chain escapes via a directory link", []file{
			link("sub/up", ".."), link("esc", "sub/up/.."),
		}, Limits{}, ErrUnsafeSymlink},
		{"chain escapes via a link to a link", []file{
			link("a/b/c", "../d"), link("a/d", ".."), link("x", "a/b/c/../.."),
		}, Limits{}, ErrUnsafeSymlink},
		{"dot-dot after a link goes to the target's parent", []file{
			{name: "deep/f", body: "f"}, link("top", "deep"), link("x", "top/../../deep"),
		}, Limits{}, ErrUnsafeSymlink},
		{"loop", []file{link("a", "b"), link("b", "a")}, Limits{}, ErrUnsafeSymlink},
		{"self loop", []file{link("a", "a")}, Limits{}, ErrUnsafeSymlink},
		{"loop through a directory", []file{link("d/l", "../d/l/x")}, Limits{}, ErrUnsafeSymlink},
		{"empty target", []file{link("l", "")}, Limits{}, ErrUnsafeSymlink},
		{"NUL in target", []file{link("l", "a\x00b")}, Limits{}, ErrUnsafeSymlink},
		{"backslash target", []file{link("l", `..\..\etc`)}, Limits{}, ErrUnsafeSymlink},
		{"newline in target", []file{link("l", "a\nb")}, Limits{}, ErrUnsafeSymlink},
		{"target too long", []file{link("l", strings.Repeat("a/", 2048))}, Limits{}, ErrUnsafeSymlink},
		{"symlink with a directory name", []file{link("l/", "")}, Limits{}, ErrUnsafeSymlink},
		{"write through an outside link", []file{link("lib", "/etc"), {name: "lib/passwd", body: "root::0:0"}}, Limits{}, ErrUnsafeSymlink},
		{"write through an inside link", []file{{name: "real/", mode: fs.ModeDir | 0o755}, link("lib", "real"), {name: "lib/x", body: "x"}}, Limits{}, ErrUnsafeSymlink},
		{"write through a link declared later", []file{{name: "lib/passwd", body: "x"}, link("lib", "/etc")}, Limits{}, ErrUnsafeSymlink},
		{"write through a link declared later, inside", []file{{name: "lib/sub/passwd", body: "x"}, link("lib", ".")}, Limits{}, ErrUnsafeSymlink},
		{"link over a file", []file{{name: "a", body: "x"}, link("a", "b")}, Limits{}, ErrUnsafePath},

		// Special files.
		{"FIFO", []file{{name: "fifo", mode: fs.ModeNamedPipe | 0o644}}, Limits{}, ErrSpecialFile},
		{"block device", []file{{name: "sda", mode: fs.ModeDevice | 0o644}}, Limits{}, ErrSpecialFile},
		{"character device", []file{{name: "null", mode: fs.ModeDevice | fs.ModeCharDevice | 0o666}}, Limits{}, ErrSpecialFile},
		{"socket", []file{{name: "sock", mode: fs.ModeSocket | 0o777}}, Limits{}, ErrSpecialFile},

		// Limits.
		{"zipped too large", []file{{name: "a", body: "x"}}, Limits{MaxZipped: 50}, ErrTooLarge},
		{"unzipped too large", []file{{name: "a", body: "12345"}, {name: "b", body: "123456"}}, Limits{MaxUnzipped: 10}, ErrUnzippedTooLarge},
		{"too many entries", []file{{name: "a"}, {name: "b"}, {name: "c"}, {name: "d/", mode: fs.ModeDir | 0o755}}, Limits{MaxEntries: 3}, ErrBomb},
		{"ratio above a lowered limit", []file{{name: "zeros", body: strings.Repeat("\x00", 2<<20)}}, Limits{MaxRatio: 100}, ErrBomb},

		// Not a zip archive in substance.
		{"directory with data", []file{{name: "d", body: "data", mode: fs.ModeDir | 0o755}}, Limits{}, ErrNotZip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, zipOf(t, tt.files...), tt.lim, tt.kind, nil)
		})
	}
}

// TestLimitsAreInclusive shows that a package exactly at each limit passes.
func TestLimitsAreInclusive(t *testing.T) {
	data := zipOf(t, file{name: "a", body: "12345"}, file{name: "b", body: "67890"})
	check(t, data, Limits{MaxZipped: int64(len(data)), MaxUnzipped: 10, MaxEntries: 2}, nil, nil)
	zeros := zipOf(t, file{name: "zeros", body: strings.Repeat("\x00", 2<<20)})
	if _, err := Validate(zeros, Limits{}); err != nil {
		t.Fatalf("default MaxRatio rejected an honest deflate ratio: %v", err)
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		message string
		text    string
	}{
		{
			name:    "AWS's unzip text",
			data:    []byte("this is definitely not a zip archive"),
			message: "Could not unzip uploaded file. Please check your file, then try to upload again. (end of central directory record not found)",
			text:    "codezip: not a valid zip archive: end of central directory record not found",
		},
		{
			name:    "AWS's unzipped size text",
			data:    rawZip(t, raw{hdr: zip.FileHeader{Name: "big", Method: zip.Deflate, UncompressedSize64: 262144001, CompressedSize64: 300000}, data: make([]byte, 300000)}),
			message: "Unzipped size must be smaller than 262144000 bytes",
			text:    "codezip: unzipped package too large: entries' declared sizes add up to more than the limit of 262144000 bytes",
		},
		{
			name:    "zipped size",
			data:    zipOf(t, file{name: "a", body: "x"}),
			lim:     Limits{MaxZipped: 10},
			message: "Zipped size must be smaller than 10 bytes",
		},
		{
			name:    "entry named and escaped",
			data:    zipOf(t, file{name: "../\x1b[2J\u202eevil", body: "x"}),
			message: `The deployment package has an entry with an unsafe path. (entry "../\x1b[2J\u202eevil": name contains a control character)`,
			text:    `codezip: unsafe entry path: entry "../\x1b[2J\u202eevil": name contains a control character`,
		},
		{
			name:    "entry name cut to 200 bytes",
			data:    zipOf(t, file{name: strings.Repeat("é", 300) + "/../x", body: "x"}),
			message: `The deployment package has an entry with an unsafe path. (entry "` + strings.Repeat("é", 100) + `"...: path component is longer than 255 bytes)`,
		},
		{
			name:    "invalid UTF-8 is escaped",
			data:    zipOf(t, file{name: "\xff\xfe/../x", body: "x"}),
			message: `The deployment package has an entry with an unsafe path. (entry "\xff\xfe/../x": name contains "..")`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(tt.data, tt.lim)
			var ze *Error
			if !errors.As(err, &ze) {
				t.Fatalf("Validate = %v, want an *Error", err)
			}
			if got := ze.Message(); got != tt.message {
				t.Errorf("Message() = %q\nwant        %q", got, tt.message)
			}
			if tt.text != "" && err.Error() != tt.text {
				t.Errorf("Error() = %q\nwant      %q", err.Error(), tt.text)
			}
			if len(ze.Entry) > maxQuoted {
				t.Errorf("Entry holds %d bytes of the name, more than %d", len(ze.Entry), maxQuoted)
			}
		})
	}
}

// TestNoAttackerBytesInDetail makes sure details are fixed text: a name full
// of markers never shows up outside the quoted entry.
func TestNoAttackerBytesInDetail(t *testing.T) {
	marker := "MARKER"
	for _, data := range [][]byte{
		zipOf(t, link("l", "/"+marker)),
		zipOf(t, file{name: marker + "/../x", body: marker}),
		rawZip(t, raw{hdr: zip.FileHeader{Name: marker, Method: zip.Deflate, CRC32: 1, UncompressedSize64: 3, CompressedSize64: 5}, data: deflateBytes([]byte("abc"))}),
	} {
		_, err := Validate(data, Limits{})
		var ze *Error
		if !errors.As(err, &ze) {
			t.Fatalf("Validate = %v, want an *Error", err)
		}
		if strings.Contains(ze.Detail, marker) {
			t.Errorf("detail %q contains archive bytes", ze.Detail)
		}
	}
}

func TestCRCAndSizeLies(t *testing.T) {
	body := []byte(strings.Repeat("lambda ", 1000))
	good := honest("f", body)
	tests := []struct {
		name string
		edit func(h *zip.FileHeader)
		data []byte
		kind error
	}{
		{"honest", func(h *zip.FileHeader) {}, nil, nil},
		{"bad CRC", func(h *zip.FileHeader) { h.CRC32 ^= 1 }, nil, ErrNotZip},
		{"declared size too small: inflates past it", func(h *zip.FileHeader) { h.UncompressedSize64 = 100 }, nil, ErrBomb},
		{"declared size too large: inflates short", func(h *zip.FileHeader) { h.UncompressedSize64 += 1 }, nil, ErrNotZip},
		{"corrupt deflate data", func(h *zip.FileHeader) {}, bytes.Repeat([]byte{0xff}, len(good.data)), ErrNotZip},
		{"truncated deflate data", func(h *zip.FileHeader) { h.CompressedSize64 = 10 }, good.data[:10], ErrNotZip},
		{"unsupported method (bzip2)", func(h *zip.FileHeader) { h.Method = 12 }, nil, ErrNotZip},
		{"unsupported method (deflate64)", func(h *zip.FileHeader) { h.Method = 9 }, nil, ErrNotZip},
		{"traditional encryption", func(h *zip.FileHeader) { h.Flags |= flagEncrypted }, nil, ErrNotZip},
		{"strong encryption", func(h *zip.FileHeader) { h.Flags |= flagStrongEnc }, nil, ErrNotZip},
		{"stored with sizes that differ", func(h *zip.FileHeader) {
			h.Method = zip.Store
			h.UncompressedSize64 = uint64(len(body))
		}, nil, ErrNotZip},
		{"no compressed bytes for 2 MiB", func(h *zip.FileHeader) {
			h.CompressedSize64, h.UncompressedSize64 = 0, 2<<20
		}, []byte{}, ErrBomb},
		{"declared ratio no deflate stream can reach", func(h *zip.FileHeader) {
			h.UncompressedSize64 = 200 << 20
		}, nil, ErrBomb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good
			tt.edit(&e.hdr)
			if tt.data != nil {
				e.data = tt.data
			}
			for _, descriptor := range []bool{false, true} {
				h := e
				if descriptor {
					h.hdr.Flags |= flagDescriptor
				}
				check(t, rawZip(t, h), Limits{}, tt.kind, nil)
			}
		})
	}
}

// TestBudgetBackstop shows that the unzipped budget stops inflation on its
// own, before writing a byte past it, even if the declared sizes were not
// checked first.
func TestBudgetBackstop(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 10000)
	for _, store := range []bool{false, true} {
		t.Run(fmt.Sprint("store=", store), func(t *testing.T) {
			data := zipOf(t, file{name: "f", body: string(body), store: store})
			entries, err := parseArchive(data, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			b := budget{left: 1000}
			wantKind(t, copyEntry(data, &entries[0], &out, &b), ErrBomb)
			if out.Len() > 1000 {
				t.Fatalf("wrote %d bytes past a budget of 1000", out.Len())
			}
			out.Reset()
			b = budget{left: int64(len(body))}
			if err := copyEntry(data, &entries[0], &out, &b); err != nil || !bytes.Equal(out.Bytes(), body) || b.left != 0 {
				t.Fatalf("exact budget: err %v, %d bytes, %d left", err, out.Len(), b.left)
			}
		})
	}
}
