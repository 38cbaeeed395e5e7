package codezip

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors, checked with errors.Is. Validate and Extract never return
// them bare: a rejection is an *Error whose Kind is one of these.
var (
	// ErrNotZip: the input is not a zip archive this package can read:
	// empty, truncated or corrupt, a checksum or size mismatch, an
	// unsupported compression method, an encrypted entry, a multi-disk
	// archive, or zip64 records that disagree with the rest of the archive.
	ErrNotZip = errors.New("codezip: not a valid zip archive")
	// ErrTooLarge: the zip archive itself is larger than Limits.MaxZipped.
	ErrTooLarge = errors.New("codezip: zipped package too large")
	// ErrUnzippedTooLarge: the entries' declared sizes add up to more than
	// Limits.MaxUnzipped.
	ErrUnzippedTooLarge = errors.New("codezip: unzipped package too large")
	// ErrUnsafePath: an entry name that is empty, absolute, contains "..",
	// a backslash or a control byte, is too long or too deep, duplicates
	// another entry after cleaning, or puts an entry under a regular file.
	ErrUnsafePath = errors.New("codezip: unsafe entry path")
	// ErrUnsafeSymlink: a symbolic link whose target is absolute or
	// malformed, whose resolution leaves the package root or loops, or an
	// entry that would be written through a symbolic link.
	ErrUnsafeSymlink = errors.New("codezip: unsafe symbolic link")
	// ErrSpecialFile: a device, FIFO or socket entry.
	ErrSpecialFile = errors.New("codezip: special file")
	// ErrBomb: a decompression bomb: more entries than Limits.MaxEntries,
	// entries whose data overlaps, an entry that inflates past its declared
	// size or the unzipped limit, or a compression ratio above
	// Limits.MaxRatio.
	ErrBomb = errors.New("codezip: decompression bomb")
)

// maxQuoted is how many bytes of an entry name an error quotes at most.
const maxQuoted = 200

// Error is a package rejection. Kind is one of the sentinels; errors.Is(err,
// ErrNotZip) and the like see through it.
type Error struct {
	// Kind is the sentinel this rejection is an instance of.
	Kind error
	// Entry is the offending entry's name as stored in the archive, cut to
	// 200 bytes but not escaped; empty when the problem concerns the whole
	// archive. Quote it (as Error and Message do) before showing it.
	Entry string
	// Detail says what is wrong. It never contains archive bytes.
	Detail string

	// quoted is the entry name as errors show it; message is the text for
	// API callers, fixed at construction since some kinds quote a limit.
	quoted  string
	message string
}

// userLead is the first sentence of Message for each kind, AWS's own
// wording where AWS has one.
var userLead = map[error]string{
	ErrNotZip:        "Could not unzip uploaded file. Please check your file, then try to upload again.",
	ErrUnsafePath:    "The deployment package has an entry with an unsafe path.",
	ErrUnsafeSymlink: "The deployment package has an unsafe symbolic link.",
	ErrSpecialFile:   "The deployment package has a device, FIFO or socket entry.",
	ErrBomb:          "The deployment package was rejected as a decompression bomb.",
}

// Error returns the rejection for logs, for example
// `codezip: unsafe entry path: entry "../x": path contains ".."`.
func (e *Error) Error() string {
	if e.quoted != "" {
		return fmt.Sprintf("%v: entry %s: %s", e.Kind, e.quoted, e.Detail)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Detail)
}

// Unwrap returns Kind, so errors.Is matches the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

// Message returns the text to send to the API caller (the API layer sends
// every kind as InvalidParameterValueException). It uses AWS's wording where
// AWS has one, for example "Unzipped size must be smaller than 262144000
// bytes", and names the offending entry, quoted and escaped, where there is
// one.
func (e *Error) Message() string { return e.message }

// newError builds a rejection of the given kind. name is the offending
// entry's raw name ("" for none); detail must not contain archive bytes.
func newError(kind error, name, detail string) *Error {
	e := &Error{Kind: kind, Entry: name[:min(len(name), maxQuoted)], Detail: detail}
	where := detail
	if name != "" {
		e.quoted = quoteName(name)
		where = "entry " + e.quoted + ": " + detail
	}
	e.message = userLead[kind] + " (" + where + ")"
	return e
}

// quoteName quotes an entry name for an error: at most maxQuoted bytes of it,
// with every non-printable byte or rune escaped.
func quoteName(name string) string {
	if len(name) > maxQuoted {
		return strconv.Quote(name[:maxQuoted]) + "..."
	}
	return strconv.Quote(name)
}

func notZip(name, format string, args ...any) *Error {
	return newError(ErrNotZip, name, fmt.Sprintf(format, args...))
}

func unsafePath(name, format string, args ...any) *Error {
	return newError(ErrUnsafePath, name, fmt.Sprintf(format, args...))
}

func unsafeSymlink(name, format string, args ...any) *Error {
	return newError(ErrUnsafeSymlink, name, fmt.Sprintf(format, args...))
}

func bomb(name, format string, args ...any) *Error {
	return newError(ErrBomb, name, fmt.Sprintf(format, args...))
}

func tooLarge(size, limit int64) *Error {
	e := newError(ErrTooLarge, "", fmt.Sprintf("zipped size %d bytes exceeds the limit of %d bytes", size, limit))
	e.message = fmt.Sprintf("Zipped size must be smaller than %d bytes", limit)
	return e
}

func unzippedTooLarge(limit int64) *Error {
	e := newError(ErrUnzippedTooLarge, "", fmt.Sprintf("entries' declared sizes add up to more than the limit of %d bytes", limit))
	e.message = fmt.Sprintf("Unzipped size must be smaller than %d bytes", limit)
	return e
}
