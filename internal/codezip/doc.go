// Package codezip owns the handling of Lambda deployment packages (zip
// archives) from the moment they arrive until they sit on disk: Validate
// checks a package completely before anything is stored, and Extract unpacks
// a package into a read-only code cache that a sandbox sees at /var/task.
//
// Every byte of a package is attacker-controlled. The package therefore reads
// zip archives with its own strict parser rather than a general-purpose one:
//
//   - Only what Lambda packages need is accepted: stored and deflated
//     entries, data descriptors, and zip64 records that agree with the rest of
//     the archive. Encryption, other compression methods, multi-disk archives
//     and headers that disagree with each other are rejected.
//   - Declared sizes are never trusted. Every entry is decompressed, its
//     CRC-32 checked, and the bytes it really produces are counted against
//     its declared size and the package's unzipped limit; reading stops as soon
//     as a limit is crossed. No buffer is sized from a declared value.
//   - Entries may not share bytes: local headers and data ranges that overlap
//     (the "non-recursive zip bomb") are rejected, as are more entries than
//     Limits.MaxEntries and declared ratios deflate cannot produce.
//   - Names must be relative, free of "..", backslashes and control bytes, and
//     unique after cleaning; nothing may be written under a file or through a
//     symbolic link. Symbolic links must be relative and, followed through the
//     package's other links, stay inside the package root. Device, FIFO and
//     socket entries are rejected. Nested archives are ordinary files and are
//     never opened.
//
// Extract re-validates as it writes, opens every path relative to a directory
// descriptor with O_NOFOLLOW, creates a private temporary sibling of the
// destination and renames it into place only once it is complete, so a
// half-written tree is never visible at the destination.
//
// Rejections are *Error values wrapping one of the package's sentinels
// (ErrNotZip, ErrTooLarge, ErrUnzippedTooLarge, ErrUnsafePath,
// ErrUnsafeSymlink, ErrSpecialFile, ErrBomb); Error.Message is the text to
// show the API caller, using AWS's wording where AWS has one. Any other error
// is a server-side failure (for example, the disk is full).
//
// The package must never follow a symbolic link while writing, write outside
// the destination, expand nested archives, allocate memory in proportion to a
// size the archive declares, or put more than a bounded, escaped excerpt of
// an entry name into an error.
package codezip
