package sandbox

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// loUp brings up the loopback interface of the sandbox's network namespace,
// its only interface.
func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	return nil
}

// listen opens a listening TCP socket on each loopback address inside the
// sandbox's network namespace, for the host to serve.
func listen(addrs []string) ([]int, error) {
	var fds []int
	fail := func(err error) ([]int, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return fail(err)
		}
		var sa unix.Sockaddr
		family := unix.AF_INET
		if ap.Addr().Is4() {
			sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
		} else {
			family = unix.AF_INET6
			sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
		}
		fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fail(fmt.Errorf("listen %s: %w", a, err))
		}
		fds = append(fds, fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail(fmt.Errorf("listen %s: %w", a, err))
		}
		if family == unix.AF_INET6 {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
				return fail(fmt.Errorf("listen %s: %w", a, err))
			}
		}
		if err := unix.Bind(fd, sa); err != nil {
			return fail(fmt.Errorf("listen %s: bind: %w", a, err))
		}
		if err := unix.Listen(fd, 128); err != nil {
			return fail(fmt.Errorf("listen %s: %w", a, err))
		}
	}
	return fds, nil
}
