package codezip

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// Zip record signatures and fixed lengths (APPNOTE.TXT 4.3).
const (
	sigLocal        = 0x04034b50
	sigCentral      = 0x02014b50
	sigEnd          = 0x06054b50
	sigZip64End     = 0x06064b50
	sigZip64Locator = 0x07064b50
	sigDescriptor   = 0x08074b50

	localLen        = 30
	centralLen      = 46
	endLen          = 22
	zip64EndLen     = 56
	zip64LocatorLen = 20

	maxUint16 = 0xffff
	maxUint32 = 0xffffffff
)

// General purpose flag bits.
const (
	flagEncrypted  = 1 << 0
	flagDescriptor = 1 << 3
	flagStrongEnc  = 1 << 6
	flagMasked     = 1 << 13
)

// Compression methods Lambda packages use; nothing else is accepted.
const (
	methodStore   = 0
	methodDeflate = 8
)

// Hosts ("version made by", high byte) whose external attributes carry a
// Unix mode in their high 16 bits.
const (
	hostUnix = 3
	hostOSX  = 19
)

// entry is one archive member, as checked against both its central
// directory record and its local header.
type entry struct {
	name    string // raw name, as stored
	method  uint16
	crc     uint32
	csize   int64 // compressed size
	usize   int64 // declared uncompressed size
	hdrOff  int64 // local header offset
	dataOff int64 // first byte of compressed data
	end     int64 // end of the data and of its data descriptor, if any
	host    uint8
	attrs   uint32 // external attributes

	// Filled in by the tree pass.
	kind   nodeKind
	exec   bool
	target string // symbolic link target, once read
}

// le is a little-endian reader over a byte slice whose bounds the caller has
// checked.
type le []byte

func (b le) u16(off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func (b le) u32(off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func (b le) u64(off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// directory locates the central directory.
type directory struct {
	offset, size int64
	count        uint64
}

// parseArchive reads the end records, the central directory and every local
// header, checks that they agree and that no two entries share bytes, and
// returns the entries in central directory order.
func parseArchive(data []byte, lim Limits) ([]entry, error) {
	dir, err := findDirectory(data)
	if err != nil {
		return nil, err
	}
	if dir.count > uint64(lim.MaxEntries) {
		return nil, bomb("", "archive has %d entries, more than the limit of %d", dir.count, lim.MaxEntries)
	}
	entries := make([]entry, 0, dir.count)
	cd := le(data[dir.offset : dir.offset+dir.size])
	pos := 0
	for range dir.count {
		e, n, err := parseCentral(cd[pos:])
		if err != nil {
			return nil, err
		}
		pos += n
		if err := checkLocal(data, &e); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if pos != len(cd) {
		return nil, notZip("", "central directory size does not match its records")
	}
	if err := checkOverlap(entries, dir.offset); err != nil {
		return nil, err
	}
	return entries, nil
}

// findDirectory reads the end of central directory record (and the zip64 one
// when the classic record says so) and checks the central directory's
// bounds.
func findDirectory(data []byte) (directory, error) {
	if len(data) == 0 {
		return directory{}, notZip("", "file is empty")
	}
	if len(data) < endLen {
		return directory{}, notZip("", "file is too short to be a zip archive")
	}
	// The record is the last one whose comment runs exactly to the end of
	// the file; nothing may follow it.
	endOff := -1
	for i := len(data) - endLen; i >= 0 && i >= len(data)-endLen-maxUint16; i-- {
		b := le(data[i:])
		if b.u32(0) == sigEnd && int(b.u16(20)) == len(data)-i-endLen {
			endOff = i
			break
		}
	}
	if endOff < 0 {
		return directory{}, notZip("", "end of central directory record not found")
	}
	end := le(data[endOff:])
	disk, cdDisk := uint32(end.u16(4)), uint32(end.u16(6))
	onDisk, total := uint64(end.u16(8)), uint64(end.u16(10))
	size, offset := uint64(end.u32(12)), uint64(end.u32(16))
	limit := uint64(endOff) // the central directory ends before this

	sizesMaxed := size == maxUint32 || offset == maxUint32
	countsMaxed := onDisk == maxUint16 || total == maxUint16 || disk == maxUint16 || cdDisk == maxUint16
	hasLocator := endOff >= zip64LocatorLen && le(data[endOff-zip64LocatorLen:]).u32(0) == sigZip64Locator
	switch {
	case (sizesMaxed || countsMaxed) && hasLocator:
		z, recOff, err := readZip64End(data, endOff-zip64LocatorLen)
		if err != nil {
			return directory{}, err
		}
		// A classic field that is not a placeholder must agree with its
		// zip64 counterpart.
		agree := func(classic, placeholder, z64 uint64) bool { return classic == placeholder || classic == z64 }
		if !agree(uint64(disk), maxUint16, uint64(z.disk)) || !agree(uint64(cdDisk), maxUint16, uint64(z.cdDisk)) ||
			!agree(onDisk, maxUint16, z.onDisk) || !agree(total, maxUint16, z.total) ||
			!agree(size, maxUint32, z.size) || !agree(offset, maxUint32, z.offset) {
			return directory{}, notZip("", "zip64 end of central directory record disagrees with the classic one")
		}
		disk, cdDisk, onDisk, total, size, offset = z.disk, z.cdDisk, z.onDisk, z.total, z.size, z.offset
		limit = uint64(recOff)
	case sizesMaxed:
		return directory{}, notZip("", "zip64 end of central directory record missing")
	}
	// Counts of exactly 65535 without a zip64 record are taken literally.
	if disk != 0 || cdDisk != 0 || onDisk != total {
		return directory{}, notZip("", "multi-disk archives are not supported")
	}
	if offset > limit || size > limit-offset {
		return directory{}, notZip("", "central directory lies outside the archive")
	}
	if total > size/centralLen {
		return directory{}, notZip("", "central directory is too small for its entry count")
	}
	return directory{offset: int64(offset), size: int64(size), count: total}, nil
}

type zip64End struct {
	disk, cdDisk  uint32
	onDisk, total uint64
	size, offset  uint64
}

// readZip64End reads the zip64 end of central directory locator at locOff
// and the record it points to, which must end right where the locator
// starts. It returns the record and its offset.
func readZip64End(data []byte, locOff int) (zip64End, int, error) {
	loc := le(data[locOff:])
	if loc.u32(4) != 0 || loc.u32(16) > 1 {
		return zip64End{}, 0, notZip("", "multi-disk archives are not supported")
	}
	recOff := loc.u64(8)
	if recOff > uint64(locOff) || uint64(locOff)-recOff < zip64EndLen {
		return zip64End{}, 0, notZip("", "zip64 end of central directory record lies outside the archive")
	}
	rec := le(data[recOff:])
	if rec.u32(0) != sigZip64End || rec.u64(4) != uint64(locOff)-recOff-12 {
		return zip64End{}, 0, notZip("", "zip64 end of central directory record is malformed")
	}
	return zip64End{
		disk:   rec.u32(16),
		cdDisk: rec.u32(20),
		onDisk: rec.u64(24),
		total:  rec.u64(32),
		size:   rec.u64(40),
		offset: rec.u64(48),
	}, int(recOff), nil
}

// parseCentral parses the central directory record at the start of b and
// returns it with its length.
func parseCentral(b le) (entry, int, error) {
	if len(b) < centralLen || b.u32(0) != sigCentral {
		return entry{}, 0, notZip("", "central directory record is malformed")
	}
	nameLen, extraLen, commentLen := int(b.u16(28)), int(b.u16(30)), int(b.u16(32))
	n := centralLen + nameLen + extraLen + commentLen
	if n > len(b) {
		return entry{}, 0, notZip("", "central directory record is truncated")
	}
	e := entry{
		name:   string(b[centralLen : centralLen+nameLen]),
		method: b.u16(10),
		crc:    b.u32(16),
		host:   uint8(b.u16(4) >> 8),
		attrs:  b.u32(38),
	}
	flags := b.u16(8)
	csize, usize, off := uint64(b.u32(20)), uint64(b.u32(24)), uint64(b.u32(42))
	disk := uint64(b.u16(34))
	if csize == maxUint32 || usize == maxUint32 || off == maxUint32 || disk == maxUint16 {
		var ok bool
		extra := b[centralLen+nameLen : centralLen+nameLen+extraLen]
		usize, csize, off, disk, ok = readZip64Extra(extra, usize, csize, off, disk)
		if !ok {
			return entry{}, 0, notZip(e.name, "zip64 extra field missing or malformed")
		}
	}
	if disk != 0 {
		return entry{}, 0, notZip(e.name, "multi-disk archives are not supported")
	}
	if flags&(flagEncrypted|flagStrongEnc|flagMasked) != 0 {
		return entry{}, 0, notZip(e.name, "entry is encrypted")
	}
	if e.method != methodStore && e.method != methodDeflate {
		return entry{}, 0, notZip(e.name, "compression method %d is not supported (only stored and deflate are)", e.method)
	}
	// Every archive offset and size fits in an int64 once checked against
	// the archive's length; reject larger values before converting.
	const maxSize = 1 << 62
	if csize >= maxSize || usize >= maxSize || off >= maxSize {
		return entry{}, 0, notZip(e.name, "entry size or offset out of range")
	}
	if e.method == methodStore && csize != usize {
		return entry{}, 0, notZip(e.name, "stored entry's compressed and uncompressed sizes differ")
	}
	e.csize, e.usize, e.hdrOff = int64(csize), int64(usize), int64(off)
	return e, n, nil
}

// readZip64Extra returns the values of a zip64 extended information extra
// field (tag 1) for each classic field that holds a placeholder, in the
// order the format defines, and whether the field was present and complete.
func readZip64Extra(extra le, usize, csize, off, disk uint64) (u, c, o, d uint64, ok bool) {
	found := false
	for len(extra) >= 4 {
		tag, size := extra.u16(0), int(extra.u16(2))
		if 4+size > len(extra) {
			return 0, 0, 0, 0, false
		}
		body := extra[4 : 4+size]
		extra = extra[4+size:]
		if tag != 1 {
			continue
		}
		if found {
			return 0, 0, 0, 0, false
		}
		found = true
		take := func(v *uint64, placeholder uint64, width int) bool {
			if *v != placeholder {
				return true
			}
			if len(body) < width {
				return false
			}
			if width == 8 {
				*v = body.u64(0)
			} else {
				*v = uint64(body.u32(0))
			}
			body = body[width:]
			return true
		}
		if !take(&usize, maxUint32, 8) || !take(&csize, maxUint32, 8) ||
			!take(&off, maxUint32, 8) || !take(&disk, maxUint16, 4) {
			return 0, 0, 0, 0, false
		}
	}
	return usize, csize, off, disk, found
}

// checkLocal reads e's local header, checks it against the central
// directory record, and sets e.dataOff and e.end.
func checkLocal(data []byte, e *entry) error {
	size := int64(len(data))
	if e.hdrOff > size-localLen {
		return notZip(e.name, "local header lies outside the archive")
	}
	h := le(data[e.hdrOff:])
	if h.u32(0) != sigLocal {
		return notZip(e.name, "local header not found where the central directory says")
	}
	flags, method := h.u16(6), h.u16(8)
	crc, csize, usize := h.u32(14), uint64(h.u32(18)), uint64(h.u32(22))
	nameLen, extraLen := int64(h.u16(26)), int64(h.u16(28))
	e.dataOff = e.hdrOff + localLen + nameLen + extraLen
	if e.dataOff > size {
		return notZip(e.name, "local header is truncated")
	}
	if !bytes.Equal(h[localLen:localLen+nameLen], []byte(e.name)) {
		return notZip(e.name, "local header names a different entry")
	}
	if flags&(flagEncrypted|flagStrongEnc|flagMasked) != 0 {
		return notZip(e.name, "entry is encrypted")
	}
	if method != e.method {
		return notZip(e.name, "local header and central directory disagree on the compression method")
	}
	if csize == maxUint32 || usize == maxUint32 {
		var ok bool
		extra := h[localLen+nameLen : localLen+nameLen+extraLen]
		usize, csize, _, _, ok = readZip64Extra(extra, usize, csize, 0, 0)
		if !ok {
			return notZip(e.name, "zip64 extra field missing or malformed in local header")
		}
	}
	descriptor := flags&flagDescriptor != 0
	// With a data descriptor, each local value may be zero (unknown when
	// the header was written) or already final, as Info-ZIP's streaming
	// mode leaves them; either way none may contradict the central
	// directory.
	agree := func(local, central uint64) bool { return local == central || (descriptor && local == 0) }
	if !agree(uint64(crc), uint64(e.crc)) || !agree(csize, uint64(e.csize)) || !agree(usize, uint64(e.usize)) {
		return notZip(e.name, "local header and central directory disagree on checksum or sizes")
	}
	if e.csize > size-e.dataOff {
		return notZip(e.name, "compressed data runs past the end of the archive")
	}
	e.end = e.dataOff + e.csize
	if descriptor {
		n, ok := descriptorLen(data[e.end:], e)
		if !ok {
			return notZip(e.name, "data descriptor missing or disagrees with the central directory")
		}
		e.end += n
	}
	return nil
}

// descriptorLen returns the length of the data descriptor at the start of b
// that matches e: with or without its optional signature, with 4- or 8-byte
// sizes.
func descriptorLen(b le, e *entry) (int64, bool) {
	for _, f := range []struct {
		sig  bool
		wide bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		p := 0
		if f.sig {
			if len(b) < 4 || b.u32(0) != sigDescriptor {
				continue
			}
			p = 4
		}
		w := 4
		if f.wide {
			w = 8
		}
		if len(b) < p+4+2*w || b.u32(p) != e.crc {
			continue
		}
		var c, u uint64
		if f.wide {
			c, u = b.u64(p+4), b.u64(p+12)
		} else {
			c, u = uint64(b.u32(p+4)), uint64(b.u32(p+8))
		}
		if c == uint64(e.csize) && u == uint64(e.usize) {
			return int64(p + 4 + 2*w), true
		}
	}
	return 0, false
}

// checkOverlap rejects entries whose bytes (local header, data and data
// descriptor) overlap another entry's or the central directory: the trick
// behind non-recursive zip bombs, where many entries inflate the same
// compressed kernel.
func checkOverlap(entries []entry, cdOff int64) error {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if entries[a].hdrOff != entries[b].hdrOff {
			if entries[a].hdrOff < entries[b].hdrOff {
				return -1
			}
			return 1
		}
		return a - b
	})
	for k, i := range order {
		e := &entries[i]
		if e.end > cdOff {
			return notZip(e.name, "entry data overlaps the central directory")
		}
		if k > 0 {
			prev := &entries[order[k-1]]
			if e.hdrOff < prev.end {
				return bomb(e.name, "entry overlaps the data of another entry")
			}
		}
	}
	return nil
}
