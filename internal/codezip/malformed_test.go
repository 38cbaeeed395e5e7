package codezip

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io/fs"
	"testing"
)

// TestTruncated cuts a valid archive at every length: no prefix is a valid
// archive.
func TestTruncated(t *testing.T) {
	data := zipOf(t,
		file{name: "a/", mode: fs.ModeDir | 0o755},
		file{name: "a/x.py", body: "print('x')\n"},
		file{name: "s", body: "stored", store: true},
		link("l", "a/x.py"),
	)
	if _, err := Validate(data, Limits{}); err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		_, err := Validate(data[:n], Limits{})
		if err == nil {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
		wantKind(t, err, ErrNotZip)
	}
}

func TestMalformed(t *testing.T) {
	base := func(t *testing.T) []byte {
		return zipOf(t, file{name: "a.txt", body: "hello, hello, hello"}, file{name: "b.txt", body: "bye", store: true})
	}
	// plain is an archive without data descriptors, whose local headers
	// carry the sizes.
	plain := func(t *testing.T) []byte {
		return rawZip(t, honest("a.txt", []byte("hello, hello, hello")), honest("b.txt", []byte("bye")))
	}
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		kind error
	}{
		{"empty", func(t *testing.T) []byte { return nil }, ErrNotZip},
		{"only an end record", func(t *testing.T) []byte { return endRecord(0, 0, 0) }, nil},
		{"text", func(t *testing.T) []byte { return []byte("#!/bin/sh\necho this is not a zip archive\n") }, ErrNotZip},
		{"gzip", func(t *testing.T) []byte {
			return []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + string(make([]byte, 30)))
		}, ErrNotZip},
		{"trailing garbage", func(t *testing.T) []byte { return append(base(t), "garbage"...) }, ErrNotZip},
		{"comment", func(t *testing.T) []byte {
			var buf bytes.Buffer
			w := zip.NewWriter(&buf)
			w.SetComment("built by a test; PK\x05\x06 inside a comment is fine")
			f, _ := w.Create("a")
			f.Write([]byte("a"))
			w.Close()
			return buf.Bytes()
		}, nil},
		{"prepended stub without adjusted offsets", func(t *testing.T) []byte {
			return append([]byte("MZ self-extractor stub"), base(t)...)
		}, ErrNotZip},
		{"multi-disk end record", func(t *testing.T) []byte {
			d := base(t)
			put16(d, len(d)-endLen+4, 1)
			return d
		}, ErrNotZip},
		{"entries split across disks", func(t *testing.T) []byte {
			d := base(t)
			put16(d, len(d)-endLen+8, 1)
			return d
		}, ErrNotZip},
		{"central directory offset past the end", func(t *testing.T) []byte {
			d := base(t)
			put32(d, len(d)-endLen+16, uint32(len(d)))
			return d
		}, ErrNotZip},
		{"central directory size too large", func(t *testing.T) []byte {
			d := base(t)
			put32(d, len(d)-endLen+12, binary.LittleEndian.Uint32(d[len(d)-endLen+12:])+1)
			return d
		}, ErrNotZip},
		{"central directory size too small", func(t *testing.T) []byte {
			d := base(t)
			put32(d, len(d)-endLen+12, binary.LittleEndian.Uint32(d[len(d)-endLen+12:])-1)
			return d
		}, ErrNotZip},
		{"fewer records than counted", func(t *testing.T) []byte {
			d := base(t)
			put16(d, len(d)-endLen+8, 1)
			put16(d, len(d)-endLen+10, 1)
			return d
		}, ErrNotZip},
		{"central record signature", func(t *testing.T) []byte {
			d := base(t)
			d[cdRecords(t, d)[1]] = 'X'
			return d
		}, ErrNotZip},
		{"local header offset into the central directory", func(t *testing.T) []byte {
			d := base(t)
			recs := cdRecords(t, d)
			put32(d, recs[0]+42, uint32(recs[0]))
			return d
		}, ErrNotZip},
		{"local header offset past the end", func(t *testing.T) []byte {
			d := base(t)
			put32(d, cdRecords(t, d)[0]+42, 0x7fffffff)
			return d
		}, ErrNotZip},
		{"local name differs", func(t *testing.T) []byte {
			d := base(t)
			d[localHeader(t, d, 0)+localLen] = 'z'
			return d
		}, ErrNotZip},
		{"local method differs", func(t *testing.T) []byte {
			d := base(t)
			put16(d, localHeader(t, d, 1)+8, methodDeflate)
			return d
		}, ErrNotZip},
		{"local header alone says encrypted", func(t *testing.T) []byte {
			d := base(t)
			off := localHeader(t, d, 0) + 6
			put16(d, off, binary.LittleEndian.Uint16(d[off:])|flagEncrypted)
			return d
		}, ErrNotZip},
		{"local sizes differ", func(t *testing.T) []byte {
			d := plain(t)
			put32(d, localHeader(t, d, 0)+22, 5)
			return d
		}, ErrNotZip},
		{"local CRC differs", func(t *testing.T) []byte {
			d := plain(t)
			put32(d, localHeader(t, d, 0)+14, 5)
			return d
		}, ErrNotZip},
		{"data descriptor CRC differs", func(t *testing.T) []byte {
			d := base(t)
			// b.txt is stored, so its descriptor (signature, CRC, sizes)
			// follows its 3 data bytes.
			p := dataOffset(t, d, 1) + 3
			if binary.LittleEndian.Uint32(d[p:]) != sigDescriptor {
				t.Fatal("no data descriptor where expected")
			}
			put32(d, p+4, 0)
			return d
		}, ErrNotZip},
		{"data descriptor sizes differ", func(t *testing.T) []byte {
			d := base(t)
			p := dataOffset(t, d, 1) + 3
			if binary.LittleEndian.Uint32(d[p:]) != sigDescriptor {
				t.Fatal("no data descriptor where expected")
			}
			put32(d, p+8, 4)
			put32(d, p+12, 4)
			return d
		}, ErrNotZip},
		{"data runs into the central directory", func(t *testing.T) []byte {
			h := hdr{name: "a", crc: crc32.ChecksumIEEE([]byte("abc")), csize: 3, usize: 3}
			var out bytes.Buffer
			out.Write(h.local())
			out.WriteString("abc")
			cdOff := out.Len()
			h.csize, h.usize = 10, 10
			out.Write(h.central())
			out.Write(endRecord(1, uint32(out.Len()-cdOff), uint32(cdOff)))
			d := out.Bytes()
			put32(d, 18, 10) // local header agrees with the lie
			put32(d, 22, 10)
			return d
		}, ErrNotZip},
		{"unknown host with symlink-looking attributes is a regular file", func(t *testing.T) []byte {
			d := zipOf(t, link("l", "/etc/passwd"))
			put16(d, cdRecords(t, d)[0]+4, 11<<8|20) // made by NTFS
			return d
		}, nil},
		{"unix directory mode without a trailing slash", func(t *testing.T) []byte {
			return zipOf(t, file{name: "d", mode: fs.ModeDir | 0o755}, file{name: "d/f", body: "f"})
		}, nil},
	}
	// why pins each rejection to the check that should make it, so that no
	// case passes by tripping over an unrelated one.
	why := map[string]string{
		"empty":            "empty",
		"text":             "end of central directory record not found",
		"gzip":             "end of central directory record not found",
		"trailing garbage": "end of central directory record not found",
		"prepended stub without adjusted offsets":        "central directory record is malformed",
		"multi-disk end record":                          "multi-disk",
		"entries split across disks":                     "multi-disk",
		"central directory offset past the end":          "outside the archive",
		"central directory size too large":               "outside the archive",
		"central directory size too small":               "truncated",
		"fewer records than counted":                     "does not match its records",
		"central record signature":                       "central directory record is malformed",
		"local header offset into the central directory": "local header not found",
		"local header offset past the end":               "local header lies outside",
		"local name differs":                             "names a different entry",
		"local method differs":                           "compression method",
		"local header alone says encrypted":              "encrypted",
		"local sizes differ":                             "checksum or sizes",
		"local CRC differs":                              "checksum or sizes",
		"data descriptor CRC differs":                    "data descriptor",
		"data descriptor sizes differ":                   "data descriptor",
		"data runs into the central directory":           "overlaps the central directory",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data(t)
			check(t, data, Limits{}, tt.kind, nil)
			if tt.kind != nil {
				w, ok := why[tt.name]
				if !ok {
					t.Fatal("test case has no expected reason")
				}
				_, err := Validate(data, Limits{})
				wantDetail(t, err, w)
			}
		})
	}
}

// z64 is a one-entry stored archive in full zip64 form, in pieces that tests
// edit before joining: local header with a zip64 extra, data, central record
// with a zip64 extra, zip64 end record, zip64 locator, classic end record.
type z64 struct {
	local, data, central, rec, loc, end []byte
}

func newZ64(body []byte) *z64 {
	z := &z64{data: body}
	lx := make([]byte, 4+16)
	put16(lx, 0, 1)
	put16(lx, 2, 16)
	binary.LittleEndian.PutUint64(lx[4:], uint64(len(body)))
	binary.LittleEndian.PutUint64(lx[12:], uint64(len(body)))
	h := hdr{name: "f", crc: crc32.ChecksumIEEE(body), csize: maxUint32, usize: maxUint32, extra: lx}
	z.local = h.local()

	cx := make([]byte, 4+24)
	put16(cx, 0, 1)
	put16(cx, 2, 24)
	binary.LittleEndian.PutUint64(cx[4:], uint64(len(body)))
	binary.LittleEndian.PutUint64(cx[12:], uint64(len(body)))
	binary.LittleEndian.PutUint64(cx[20:], 0)
	h.extra, h.offset = cx, maxUint32
	z.central = h.central()

	cdOff := uint64(len(z.local) + len(body))
	z.rec = make([]byte, zip64EndLen)
	put32(z.rec, 0, sigZip64End)
	binary.LittleEndian.PutUint64(z.rec[4:], zip64EndLen-12)
	binary.LittleEndian.PutUint64(z.rec[24:], 1)
	binary.LittleEndian.PutUint64(z.rec[32:], 1)
	binary.LittleEndian.PutUint64(z.rec[40:], uint64(len(z.central)))
	binary.LittleEndian.PutUint64(z.rec[48:], cdOff)

	z.loc = make([]byte, zip64LocatorLen)
	put32(z.loc, 0, sigZip64Locator)
	binary.LittleEndian.PutUint64(z.loc[8:], cdOff+uint64(len(z.central)))
	put32(z.loc, 16, 1)

	z.end = endRecord(maxUint16, maxUint32, maxUint32)
	return z
}

func (z *z64) bytes() []byte {
	return bytes.Join([][]byte{z.local, z.data, z.central, z.rec, z.loc, z.end}, nil)
}

func TestZip64(t *testing.T) {
	body := []byte("zip64 body")
	tests := []struct {
		name string
		edit func(z *z64)
		kind error
	}{
		{"well formed", func(z *z64) {}, nil},
		{"classic fields hold real values", func(z *z64) {
			z.end = endRecord(1, uint32(len(z.central)), maxUint32)
		}, nil},
		{"classic count disagrees with zip64", func(z *z64) {
			put16(z.end, 8, 2)
			put16(z.end, 10, 2)
		}, ErrNotZip},
		{"zip64 record on another disk", func(z *z64) { put32(z.rec, 16, 1) }, ErrNotZip},
		{"locator says many disks", func(z *z64) { put32(z.loc, 16, 2) }, ErrNotZip},
		{"locator points nowhere", func(z *z64) { binary.LittleEndian.PutUint64(z.loc[8:], 0) }, ErrNotZip},
		{"locator points past itself", func(z *z64) { binary.LittleEndian.PutUint64(z.loc[8:], 1<<40) }, ErrNotZip},
		{"record size field wrong", func(z *z64) { binary.LittleEndian.PutUint64(z.rec[4:], 100) }, ErrNotZip},
		{"record directory size wrong", func(z *z64) { binary.LittleEndian.PutUint64(z.rec[40:], 1<<50) }, ErrNotZip},
		{"record directory offset wrong", func(z *z64) { binary.LittleEndian.PutUint64(z.rec[48:], 1) }, ErrNotZip},
		{"record count huge", func(z *z64) {
			binary.LittleEndian.PutUint64(z.rec[24:], 1<<60)
			binary.LittleEndian.PutUint64(z.rec[32:], 1<<60)
		}, ErrNotZip},
		{"placeholders without a locator", func(z *z64) { z.rec, z.loc = nil, nil }, ErrNotZip},
		{"central extra missing", func(z *z64) { put16(z.central, centralLen+1, 0x5455) }, ErrNotZip},
		{"central extra truncated", func(z *z64) { put16(z.central, centralLen+1+2, 16) }, ErrNotZip},
		{"central extra overruns", func(z *z64) { put16(z.central, centralLen+1+2, 200) }, ErrNotZip},
		{"central extra twice", func(z *z64) {
			n := int(binary.LittleEndian.Uint16(z.central[30:]))
			extra := z.central[centralLen+1:]
			z.central = append(z.central, extra...)
			put16(z.central, 30, uint16(2*n))
			binary.LittleEndian.PutUint64(z.rec[40:], uint64(len(z.central)))
			binary.LittleEndian.PutUint64(z.loc[8:], uint64(len(z.local)+len(z.data)+len(z.central)))
		}, ErrNotZip},
		{"central sizes disagree with the data", func(z *z64) {
			binary.LittleEndian.PutUint64(z.central[centralLen+1+4:], 4)
			binary.LittleEndian.PutUint64(z.central[centralLen+1+12:], 4)
		}, ErrNotZip},
		{"central offset past the end", func(z *z64) {
			binary.LittleEndian.PutUint64(z.central[centralLen+1+20:], 1<<62)
		}, ErrNotZip},
		{"local extra missing", func(z *z64) { put16(z.local, localLen+1, 0x5455) }, ErrNotZip},
		{"local sizes disagree", func(z *z64) {
			binary.LittleEndian.PutUint64(z.local[localLen+1+4:], 3)
		}, ErrNotZip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := newZ64(body)
			tt.edit(z)
			var want map[string]string
			if tt.kind == nil {
				want = map[string]string{".": dirPerm, "f": filePerm + string(body)}
			}
			check(t, z.bytes(), Limits{}, tt.kind, want)
		})
	}
}
