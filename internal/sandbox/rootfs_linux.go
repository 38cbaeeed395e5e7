package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The root is composed in the zygote's private mount namespace on a tmpfs
// mounted over /tmp (the one path every host has, as bubblewrap does), so
// the host keeps no scratch directory per sandbox, then pivot_root moves
// into it and the host tree is detached.
const (
	stage   = "/tmp"
	oldRoot = ".oldroot"
)

// Mount attribute sets (mount_setattr(2)).
const (
	attrRO     = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV
	attrMasked = attrRO | unix.MOUNT_ATTR_NOEXEC
	attrDevice = unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC
)

// Generated /etc. Lambda's function user is sbx_user1051 (993:990); host
// files owned by ids not mapped into the sandbox appear as nobody/nogroup.
var etcFiles = map[string]string{
	"passwd": "root:x:0:0:root:/root:/sbin/nologin\n" +
		"sbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n",
	"group": "root:x:0:\n" +
		"sbx_user1051:x:990:\n" +
		"nogroup:x:65534:\n",
	"hosts": "127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n",
	"nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files\n",
}

// Host files and directories shown read-only in /etc when they exist: CA
// certificates (their symlinks point into /usr/share) and the dynamic
// loader's cache, without which glibc falls back to a slow path search.
var etcBinds = []string{"ssl/certs", "ld.so.cache"}

// Top-level host paths that may be merged-/usr symlinks (Debian 12:
// /bin -> usr/bin) or real directories.
var usrAliases = []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// Paths under /usr hidden behind an empty read-only tmpfs: site-local
// software (toolchains, admin tools) is not the function's business.
var usrMasked = []string{"usr/local"}

// /proc entries hidden (files behind a read-only, nodev /dev/null; directories
// behind an empty read-only tmpfs), after runc's defaults plus kernel
// introspection files.
var procMasked = []string{
	"kcore", "keys", "key-users", "timer_list", "timer_stats", "latency_stats",
	"sched_debug", "kmsg", "kpagecount", "kpageflags", "kpagecgroup",
	"acpi", "asound", "scsi",
}

// /proc entries made read-only.
var procReadOnly = []string{"sys", "sysrq-trigger", "irq", "bus", "fs", "driver"}

// Device nodes bind-mounted from the host's /dev.
var devNodes = []string{"null", "zero", "full", "random", "urandom"}

var devLinks = map[string]string{
	"fd":     "/proc/self/fd",
	"stdin":  "/proc/self/fd/0",
	"stdout": "/proc/self/fd/1",
	"stderr": "/proc/self/fd/2",
}

// composeRoot builds the function-agnostic part of the root and moves into
// it. Everything a claim adds (/var/task, /var/runtime, /opt, /tmp) is
// mounted later on the empty directories made here.
func composeRoot() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount("tmpfs", stage, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC,
		"size=1m,nr_inodes=1024,mode=0755"); err != nil {
		return fmt.Errorf("mount root tmpfs: %w", err)
	}
	for _, d := range []string{oldRoot, "proc", "dev", "etc", "tmp", "usr", "var/task", "var/runtime", "opt"} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			return err
		}
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"usr", mountUsr},
		{"etc", makeEtc},
		{"dev", makeDev},
		{"proc", mountProc},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("compose /%s: %w", s.name, err)
		}
	}
	if err := unix.PivotRoot(stage, filepath.Join(stage, oldRoot)); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	if err := unix.Unmount("/"+oldRoot, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach host root: %w", err)
	}
	if err := unix.Rmdir("/" + oldRoot); err != nil {
		return fmt.Errorf("remove %s: %w", oldRoot, err)
	}
	if err := setattr("/", unix.MOUNT_ATTR_RDONLY, false); err != nil {
		return fmt.Errorf("root read-only: %w", err)
	}
	return nil
}

// setattr adds mount attributes with mount_setattr(2), which, unlike a
// remount, leaves the atime and other flags the kernel locked on mounts
// inherited from the host untouched.
func setattr(path string, attrs uint64, recursive bool) error {
	flags := uint(0)
	if recursive {
		flags = unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(unix.AT_FDCWD, path, flags, &unix.MountAttr{Attr_set: attrs}); err != nil {
		return fmt.Errorf("mount_setattr %s: %w", path, err)
	}
	return nil
}

// bind mounts the host path src (a file or a directory tree) at dst inside
// the stage and applies attrs to it and everything below.
func bind(src, dst string, attrs uint64) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	target := filepath.Join(stage, dst)
	if fi.IsDir() {
		err = os.MkdirAll(target, 0o755)
	} else {
		err = touch(target)
	}
	if err != nil {
		return err
	}
	if err := unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	return setattr(target, attrs, true)
}

func touch(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// mask hides dst (inside the stage): a directory behind an empty read-only
// tmpfs, anything else behind /dev/null made read-only and nodev, so that
// opening it fails.
func mask(dst string) error {
	target := filepath.Join(stage, dst)
	fi, err := os.Lstat(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		err := unix.Mount("tmpfs", target, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,nr_inodes=2,mode=0555")
		if err != nil {
			return fmt.Errorf("mask %s: %w", dst, err)
		}
		return nil
	}
	if err := unix.Mount("/dev/null", target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mask %s: %w", dst, err)
	}
	return setattr(target, attrMasked, false)
}

// mountUsr shows the host's /usr read-only and recreates the merged-/usr
// aliases (or binds real directories on hosts without merged /usr).
func mountUsr() error {
	if err := bind("/usr", "usr", attrRO); err != nil {
		return err
	}
	for _, m := range usrMasked {
		if err := mask(m); err != nil {
			return err
		}
	}
	for _, name := range usrAliases {
		fi, err := os.Lstat("/" + name)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return err
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink("/" + name)
			if err != nil {
				return err
			}
			clean := strings.TrimPrefix(filepath.Clean(target), "/")
			if !strings.HasPrefix(clean, "usr/") {
				return fmt.Errorf("/%s points outside /usr (%s)", name, target)
			}
			if err := os.Symlink(clean, filepath.Join(stage, name)); err != nil {
				return err
			}
		case fi.IsDir():
			if err := bind("/"+name, name, attrRO); err != nil {
				return err
			}
		}
	}
	return nil
}

func makeEtc() error {
	for name, content := range etcFiles {
		if err := os.WriteFile(filepath.Join(stage, "etc", name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, name := range etcBinds {
		err := bind(filepath.Join("/etc", name), filepath.Join("etc", name), attrMasked)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	// Lambda runs in UTC; Amazon Linux keeps its CA bundle under /etc/pki.
	links := map[string]string{
		"localtime":                     "/usr/share/zoneinfo/UTC",
		"pki/tls/certs/ca-bundle.crt":   "/etc/ssl/certs/ca-certificates.crt",
		"pki/tls/certs/ca-bundle.trust": "/etc/ssl/certs/ca-certificates.crt",
	}
	for name, target := range links {
		if _, err := os.Stat(target); err != nil {
			continue
		}
		link := filepath.Join(stage, "etc", name)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	return nil
}

// makeDev builds a minimal /dev: the harmless character devices of the
// host, the /proc/self/fd links, and nothing else (no /dev/shm, no
// terminals, no block devices).
func makeDev() error {
	dev := filepath.Join(stage, "dev")
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	for _, n := range devNodes {
		if err := bind("/dev/"+n, "dev/"+n, attrDevice); err != nil {
			return err
		}
	}
	for name, target := range devLinks {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	return setattr(dev, unix.MOUNT_ATTR_RDONLY, false)
}

// mountProc mounts a proc of the sandbox's pid namespace. The kernel allows
// it only while a fully visible proc is mounted in the namespace, so it
// runs before the host tree is detached.
func mountProc() error {
	proc := filepath.Join(stage, "proc")
	if err := unix.Mount("proc", proc, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc (the host's /proc must not be partly covered): %w", err)
	}
	for _, p := range procMasked {
		if err := mask(filepath.Join("proc", p)); err != nil {
			return err
		}
	}
	for _, p := range procReadOnly {
		target := filepath.Join(proc, p)
		if _, err := os.Lstat(target); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := unix.Mount(target, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", p, err)
		}
		if err := setattr(target, attrMasked, true); err != nil {
			return err
		}
	}
	return nil
}

// attachTree mounts a detached, read-only mount tree the host made with
// open_tree(2) at target.
func attachTree(fd int, target string) error {
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount %s: %w", target, err)
	}
	return nil
}

// mountTmp mounts the function's private, sized /tmp. Executing from it is
// allowed, as in Lambda.
func mountTmp(mb int) error {
	opts := fmt.Sprintf("size=%dm,mode=1777", mb)
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount /tmp: %w", err)
	}
	return nil
}
