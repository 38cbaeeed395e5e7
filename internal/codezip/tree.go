package codezip

import "strings"

// Path limits. Linux accepts names up to 255 bytes and paths up to 4096;
// depth is capped so that extraction, which holds one descriptor per open
// directory level, stays far from descriptor limits. No real package nests
// anywhere near 128 directories.
const (
	maxName      = 4096
	maxComponent = 255
	maxDepth     = 128
	maxTarget    = 4095 // longest symbolic link target Linux stores
	maxLinkDepth = 40   // Linux's MAXSYMLINKS
	// maxResolveSteps bounds the total work of resolving every symbolic
	// link; real packages need a few steps per link.
	maxResolveSteps = 1 << 22
)

// Unix file type bits in the high half of the external attributes.
const (
	modeType    = 0o170000
	modeRegular = 0o100000
	modeDir     = 0o040000
	modeSymlink = 0o120000
	modeUserX   = 0o100
)

type nodeKind uint8

const (
	kindDir nodeKind = iota
	kindFile
	kindSymlink
)

// Symbolic link resolution states.
const (
	unresolved uint8 = iota
	resolving
	resolved
)

// node is one path in the package tree.
type node struct {
	name     string // last path component; "" for the root
	kind     nodeKind
	entry    int // index into the entries; -1 for an implied directory
	parent   *node
	children map[string]*node

	// For symbolic links: where the link leads and how many links that
	// follows, once resolved.
	state uint8
	res   place
	hops  int
}

// place is a position reached while resolving a symbolic link: node n, or
// virt levels below n in directories the package does not contain.
type place struct {
	n    *node
	virt int
}

func (n *node) add(child *node) {
	if n.children == nil {
		n.children = make(map[string]*node)
	}
	n.children[child.name] = child
}

// classify sets e.kind and e.exec from its name and attributes.
func classify(e *entry) error {
	isDir := strings.HasSuffix(e.name, "/")
	kind := kindFile
	if isDir {
		kind = kindDir
	}
	if e.host == hostUnix || e.host == hostOSX {
		mode := e.attrs >> 16
		switch mode & modeType {
		case 0, modeRegular:
		case modeDir:
			kind = kindDir
		case modeSymlink:
			if isDir {
				return unsafeSymlink(e.name, "symbolic link has a directory name")
			}
			kind = kindSymlink
		default:
			return newError(ErrSpecialFile, e.name, "entry is a device, FIFO or socket")
		}
		e.exec = kind == kindFile && mode&modeUserX != 0
	}
	if kind == kindDir && e.usize != 0 {
		return notZip(e.name, "directory entry has data")
	}
	e.kind = kind
	return nil
}

// splitName checks an entry name and returns its path components, with
// empty and "." components dropped.
func splitName(name string) ([]string, error) {
	if name == "" {
		return nil, unsafePath("", "an entry has an empty name")
	}
	if len(name) > maxName {
		return nil, unsafePath(name, "name is longer than %d bytes", maxName)
	}
	if err := checkBytes(name); err != "" {
		return nil, unsafePath(name, "name contains %s", err)
	}
	if name[0] == '/' {
		return nil, unsafePath(name, "name is an absolute path")
	}
	comps := make([]string, 0, strings.Count(name, "/")+1)
	for part := range strings.SplitSeq(name, "/") {
		switch part {
		case "", ".":
			continue
		case "..":
			return nil, unsafePath(name, `name contains ".."`)
		}
		if len(part) > maxComponent {
			return nil, unsafePath(name, "path component is longer than %d bytes", maxComponent)
		}
		comps = append(comps, part)
	}
	if len(comps) > maxDepth {
		return nil, unsafePath(name, "path is nested more than %d directories deep", maxDepth)
	}
	return comps, nil
}

// checkBytes returns what is wrong with s's bytes (NUL, control characters,
// backslashes), or "".
func checkBytes(s string) string {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return "a NUL byte"
		case c < 0x20 || c == 0x7f:
			return "a control character"
		case c == '\\':
			return "a backslash"
		}
	}
	return ""
}

// tree is the package's file tree, built from its entries.
type tree struct {
	root  *node
	links []*node // symbolic links, in entry order
	steps int     // symbolic link resolution steps taken
}

func newTree() *tree {
	return &tree{root: &node{kind: kindDir, entry: -1}}
}

// add places entry i in the tree, rejecting collisions and any entry under a
// regular file or a symbolic link.
func (t *tree) add(entries []entry, i int) error {
	e := &entries[i]
	comps, err := splitName(e.name)
	if err != nil {
		return err
	}
	if len(comps) == 0 {
		if e.kind != kindDir {
			return unsafePath(e.name, "name refers to the package root")
		}
		if t.root.entry >= 0 {
			return unsafePath(e.name, "duplicate entry (same path as another after cleaning)")
		}
		t.root.entry = i
		return nil
	}
	cur := t.root
	for _, c := range comps[:len(comps)-1] {
		child := cur.children[c]
		switch {
		case child == nil:
			child = &node{name: c, kind: kindDir, entry: -1, parent: cur}
			cur.add(child)
		case child.kind == kindFile:
			return unsafePath(e.name, "entry is nested under a regular file entry")
		case child.kind == kindSymlink:
			return unsafeSymlink(e.name, "entry would be written through a symbolic link")
		}
		cur = child
	}
	last := comps[len(comps)-1]
	if old := cur.children[last]; old != nil {
		if old.kind == kindDir && old.entry < 0 {
			// An implied directory: other entries live under this path.
			switch e.kind {
			case kindDir:
				old.entry = i
				return nil
			case kindSymlink:
				return unsafeSymlink(e.name, "entries would be written through this symbolic link")
			default:
				return unsafePath(e.name, "other entries are nested under this regular file")
			}
		}
		return unsafePath(e.name, "duplicate entry (same path as another after cleaning)")
	}
	n := &node{name: last, kind: e.kind, entry: i, parent: cur}
	cur.add(n)
	if n.kind == kindSymlink {
		t.links = append(t.links, n)
	}
	return nil
}

// checkTarget checks a symbolic link target on its own.
func checkTarget(name, target string) error {
	if target == "" {
		return unsafeSymlink(name, "target is empty")
	}
	if len(target) > maxTarget {
		return unsafeSymlink(name, "target is longer than %d bytes", maxTarget)
	}
	if err := checkBytes(target); err != "" {
		return unsafeSymlink(name, "target contains %s", err)
	}
	if target[0] == '/' {
		return unsafeSymlink(name, "target is an absolute path")
	}
	return nil
}

// resolveAll resolves every symbolic link in the tree, rejecting any whose
// resolution (following the package's other links, as the kernel would)
// steps outside the package root, loops, or nests too deeply.
func (t *tree) resolveAll(entries []entry) error {
	for _, l := range t.links {
		if _, _, err := t.resolveLink(entries, l, 0); err != nil {
			return err
		}
	}
	return nil
}

// resolveLink returns where link l leads and how many links resolving it
// follows, itself included; depth is how many links are being resolved
// around it. Results are memoized, so each link is walked once.
func (t *tree) resolveLink(entries []entry, l *node, depth int) (place, int, error) {
	name := entries[l.entry].name
	switch l.state {
	case resolved:
		return l.res, l.hops, nil
	case resolving:
		return place{}, 0, unsafeSymlink(name, "symbolic links form a loop")
	}
	if depth >= maxLinkDepth {
		return place{}, 0, unsafeSymlink(name, "resolving it follows more than %d symbolic links", maxLinkDepth)
	}
	l.state = resolving
	p, hops := place{n: l.parent}, 1
	for part := range strings.SplitSeq(entries[l.entry].target, "/") {
		t.steps++
		if t.steps > maxResolveSteps {
			return place{}, 0, unsafeSymlink(name, "symbolic links are too complex to resolve")
		}
		switch {
		case part == "" || part == ".":
		case part == "..":
			switch {
			case p.virt > 0:
				p.virt--
			case p.n.parent == nil:
				return place{}, 0, unsafeSymlink(name, "target leads outside the package root")
			default:
				p.n = p.n.parent
			}
		case p.virt > 0:
			p.virt++
		default:
			child := p.n.children[part]
			switch {
			case child == nil:
				p.virt = 1
			case child.kind == kindSymlink:
				r, h, err := t.resolveLink(entries, child, depth+1)
				if err != nil {
					return place{}, 0, err
				}
				// The kernel counts every link it follows while resolving
				// one path, and gives up after 40.
				if hops += h; hops > maxLinkDepth {
					return place{}, 0, unsafeSymlink(name, "resolving it follows more than %d symbolic links", maxLinkDepth)
				}
				p = r
			default:
				// A regular file is a node without children: anything
				// below it is virtual, as for a missing directory.
				p.n = child
			}
		}
	}
	l.state, l.res, l.hops = resolved, p, hops
	return p, hops, nil
}
