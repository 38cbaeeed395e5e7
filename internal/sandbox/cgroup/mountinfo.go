package cgroup

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// mount is the part of a /proc/self/mountinfo line this package needs.
type mount struct {
	point     string   // mount point, unescaped
	fsType    string   // e.g. "cgroup", "cgroup2"
	superOpts []string // per-superblock options; for cgroup v1 they name the controllers
}

// maxMountinfoLine bounds one line; the kernel's own lines are far shorter.
const maxMountinfoLine = 64 << 10

// parseMountinfo parses the format of proc(5) /proc/<pid>/mountinfo:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Fields are separated by single spaces; zero or more optional fields end
// with a lone "-"; paths escape space, tab, newline and backslash as \ooo.
func parseMountinfo(r io.Reader) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxMountinfoLine)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		m, err := parseMountinfoLine(line)
		if err != nil {
			return nil, fmt.Errorf("cgroup: mountinfo line %d: %w", n, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroup: read mountinfo: %w", err)
	}
	return out, nil
}

func parseMountinfoLine(line string) (mount, error) {
	f := strings.Split(line, " ")
	// id, parent, major:minor, root, point, options, [optional...], "-", type, source, super options
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 10 || sep < 0 || len(f) < sep+4 {
		return mount{}, fmt.Errorf("%d fields, separator at %d", len(f), sep)
	}
	point, err := unescapeOctal(f[4])
	if err != nil {
		return mount{}, fmt.Errorf("mount point: %w", err)
	}
	if !strings.HasPrefix(point, "/") {
		return mount{}, fmt.Errorf("relative mount point %q", point)
	}
	return mount{point: point, fsType: f[sep+1], superOpts: strings.Split(f[sep+3], ",")}, nil
}

// unescapeOctal undoes the kernel's \ooo escaping of mountinfo paths.
func unescapeOctal(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("truncated escape in %q", s)
		}
		v := 0
		for _, c := range []byte(s[i+1 : i+4]) {
			if c < '0' || c > '7' {
				return "", fmt.Errorf("bad escape in %q", s)
			}
			v = v*8 + int(c-'0')
		}
		if v > 0xff {
			return "", fmt.Errorf("escape out of range in %q", s)
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}
