package codezip

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
)

// Defaults, matching Lambda's limits for direct uploads.
const (
	defaultMaxZipped   = 50 << 20  // 52428800, Lambda's zipped limit for direct uploads
	defaultMaxUnzipped = 250 << 20 // 262144000, Lambda's unzipped limit
	// defaultMaxEntries is the most entries a zip archive holds without
	// zip64. Lambda documents no entry limit, and unbundled node_modules
	// trees run well past 20000 files, so a lower default would reject real
	// packages; at this count the cost of one entry (a central directory
	// record, a few hundred bytes of bookkeeping, one inode on extraction)
	// stays bounded at tens of megabytes and a few seconds of I/O.
	defaultMaxEntries = 65535
	// defaultMaxRatio is the highest ratio deflate can reach: at best one
	// bit for a 258-byte match plus one bit for its distance, 258 bytes per
	// 2 bits = 1032 bytes per compressed byte. A larger declared ratio is a
	// lie. Lambda accepts any honest ratio and the unzipped limit already
	// caps the work a package can cause, so the default rejects only lies;
	// lower it to reject extreme honest ratios as well.
	defaultMaxRatio = 1032
)

// ratioGrace is the uncompressed size up to which Limits.MaxRatio does not
// apply: small, very compressible files (an empty __init__.py, a run of
// padding) are common and harmless.
const ratioGrace = 1 << 20

// Limits bound what a package may contain. A zero or negative field means
// its default.
type Limits struct {
	// MaxZipped is the largest zip archive accepted, in bytes. Default 50
	// MiB (52428800).
	MaxZipped int64
	// MaxUnzipped is the largest total uncompressed size of all entries
	// (file contents and symbolic link targets), in bytes. Default 250 MB
	// (262144000).
	MaxUnzipped int64
	// MaxEntries is the most entries (files, directories and symbolic
	// links) a package may have. Default 65535, the most a zip archive holds
	// without zip64: Lambda documents no limit, unbundled node_modules trees
	// exceed 20000 files, and each entry costs only an inode and a few
	// hundred bytes of bookkeeping.
	MaxEntries int
	// MaxRatio is the highest uncompressed-to-compressed size ratio accepted
	// for an entry larger than 1 MiB uncompressed. Default 1032, deflate's
	// own ceiling, so that only impossible (lying) ratios are rejected; set
	// it lower to reject extreme honest ratios too.
	MaxRatio int64
}

// DefaultLimits returns Lambda's limits for directly uploaded packages.
func DefaultLimits() Limits {
	return Limits{
		MaxZipped:   defaultMaxZipped,
		MaxUnzipped: defaultMaxUnzipped,
		MaxEntries:  defaultMaxEntries,
		MaxRatio:    defaultMaxRatio,
	}
}

// withDefaults replaces zero and negative fields with their defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxZipped <= 0 {
		l.MaxZipped = d.MaxZipped
	}
	if l.MaxUnzipped <= 0 {
		l.MaxUnzipped = d.MaxUnzipped
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	return l
}

// Info describes a valid package.
type Info struct {
	// SHA256 is the digest of the zip bytes.
	SHA256 [32]byte
	// Size is the size of the zip archive in bytes.
	Size int64
	// UnzippedSize is the total size of all entries' contents (symbolic
	// link targets included), as actually decompressed.
	UnzippedSize int64
	// Entries is the number of entries, directories included.
	Entries int
}

// CodeSha256 returns the digest as Lambda reports it in CodeSha256: base64
// of the raw SHA-256 of the zip bytes.
func (i Info) CodeSha256() string {
	return base64.StdEncoding.EncodeToString(i.SHA256[:])
}

// Validate checks a deployment package completely, decompressing every entry
// since declared sizes may lie, and rejects it on the first problem with an
// *Error wrapping one of the package's sentinels. It writes nothing.
//
// data must not change during the call.
func Validate(data []byte, lim Limits) (Info, error) {
	lim = lim.withDefaults()
	p, err := plan(data, lim)
	if err != nil {
		return Info{}, err
	}
	for i := range p.entries {
		e := &p.entries[i]
		if e.kind != kindFile {
			// Directories and symbolic links were read and checked by plan.
			continue
		}
		if err := copyEntry(data, e, nil, &p.budget); err != nil {
			return Info{}, err
		}
	}
	return Info{
		SHA256:       sha256.Sum256(data),
		Size:         int64(len(data)),
		UnzippedSize: p.unzipped,
		Entries:      len(p.entries),
	}, nil
}

// pkg is a package that has passed every check that does not need the
// regular files' contents.
type pkg struct {
	entries  []entry
	tree     *tree
	unzipped int64 // total declared size, checked against the limit
	budget   budget
}

// plan parses data and checks everything except the regular files'
// contents: structure, sizes, ratios, names, types and symbolic links (whose
// targets it reads and verifies).
func plan(data []byte, lim Limits) (*pkg, error) {
	if int64(len(data)) > lim.MaxZipped {
		return nil, tooLarge(int64(len(data)), lim.MaxZipped)
	}
	entries, err := parseArchive(data, lim)
	if err != nil {
		return nil, err
	}
	p := &pkg{entries: entries, tree: newTree()}

	var total int64
	over := false
	for i := range entries {
		e := &entries[i]
		if e.usize > lim.MaxUnzipped-total {
			over = true
		} else {
			total += e.usize
		}
		if e.usize > ratioGrace && exceedsRatio(e.usize, e.csize, lim.MaxRatio) {
			return nil, bomb(e.name, "compression ratio is above the limit of %d", lim.MaxRatio)
		}
	}
	if over {
		return nil, unzippedTooLarge(lim.MaxUnzipped)
	}
	p.unzipped = total
	p.budget.left = lim.MaxUnzipped

	for i := range entries {
		if err := classify(&entries[i]); err != nil {
			return nil, err
		}
		if err := p.tree.add(entries, i); err != nil {
			return nil, err
		}
	}

	// Directory entries hold no data, but their (empty) streams are checked
	// like any other; Extract writes nothing for them.
	for i := range entries {
		if e := &entries[i]; e.kind == kindDir {
			if err := copyEntry(data, e, nil, &p.budget); err != nil {
				return nil, err
			}
		}
	}
	for i := range entries {
		e := &entries[i]
		if e.kind != kindSymlink {
			continue
		}
		if e.usize > maxTarget {
			return nil, unsafeSymlink(e.name, "target is longer than %d bytes", maxTarget)
		}
		var buf bytes.Buffer
		if err := copyEntry(data, e, &buf, &p.budget); err != nil {
			return nil, err
		}
		e.target = buf.String()
		if err := checkTarget(e.name, e.target); err != nil {
			return nil, err
		}
	}
	if err := p.tree.resolveAll(entries); err != nil {
		return nil, err
	}
	return p, nil
}

// exceedsRatio reports whether usize/csize > ratio, exactly.
func exceedsRatio(usize, csize, ratio int64) bool {
	if csize == 0 {
		return usize > 0
	}
	q, r := usize/csize, usize%csize
	return q > ratio || (q == ratio && r > 0)
}
