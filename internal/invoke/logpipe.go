package invoke

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"time"
)

// maxSegment bounds the log output kept for one invocation.
const maxSegment = 1 << 20

// logPipe is the pipe an environment's stdout and stderr write to, and its
// reader, which splits the output into lines and cuts it into per-invocation
// segments at sync markers.
type logPipe struct {
	r, w   *os.File
	marker []byte // "\x00cloister-sync-<random>\n": unforgeable by the function

	mu        sync.Mutex
	lines     []string
	bytes     int
	truncated bool
	partial   []byte
	synced    chan struct{} // receives one value per marker read
	eof       chan struct{}
}

func newLogPipe() (*logPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	return &logPipe{
		r: r, w: w,
		marker: []byte("\x00cloister-sync-" + hex.EncodeToString(tok[:]) + "\n"),
		synced: make(chan struct{}, 4),
		eof:    make(chan struct{}),
	}, nil
}

// run reads the pipe until every write end is closed.
func (p *logPipe) run() {
	defer close(p.eof)
	buf := make([]byte, 64<<10)
	var pending []byte
	for {
		n, err := p.r.Read(buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.Index(pending, p.marker)
				if i < 0 {
					break
				}
				p.consume(pending[:i], true)
				pending = pending[i+len(p.marker):]
				p.synced <- struct{}{}
			}
			// Keep a tail that might be the start of a marker.
			keep := min(len(pending), len(p.marker)-1)
			if cut := len(pending) - keep; cut > 0 {
				p.consume(pending[:cut], false)
				pending = append(pending[:0:0], pending[cut:]...)
			}
		}
		if err != nil {
			p.consume(pending, true)
			return
		}
	}
}

// consume adds output to the current segment; flush ends a partial line.
func (p *logPipe) consume(b []byte, flush bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	data := append(p.partial, b...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		p.addLine(string(data[:i]))
		data = data[i+1:]
	}
	p.partial = append(p.partial[:0:0], data...)
	if flush && len(p.partial) > 0 {
		p.addLine(string(p.partial))
		p.partial = nil
	}
	if len(p.partial) > 64<<10 { // a very long line without newline
		p.addLine(string(p.partial))
		p.partial = nil
	}
}

func (p *logPipe) addLine(s string) {
	if p.bytes+len(s) > maxSegment {
		p.truncated = true
		return
	}
	p.lines = append(p.lines, s)
	p.bytes += len(s)
}

var errPipeClosed = errors.New("invoke: log pipe closed")

// sync waits until everything written to the pipe before the call has been
// read into the current segment.
func (p *logPipe) sync(timeout time.Duration) error {
	for drained := false; !drained; { // forget markers of syncs that gave up
		select {
		case <-p.synced:
		default:
			drained = true
		}
	}
	if _, err := p.w.Write(p.marker); err != nil {
		return err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.synced:
		return nil
	case <-p.eof:
		return errPipeClosed
	case <-t.C:
		return errors.New("invoke: log sync timed out")
	}
}

// take returns the current segment's lines and starts a new segment.
func (p *logPipe) take() (lines []string, truncated bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines, truncated = p.lines, p.truncated
	p.lines, p.bytes, p.truncated = nil, 0, false
	return lines, truncated
}

// closeWriter drops the host's write end; the reader ends once the sandbox's
// copies are gone too.
func (p *logPipe) closeWriter() { p.w.Close() }
