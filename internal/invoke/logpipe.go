package invoke

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
)

// maxSegment bounds the log output kept for one invocation.
const maxSegment = 1 << 20

// segment is the output of one stretch of an environment's life: its init,
// or one invocation.
type segment struct {
	lines     []string
	truncated bool
}

// logPipe is the pipe an environment's stdout and stderr write to, and its
// reader, which splits the output into lines and cuts it into segments at
// markers. The host writes a marker into the same pipe when an invocation
// ends; since the pipe is FIFO, everything the function wrote before is
// ahead of it, and everything the next invocation writes is behind it.
type logPipe struct {
	r, w   *os.File
	marker []byte // "\x00cloister-cut-<random>\n": unforgeable by the function

	lines     []string
	bytes     int
	truncated bool
	partial   []byte

	wmu sync.Mutex
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
		marker: []byte("\x00cloister-cut-" + hex.EncodeToString(tok[:]) + "\n"),
	}, nil
}

// run reads the pipe until every write end is closed. It calls cut with
// each segment, in order, on its own goroutine: with marker set for the
// output before a marker, unset for what followed the last marker.
func (p *logPipe) run(cut func(seg segment, marker bool)) {
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
				cut(p.take(), true)
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
			cut(p.take(), false)
			return
		}
	}
}

// consume adds output to the current segment; flush ends a partial line.
func (p *logPipe) consume(b []byte, flush bool) {
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

// take returns the current segment and starts a new one.
func (p *logPipe) take() segment {
	s := segment{lines: p.lines, truncated: p.truncated}
	p.lines, p.bytes, p.truncated = nil, 0, false
	return s
}

// cut ends the current segment: what was written before the call belongs to
// it. It costs one small write and never waits for the reader.
func (p *logPipe) cut() error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err := p.w.Write(p.marker)
	return err
}

// closeWriter drops the host's write end; the reader ends once the sandbox's
// copies are gone too.
func (p *logPipe) closeWriter() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.w.Close()
}
