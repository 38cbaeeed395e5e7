package codezip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// file is one entry for zipOf. A zero mode leaves the entry's attributes
// MS-DOS style (no Unix mode); otherwise it is set with FileHeader.SetMode.
type file struct {
	name  string
	body  string
	mode  fs.FileMode
	store bool // zip.Store instead of zip.Deflate
}

// fixedTime keeps the archives the tests build byte-for-byte reproducible.
var fixedTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// zipOf builds a package with archive/zip: data descriptors, deflate by
// default.
func zipOf(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: fixedTime}
		if f.store {
			h.Method = zip.Store
		}
		if f.mode != 0 {
			h.SetMode(f.mode)
		}
		fw, err := w.CreateHeader(h)
		if err != nil {
			t.Fatalf("create %q: %v", f.name, err)
		}
		if _, err := fw.Write([]byte(f.body)); err != nil {
			t.Fatalf("write %q: %v", f.name, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// raw is one entry for rawZip: the header is written as given (CRC and
// sizes included, so they may lie) and data is the compressed bytes.
type raw struct {
	hdr  zip.FileHeader
	data []byte
}

// rawZip builds an archive from pre-compressed entries with
// zip.Writer.CreateRaw.
func rawZip(t testing.TB, entries ...raw) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.Modified.IsZero() {
			h.Modified = fixedTime
		}
		fw, err := w.CreateRaw(&h)
		if err != nil {
			t.Fatalf("create %q: %v", h.Name, err)
		}
		if _, err := fw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// honest returns a raw deflated entry whose header tells the truth.
func honest(name string, body []byte) raw {
	return raw{
		hdr: zip.FileHeader{
			Name:               name,
			Method:             zip.Deflate,
			CRC32:              crc32.ChecksumIEEE(body),
			CompressedSize64:   uint64(len(deflateBytes(body))),
			UncompressedSize64: uint64(len(body)),
		},
		data: deflateBytes(body),
	}
}

func deflateBytes(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// zeroStream returns a deflate stream that inflates to n zero bytes, built
// without compressing n bytes: one sync-flushed block for a 1 MiB run of
// zeros is repeated (its back-references only reach zeros), then the rest and
// a final block are appended.
func zeroStream(n int64) []byte {
	const chunk = 1 << 20
	block := func(size int) []byte {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(make([]byte, size))
		w.Flush()
		return buf.Bytes()
	}
	one := block(chunk)
	var out bytes.Buffer
	for ; n >= chunk; n -= chunk {
		out.Write(one)
	}
	if n > 0 {
		out.Write(block(int(n)))
	}
	out.Write([]byte{0x03, 0x00}) // final, empty fixed-Huffman block
	return out.Bytes()
}

// zeroCRC returns the CRC-32 of n zero bytes.
func zeroCRC(n int64) uint32 {
	zeros := make([]byte, 1<<20)
	var c uint32
	for ; n > 0; n -= int64(len(zeros)) {
		c = crc32.Update(c, crc32.IEEETable, zeros[:min(n, int64(len(zeros)))])
	}
	return c
}

// cdRecords returns the offsets of the central directory records of a
// simple (non-zip64, comment-free) archive.
func cdRecords(t testing.TB, data []byte) []int {
	t.Helper()
	end := len(data) - endLen
	if binary.LittleEndian.Uint32(data[end:]) != sigEnd {
		t.Fatal("cdRecords: archive has a comment or trailing data")
	}
	n := int(binary.LittleEndian.Uint16(data[end+10:]))
	p := int(binary.LittleEndian.Uint32(data[end+16:]))
	var offs []int
	for range n {
		offs = append(offs, p)
		p += centralLen + int(binary.LittleEndian.Uint16(data[p+28:])) +
			int(binary.LittleEndian.Uint16(data[p+30:])) + int(binary.LittleEndian.Uint16(data[p+32:]))
	}
	return offs
}

// localHeader returns the offset of entry i's local header.
func localHeader(t testing.TB, data []byte, i int) int {
	t.Helper()
	return int(binary.LittleEndian.Uint32(data[cdRecords(t, data)[i]+42:]))
}

// dataOffset returns the offset of entry i's data.
func dataOffset(t testing.TB, data []byte, i int) int {
	t.Helper()
	h := localHeader(t, data, i)
	return h + localLen + int(binary.LittleEndian.Uint16(data[h+26:])) + int(binary.LittleEndian.Uint16(data[h+28:]))
}

func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

// wantKind fails unless err is a rejection of the given kind.
func wantKind(t testing.TB, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got error %v, want %v", err, kind)
	}
	var ze *Error
	if !errors.As(err, &ze) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if ze.Message() == "" {
		t.Fatalf("error %v has no user message", err)
	}
}

// wantDetail fails unless err is an *Error whose detail contains sub.
func wantDetail(t testing.TB, err error, sub string) {
	t.Helper()
	var ze *Error
	if !errors.As(err, &ze) || !strings.Contains(ze.Detail, sub) {
		t.Fatalf("got error %v, want one whose detail contains %q", err, sub)
	}
}

// listDir returns the names in dir, sorted.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// snapshot describes the tree under root: for each path, its type and
// permissions, and a file's content or a link's target.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		perm := info.Mode().Perm() | info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			out[rel] = "link " + target
		case d.IsDir():
			out[rel] = "dir " + perm.String()
		case d.Type().IsRegular():
			body, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[rel] = "file " + perm.String() + " " + string(body)
		default:
			out[rel] = "other " + info.Mode().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// check runs Validate and Extract on data and holds both to the same
// outcome: rejection with kind (leaving nothing next to the destination), or
// acceptance with the tree want (when want is not nil).
func check(t *testing.T, data []byte, lim Limits, kind error, want map[string]string) {
	t.Helper()
	info, verr := Validate(data, lim)
	parent := t.TempDir()
	dest := filepath.Join(parent, "out")
	if runtime.GOOS != "linux" {
		// Extract is Linux-only; elsewhere only Validate is checked.
		if kind != nil {
			wantKind(t, verr, kind)
		} else if verr != nil {
			t.Fatalf("Validate: %v", verr)
		}
		return
	}
	xerr := Extract(data, dest, lim)
	if kind != nil {
		wantKind(t, verr, kind)
		wantKind(t, xerr, kind)
		if got := listDir(t, parent); len(got) != 0 {
			t.Fatalf("rejected Extract left %q behind", got)
		}
		return
	}
	if verr != nil {
		t.Fatalf("Validate: %v", verr)
	}
	if xerr != nil {
		t.Fatalf("Extract: %v", xerr)
	}
	if info.Size != int64(len(data)) || info.SHA256 != sha256.Sum256(data) {
		t.Fatalf("Validate info %+v does not describe the data", info)
	}
	if got := listDir(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Fatalf("Extract left %q next to the destination, want only out", got)
	}
	if want != nil {
		if diff := cmp.Diff(want, snapshot(t, dest)); diff != "" {
			t.Fatalf("extracted tree (-want +got):\n%s", diff)
		}
	}
}

// hdr holds the fields of a hand-built local or central header.
type hdr struct {
	name         string
	method       uint16
	flags        uint16
	crc          uint32
	csize, usize uint32
	offset       uint32 // central only
	extra        []byte
	madeBy       uint16 // central only
	attrs        uint32 // central only
}

func (h hdr) local() []byte {
	b := make([]byte, localLen, localLen+len(h.name)+len(h.extra))
	put32(b, 0, sigLocal)
	put16(b, 4, 20)
	put16(b, 6, h.flags)
	put16(b, 8, h.method)
	put32(b, 14, h.crc)
	put32(b, 18, h.csize)
	put32(b, 22, h.usize)
	put16(b, 26, uint16(len(h.name)))
	put16(b, 28, uint16(len(h.extra)))
	b = append(b, h.name...)
	return append(b, h.extra...)
}

func (h hdr) central() []byte {
	b := make([]byte, centralLen, centralLen+len(h.name)+len(h.extra))
	put32(b, 0, sigCentral)
	put16(b, 4, h.madeBy)
	put16(b, 6, 20)
	put16(b, 8, h.flags)
	put16(b, 10, h.method)
	put32(b, 16, h.crc)
	put32(b, 20, h.csize)
	put32(b, 24, h.usize)
	put16(b, 28, uint16(len(h.name)))
	put16(b, 30, uint16(len(h.extra)))
	put32(b, 38, h.attrs)
	put32(b, 42, h.offset)
	b = append(b, h.name...)
	return append(b, h.extra...)
}

// endRecord returns a classic end of central directory record.
func endRecord(count uint16, cdSize, cdOff uint32) []byte {
	b := make([]byte, endLen)
	put32(b, 0, sigEnd)
	put16(b, 8, count)
	put16(b, 10, count)
	put32(b, 12, cdSize)
	put32(b, 16, cdOff)
	return b
}
