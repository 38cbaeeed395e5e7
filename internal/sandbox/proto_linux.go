package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net"

	"golang.org/x/sys/unix"
)

// conn is one end of the control channel.
type conn struct {
	c   *net.UnixConn
	buf []byte
	oob []byte
}

// Receive buffers: the init must take a whole start message; the host only
// ever receives short messages (error texts are capped at maxErrorText
// bytes, which JSON escaping can grow up to sixfold), and keeps one buffer
// per live sandbox.
const (
	initRecvBuf = maxMessage + 1
	hostRecvBuf = 8 * maxErrorText
)

func newConn(c *net.UnixConn, bufSize int) *conn {
	return &conn{c: c, buf: make([]byte, bufSize), oob: make([]byte, unix.CmsgSpace(4*maxFDs))}
}

// send writes m with fds attached; fds stay owned by the caller.
func (c *conn) send(m message, fds ...int) error {
	b, err := encode(m)
	if err != nil {
		return err
	}
	if len(fds) != m.fds() {
		return fmt.Errorf("sandbox: %s message with %d descriptors, want %d", m.Kind, len(fds), m.fds())
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	n, oobn, err := c.c.WriteMsgUnix(b, oob, nil)
	if err != nil {
		return fmt.Errorf("sandbox: send %s: %w", m.Kind, err)
	}
	if n != len(b) || oobn != len(oob) {
		return fmt.Errorf("sandbox: send %s: short write", m.Kind)
	}
	return nil
}

// recv reads one message and the descriptors that came with it, which the
// caller then owns; on error every received descriptor is already closed.
// io.EOF means the peer closed its end.
func (c *conn) recv() (message, []int, error) {
	n, oobn, flags, _, err := c.c.ReadMsgUnix(c.buf, c.oob)
	fds, perr := parseRights(c.oob[:oobn])
	fail := func(err error) (message, []int, error) {
		closeFDs(fds)
		return message{}, nil, err
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fail(io.EOF)
		}
		return fail(fmt.Errorf("sandbox: receive: %w", err))
	}
	if perr != nil {
		return fail(perr)
	}
	if n == 0 && oobn == 0 {
		return fail(io.EOF)
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || n >= len(c.buf) {
		return fail(fmt.Errorf("%w: truncated message", errProtocol))
	}
	m, err := decode(c.buf[:n], len(fds))
	if err != nil {
		return fail(err)
	}
	return m, fds, nil
}

func (c *conn) close() error { return c.c.Close() }

// waitReadable blocks the calling thread in poll(2) until a message is
// ready. A zygote waits for its claim this way on its locked thread, so the
// claim wakes that thread directly instead of going through Go's network
// poller and a hand-off between threads.
func (c *conn) waitReadable() error {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return err
	}
	var perr error
	err = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, perr = unix.Poll(fds, -1)
			if perr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return perr
}

// parseRights extracts the descriptors of every SCM_RIGHTS message in oob.
func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("%w: control message: %v", errProtocol, err)
	}
	var fds []int
	var bad error
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			bad = fmt.Errorf("%w: unexpected control message %d/%d", errProtocol, msgs[i].Header.Level, msgs[i].Header.Type)
			continue
		}
		rights, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			bad = fmt.Errorf("%w: rights: %v", errProtocol, err)
			continue
		}
		fds = append(fds, rights...)
	}
	if bad != nil {
		closeFDs(fds)
		return nil, bad
	}
	return fds, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}
