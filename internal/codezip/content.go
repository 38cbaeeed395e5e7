package codezip

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// budget counts the bytes entries really produce against the unzipped
// limit. Declared sizes are checked against the limit first and every entry
// is held to its declared size, so the budget only runs out if that logic is
// wrong; it is the backstop that makes the limit hold regardless.
type budget struct {
	left int64
}

// take consumes n bytes, reporting false if that crosses the limit.
func (b *budget) take(n int) bool {
	if int64(n) > b.left {
		b.left = 0
		return false
	}
	b.left -= int64(n)
	return true
}

// copyBufSize is the chunk in which entries are inflated and written.
const copyBufSize = 64 << 10

var (
	inflaters sync.Pool // io.ReadCloser from flate.NewReader, reset per entry
	copyBufs  = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}
)

func getInflater(r io.Reader) io.ReadCloser {
	if v, ok := inflaters.Get().(io.ReadCloser); ok {
		if err := v.(flate.Resetter).Reset(r, nil); err == nil {
			return v
		}
	}
	return flate.NewReader(r)
}

// copyEntry decompresses entry e of data into w (nil to discard), checking
// as it goes that the entry produces exactly its declared size, stays within
// the budget, and matches its CRC-32. It stops at the first byte past a
// limit. Errors from w are returned wrapped, not as rejections.
func copyEntry(data []byte, e *entry, w io.Writer, b *budget) error {
	raw := data[e.dataOff : e.dataOff+e.csize]
	if e.method == methodStore {
		// parseCentral made csize == usize.
		if !b.take(len(raw)) {
			return bomb(e.name, "package inflates to more than the unzipped limit")
		}
		if crc32.ChecksumIEEE(raw) != e.crc {
			return notZip(e.name, "CRC-32 checksum mismatch")
		}
		if w != nil {
			if _, err := w.Write(raw); err != nil {
				return fmt.Errorf("codezip: write entry: %w", err)
			}
		}
		return nil
	}

	src := bytes.NewReader(raw) // an io.ByteReader, so flate reads no further than it must
	fr := getInflater(src)
	defer inflaters.Put(fr)
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp

	var n int64
	var crc uint32
	for {
		k, err := fr.Read(buf)
		if k > 0 {
			n += int64(k)
			if n > e.usize {
				return bomb(e.name, "entry inflates to more than its declared size of %d bytes", e.usize)
			}
			if !b.take(k) {
				return bomb(e.name, "package inflates to more than the unzipped limit")
			}
			crc = crc32.Update(crc, crc32.IEEETable, buf[:k])
			if w != nil {
				if _, werr := w.Write(buf[:k]); werr != nil {
					return fmt.Errorf("codezip: write entry: %w", werr)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			var corrupt flate.CorruptInputError
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF):
				return notZip(e.name, "compressed data is truncated")
			case errors.As(err, &corrupt):
				return notZip(e.name, "compressed data is corrupt")
			default:
				return notZip(e.name, "compressed data cannot be inflated")
			}
		}
	}
	if n != e.usize {
		return notZip(e.name, "entry inflates to %d bytes, less than its declared size of %d", n, e.usize)
	}
	if crc != e.crc {
		return notZip(e.name, "CRC-32 checksum mismatch")
	}
	return nil
}
