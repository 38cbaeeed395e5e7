package codezip

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestZipSlip tries to write outside the destination by name; nothing may
// land in the victim directory next to it.
func TestZipSlip(t *testing.T) {
	for _, name := range []string{
		"../victim/pwned",
		"../../../../../../../../tmp/pwned",
		"a/../../victim/pwned",
		"./../victim/pwned",
		"/victim/pwned",
		`..\victim\pwned`,
		"a/b/c/../../../../victim/pwned",
		"..",
		"../",
	} {
		t.Run(name, func(t *testing.T) {
			body := "pwned"
			if strings.HasSuffix(name, "/") {
				body = ""
			}
			data := zipOf(t, file{name: "ok.txt", body: "fine"}, file{name: name, body: body})
			runAttack(t, data, ErrUnsafePath)
		})
	}
}

// TestSymlinkAttacks covers symbolic links that point out of the package
// and entries written through them.
func TestSymlinkAttacks(t *testing.T) {
	tests := []struct {
		name  string
		files func(victim string) []file
	}{
		{"absolute link then write", func(v string) []file {
			return []file{link("lib", v), {name: "lib/pwned", body: "x"}}
		}},
		{"relative escaping link then write", func(v string) []file {
			return []file{link("lib", "../victim"), {name: "lib/pwned", body: "x"}}
		}},
		{"harmless-looking link then write", func(v string) []file {
			return []file{{name: "real/", mode: fs.ModeDir | 0o755}, link("lib", "real"), {name: "lib/pwned", body: "x"}}
		}},
		{"write first, link later", func(v string) []file {
			return []file{{name: "lib/pwned", body: "x"}, link("lib", v)}
		}},
		{"link to a link that escapes", func(v string) []file {
			return []file{link("a", "b/../.."), link("b", "."), {name: "c", body: "x"}}
		}},
		{"chain of links climbing one level each", func(v string) []file {
			return []file{
				link("d1/d2/d3/l3", "../../l2"), link("d1/l2", "../l1"), link("l1", "../victim"),
			}
		}},
		{"link through a directory link", func(v string) []file {
			return []file{link("sub/parent", ".."), link("x", "sub/parent/../victim")}
		}},
		{"link to its own directory's parent via itself", func(v string) []file {
			return []file{link("d/self", "."), link("d/up", "self/self/self/../../victim")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			victim := filepath.Join(t.TempDir(), "victim")
			data := zipOf(t, tt.files(victim)...)
			runAttack(t, data, ErrUnsafeSymlink)
		})
	}
}

// runAttack extracts data next to a victim directory and checks that it is
// rejected with kind and that the victim stays empty.
func runAttack(t *testing.T, data []byte, kind error) {
	t.Helper()
	_, err := Validate(data, Limits{})
	wantKind(t, err, kind)
	if runtime.GOOS != "linux" {
		return
	}
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.Mkdir(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	parent := filepath.Join(base, "cache")
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	wantKind(t, Extract(data, filepath.Join(parent, "out"), Limits{}), kind)
	if got := listDir(t, victim); len(got) != 0 {
		t.Fatalf("attack wrote %q into the victim directory", got)
	}
	if got := listDir(t, parent); len(got) != 0 {
		t.Fatalf("rejected Extract left %q behind", got)
	}
}

// fifieldBomb builds a non-recursive zip bomb (David Fifield, "A better zip
// bomb", 2019): n entries whose compressed data all end in one shared
// kernel that inflates to kernel zero bytes. Entry i's data quotes entry
// i+1's local header in a stored deflate block and then runs on into entry
// i+1's data, so every entry is valid on its own and each one inflates to
// the kernel plus the headers after it.
func fifieldBomb(t testing.TB, n int, kernel int64) []byte {
	t.Helper()
	k := zeroStream(kernel)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("f%03d", i)
	}
	// Build the local headers from the last to the first: each entry's
	// sizes and CRC depend on the headers after it.
	locals := make([][]byte, n)
	hdrs := make([]hdr, n)
	csize, usize := uint32(len(k)), uint32(kernel)
	for i := n - 1; i >= 0; i-- {
		if i < n-1 {
			csize += 5 + uint32(len(locals[i+1]))
			usize += uint32(len(locals[i+1]))
		}
		c := crc32.NewIEEE()
		for j := i + 1; j < n; j++ {
			c.Write(locals[j])
		}
		crc := crc32.Update(c.Sum32(), crc32.IEEETable, make([]byte, kernel))
		hdrs[i] = hdr{name: names[i], method: zip.Deflate, crc: crc, csize: csize, usize: usize}
		locals[i] = hdrs[i].local()
	}
	var out bytes.Buffer
	for i := range n {
		hdrs[i].offset = uint32(out.Len())
		out.Write(locals[i])
		if i < n-1 {
			l := uint16(len(locals[i+1]))
			out.Write([]byte{0x00, byte(l), byte(l >> 8), ^byte(l), ^byte(l >> 8)})
		}
	}
	out.Write(k)
	cdOff := out.Len()
	for _, h := range hdrs {
		out.Write(h.central())
	}
	out.Write(endRecord(uint16(n), uint32(out.Len()-cdOff), uint32(cdOff)))
	return out.Bytes()
}

func TestOverlapBomb(t *testing.T) {
	const n, kernel = 20, 1 << 20
	data := fifieldBomb(t, n, kernel)

	// The construction is sound: a reader that does not look for overlap
	// (archive/zip) inflates every entry with a good CRC, n times the kernel
	// from a few kilobytes.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		m, err := io.Copy(io.Discard, rc)
		if err != nil {
			t.Fatalf("archive/zip reading %s: %v", f.Name, err)
		}
		total += m
	}
	if total < n*kernel {
		t.Fatalf("bomb inflates to %d bytes, want at least %d", total, n*kernel)
	}
	t.Logf("%d-byte archive inflates to %d bytes through archive/zip", len(data), total)

	check(t, data, Limits{}, ErrBomb, nil)
	_, err = Validate(data, Limits{})
	wantDetail(t, err, "overlaps")
}

// TestSharedLocalHeader points several central directory records at one
// local header, the simplest overlap.
func TestSharedLocalHeader(t *testing.T) {
	k := zeroStream(1 << 20)
	h := hdr{name: "a", method: zip.Deflate, crc: zeroCRC(1 << 20), csize: uint32(len(k)), usize: 1 << 20}
	var out bytes.Buffer
	out.Write(h.local())
	out.Write(k)
	cdOff := out.Len()
	for range 5 {
		out.Write(h.central())
	}
	out.Write(endRecord(5, uint32(out.Len()-cdOff), uint32(cdOff)))
	check(t, out.Bytes(), Limits{}, ErrBomb, nil)
}

// TestOverlapIntoLocalHeader gives an entry a data range that runs over
// the next entry's local header; everything else about the archive is
// valid.
func TestOverlapIntoLocalHeader(t *testing.T) {
	b := hdr{name: "b", crc: crc32.ChecksumIEEE([]byte("bbbb")), csize: 4, usize: 4}
	bl := b.local()
	// a's 8 data bytes are "aaaa" and the first 4 bytes of b's header.
	adata := append([]byte("aaaa"), bl[:4]...)
	a := hdr{name: "a", crc: crc32.ChecksumIEEE(adata), csize: 8, usize: 8}
	var out bytes.Buffer
	out.Write(a.local())
	out.WriteString("aaaa")
	b.offset = uint32(out.Len())
	out.Write(bl)
	out.WriteString("bbbb")
	cdOff := out.Len()
	out.Write(a.central())
	out.Write(b.central())
	out.Write(endRecord(2, uint32(out.Len()-cdOff), uint32(cdOff)))
	check(t, out.Bytes(), Limits{}, ErrBomb, nil)
	_, err := Validate(out.Bytes(), Limits{})
	wantDetail(t, err, "overlaps")
}

// Test42Style nests archives: the outer package holds 16 archives that each
// hold 16 entries of 10 MiB of zeros. Nested archives are never expanded,
// so the package is small and valid, and extracts to the archives
// themselves.
func Test42Style(t *testing.T) {
	const layer, size = 16, 10 << 20
	kernel := raw{
		hdr:  zip.FileHeader{Method: zip.Deflate, CRC32: zeroCRC(size), UncompressedSize64: size},
		data: zeroStream(size),
	}
	kernel.hdr.CompressedSize64 = uint64(len(kernel.data))
	var inner []raw
	for i := range layer {
		e := kernel
		e.hdr.Name = fmt.Sprintf("%d.bin", i)
		inner = append(inner, e)
	}
	innerZip := rawZip(t, inner...)
	var outer []file
	want := map[string]string{".": dirPerm}
	for i := range layer {
		name := fmt.Sprintf("lib%d.zip", i)
		outer = append(outer, file{name: name, body: string(innerZip)})
		want[name] = filePerm + string(innerZip)
	}
	data := zipOf(t, outer...)
	check(t, data, Limits{}, nil, want)
	info, err := Validate(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if info.UnzippedSize != layer*int64(len(innerZip)) {
		t.Fatalf("UnzippedSize = %d, want %d (the nested archives' own size)", info.UnzippedSize, layer*len(innerZip))
	}

	// The same entries flattened into one package exceed the unzipped
	// limit before anything is inflated.
	var flat []raw
	for i := range 2 * layer {
		e := kernel
		e.hdr.Name = fmt.Sprintf("%d.bin", i)
		flat = append(flat, e)
	}
	check(t, rawZip(t, flat...), Limits{}, ErrUnzippedTooLarge, nil)
	// And a lowered MaxRatio rejects one layer by its ratio.
	check(t, innerZip, Limits{MaxRatio: 100}, ErrBomb, nil)
}

// TestZeroStream feeds 250 MB + 1 byte of zeros, honestly declared and with
// lying headers.
func TestZeroStream(t *testing.T) {
	const n = 262144000 + 1
	stream := zeroStream(n)
	crc := zeroCRC(n)
	entry := func(usize uint64) raw {
		return raw{
			hdr:  zip.FileHeader{Name: "zeros", Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(len(stream)), UncompressedSize64: usize},
			data: stream,
		}
	}
	tests := []struct {
		name  string
		usize uint64
		lim   Limits
		kind  error
	}{
		{"honest", n, Limits{}, ErrUnzippedTooLarge},
		{"declares 1000 bytes", 1000, Limits{}, ErrBomb},
		{"declares 1 MiB", 1 << 20, Limits{}, ErrBomb},
		{"declares exactly a lowered limit", 8 << 20, Limits{MaxUnzipped: 8 << 20}, ErrBomb},
		{"declares zero", 0, Limits{}, ErrBomb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, rawZip(t, entry(tt.usize)), tt.lim, tt.kind, nil)
		})
	}
}

// TestLateFailureCleansUp fails on the last file Extract writes, after many
// others are on disk.
func TestLateFailureCleansUp(t *testing.T) {
	var entries []raw
	for i := range 50 {
		entries = append(entries, honest(fmt.Sprintf("dir%d/file%d.txt", i%5, i), []byte(strings.Repeat("x", i*100))))
	}
	bad := honest("zzz/last", []byte("the end"))
	bad.hdr.CRC32 ^= 0xdeadbeef
	entries = append(entries, bad)
	check(t, rawZip(t, entries...), Limits{}, ErrNotZip, nil)
}

// TestEntryCountBomb declares more entries than exist, and has more real
// entries than the default limit.
func TestEntryCountBomb(t *testing.T) {
	t.Run("count larger than the directory", func(t *testing.T) {
		data := zipOf(t, file{name: "a", body: "a"})
		put16(data, len(data)-endLen+8, 0xfffe)
		put16(data, len(data)-endLen+10, 0xfffe)
		check(t, data, Limits{}, ErrNotZip, nil)
	})
	t.Run("more entries than the default limit", func(t *testing.T) {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		for i := range defaultMaxEntries + 1 {
			if _, err := w.CreateRaw(&zip.FileHeader{Name: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		// archive/zip writes zip64 end records for this many entries.
		check(t, buf.Bytes(), Limits{}, ErrBomb, nil)
		// Extracting 65536 files is slow; Validate shows the limit is the
		// only objection.
		info, err := Validate(buf.Bytes(), Limits{MaxEntries: defaultMaxEntries + 1})
		if err != nil || info.Entries != defaultMaxEntries+1 {
			t.Fatalf("Validate = %+v, %v", info, err)
		}
	})
}
