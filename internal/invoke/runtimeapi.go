package invoke

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Runtime API limits.
const (
	maxResponse = 6291556 // Lambda's limit for a function's response
	apiPrefix   = "/2018-06-01/runtime/"
	nextPath    = apiPrefix + "invocation/next"
	initErrPath = apiPrefix + "init/error"
	// maxInitError bounds an /init/error body; maxOtherBody any body the
	// Runtime API ignores (it is read only to keep the connection usable).
	maxInitError = 1 << 20
	maxOtherBody = 64 << 10
	// headerTimeout bounds reading a request head on a connection that no
	// invocation is waiting on, and writeTimeout writing a reply there.
	headerTimeout = 10 * time.Second
	writeTimeout  = 10 * time.Second
	// maxRuntimeConns caps concurrent Runtime API connections from one
	// environment, so a hostile function cannot pin host goroutines.
	maxRuntimeConns = 4
)

// How the Runtime API is served. Each accepted connection gets a goroutine
// that reads its requests until it reads a GET /next; it then parks the
// connection with the environment and ends. An invocation takes the parked
// connection and does the rest on its own goroutine: it writes the event as
// the /next response, reads the runtime's POST /response (or /error), and
// answers 202. The connection then stays with the environment, unread, until
// the next invocation reads the runtime's next GET /next from it. On the hot
// path no other goroutine is woken.
//
// Anything unusual falls back to the goroutine-per-connection way: a runtime
// that answers on another connection (that connection's goroutine delivers
// the outcome and interrupts the invocation's read), asks for the next event
// without answering, or closes its connection. The invocation then waits for
// its outcome on a channel, the function's timeout or the sandbox's end.

// invocation is one event handed to an environment.
type invocation struct {
	id            string
	payload       []byte
	deadline      time.Time
	arn           string
	clientContext string // decoded JSON
	traceID       string
	depth         int // how many invocations caused this one

	once     sync.Once
	result   chan outcome // buffered 1
	taken    atomic.Bool  // the event was written to the runtime
	answered atomic.Bool  // the runtime posted its response or error
}

// outcome is what the runtime reported for an invocation.
type outcome struct {
	payload   []byte
	isError   bool
	errorType string
}

func (inv *invocation) deliver(o outcome) bool {
	delivered := false
	inv.once.Do(func() {
		inv.result <- o
		delivered = true
	})
	return delivered
}

// rconn is one connection from the runtime.
type rconn struct {
	nc   net.Conn
	lr   lineReader
	req  wireRequest
	wbuf []byte
}

func newRconn(nc net.Conn) *rconn {
	return &rconn{nc: nc, lr: lineReader{br: bufio.NewReaderSize(nc, 4<<10)}}
}

// runtimeAPI is an environment's Runtime API state.
type runtimeAPI struct {
	ln net.Listener

	mu      sync.Mutex
	closed  bool
	conns   map[*rconn]bool // every open connection
	parked  []*rconn        // a GET /next read, awaiting an event
	ready   []*rconn        // between requests, read by nobody
	reading *rconn          // the connection the invocation is reading
	cur     *invocation     // the invocation the runtime is running
	wake    chan struct{}   // buffered 1: a connection was parked
	ended   bool            // the sandbox has ended

	lastDepth int
}

// serveRuntimeAPI starts serving the Runtime API on ln.
func (e *env) serveRuntimeAPI(ln net.Listener) {
	e.rt.ln = limitListener(ln, maxRuntimeConns)
	e.rt.conns = map[*rconn]bool{}
	e.rt.wake = make(chan struct{}, 1)
	e.wg.Go(e.acceptLoop)
	e.wg.Go(e.watchSandbox)
}

func (e *env) acceptLoop() {
	for {
		nc, err := e.rt.ln.Accept()
		if err != nil {
			return
		}
		rc := newRconn(nc)
		e.rt.mu.Lock()
		if e.rt.closed {
			e.rt.mu.Unlock()
			nc.Close()
			return
		}
		e.rt.conns[rc] = true
		e.rt.mu.Unlock()
		e.wg.Go(func() { e.serveConn(rc) })
	}
}

// watchSandbox interrupts the invocation's read when the sandbox ends: a
// process the function left behind may hold the connection open.
func (e *env) watchSandbox() {
	select {
	case <-e.ended:
	case <-e.closing:
		return
	}
	e.rt.mu.Lock()
	e.rt.ended = true
	if e.rt.reading != nil {
		interrupt(e.rt.reading)
	}
	e.rt.mu.Unlock()
}

// closeRuntimeAPI closes the listener and every connection.
func (e *env) closeRuntimeAPI() {
	e.rt.mu.Lock()
	e.rt.closed = true
	for rc := range e.rt.conns {
		rc.nc.Close()
	}
	e.rt.mu.Unlock()
	if e.rt.ln != nil {
		e.rt.ln.Close()
	}
}

// dropConn closes a connection and forgets it.
func (e *env) dropConn(rc *rconn) {
	rc.nc.Close()
	e.rt.mu.Lock()
	delete(e.rt.conns, rc)
	e.rt.mu.Unlock()
}

// interrupt makes a blocked read on rc return. Called with rt.mu held.
func interrupt(rc *rconn) { _ = rc.nc.SetReadDeadline(aLongTimeAgo) }

var aLongTimeAgo = time.Unix(1, 0)

// serveConn reads requests on a connection that no invocation owns, until
// the runtime asks for the next event; the connection is then parked.
func (e *env) serveConn(rc *rconn) {
	for {
		_ = rc.nc.SetReadDeadline(time.Time{})
		if _, err := rc.lr.br.Peek(1); err != nil {
			e.dropConn(rc)
			return
		}
		_ = rc.nc.SetReadDeadline(time.Now().Add(headerTimeout))
		_ = rc.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		next, ok := e.readRequest(rc)
		_ = rc.nc.SetReadDeadline(time.Time{})
		switch {
		case !ok:
			return
		case next:
			e.park(rc)
			return
		}
		if keep, _, _ := e.serveOther(rc, nil); !keep {
			return
		}
	}
}

// readRequest reads the head of rc's next request and reports whether it
// is GET /next, having read (and discarded) any body that carries; ok is
// false when that failed: the runtime was answered if it could be, and the
// connection dropped.
func (e *env) readRequest(rc *rconn) (next, ok bool) {
	if err := rc.lr.readHead(&rc.req); err != nil {
		e.replyError(rc, err)
		return false, false
	}
	req := &rc.req
	if req.method != "GET" || req.path != nextPath {
		return false, true
	}
	if req.hasBody() {
		if err := e.readBody(rc, maxOtherBody); err != nil {
			e.replyError(rc, err)
			return false, false
		}
	}
	return true, true
}

// park hands a connection with a pending GET /next to the environment.
func (e *env) park(rc *rconn) {
	e.initOnce.Do(func() { close(e.initDone) })
	e.rt.mu.Lock()
	if e.rt.closed {
		e.rt.mu.Unlock()
		e.dropConn(rc)
		return
	}
	e.rt.parked = append(e.rt.parked, rc)
	if e.rt.reading != nil && e.rt.cur == nil {
		// The invocation is waiting for /next on another connection.
		interrupt(e.rt.reading)
	}
	e.rt.mu.Unlock()
	select {
	case e.rt.wake <- struct{}{}:
	default:
	}
}

// serveOther serves any request but GET /next and reports whether the
// connection stays open. inv is the invocation whose goroutine reads the
// connection (nil on a connection goroutine); an outcome for it is returned
// (mine set) rather than delivered.
func (e *env) serveOther(rc *rconn, inv *invocation) (keep bool, o outcome, mine bool) {
	req := &rc.req
	p := req.path
	switch {
	case req.method == "POST" && p == initErrPath:
		if err := e.readBody(rc, maxInitError); err != nil {
			e.replyError(rc, err)
			return false, o, false
		}
		select {
		case e.initErr <- normalizeError(req.body, req.errType):
		default:
		}
		return e.accepted(rc), o, false
	case req.method == "POST" && strings.HasPrefix(p, apiPrefix+"invocation/"):
		id, kind, ok := strings.Cut(strings.TrimPrefix(p, apiPrefix+"invocation/"), "/")
		if ok && (kind == "response" || kind == "error") {
			return e.serveResult(rc, inv, id, kind)
		}
	}
	if req.hasBody() {
		if err := e.readBody(rc, maxOtherBody); err != nil {
			e.replyError(rc, err)
			return false, o, false
		}
	}
	return e.reply(rc, 404, runtimeError("InvalidRequest", "unknown Runtime API path")), o, false
}

// serveResult serves POST /invocation/{id}/response and /error. On the
// invocation's own goroutine (self != nil) the outcome is returned; on a
// connection goroutine it is delivered, and the invocation's read of its
// own connection interrupted.
func (e *env) serveResult(rc *rconn, self *invocation, id, kind string) (keep bool, o outcome, mine bool) {
	e.rt.mu.Lock()
	inv := e.rt.cur
	e.rt.mu.Unlock()
	req := &rc.req
	if inv == nil || inv.id != id {
		if err := e.readBody(rc, maxResponse); err != nil {
			e.replyError(rc, err)
			return false, o, false
		}
		return e.reply(rc, 400, runtimeError("InvalidRequestID", "Invalid request ID")), o, false
	}
	err := e.readBody(rc, maxResponse)
	switch {
	case errors.Is(err, errTooLarge):
		o = outcome{isError: true, errorType: "Function.ResponseSizeTooLarge",
			payload: errorPayload("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes).")}
		first := !inv.answered.Swap(true)
		if first {
			e.finish(inv, self, o)
		}
		e.replyError(rc, &wireError{status: 413, msg: "Response payload size exceeded maximum allowed payload size (6291556 bytes)."})
		return false, o, first && self == inv
	case err != nil:
		e.replyError(rc, err)
		return false, o, false
	}
	switch {
	case kind == "error":
		o = outcome{isError: true, errorType: req.errType, payload: normalizeError(req.body, req.errType)}
	case req.trailers.errType != "":
		// A streamed response that failed midway reports its error in
		// trailers; aws-lambda-go sends the error body base64-encoded.
		typ := req.trailers.errType
		body := []byte(req.trailers.errBody)
		if raw, err := base64.StdEncoding.DecodeString(req.trailers.errBody); err == nil && json.Valid(raw) {
			body = raw
		}
		o = outcome{isError: true, errorType: typ, payload: normalizeError(body, typ)}
	default:
		o = outcome{payload: req.body}
	}
	if inv.answered.Swap(true) {
		return e.reply(rc, 400, runtimeError("InvalidStateTransition", "State transition from Ready to Running failed for runtime. Error: invocation already answered")), o, false
	}
	// Acknowledge first, then hand the outcome over: the runtime's next
	// /next then overlaps with the response to the invoker.
	keep = e.accepted(rc)
	e.finish(inv, self, o)
	return keep, o, self == inv
}

// finish ends the runtime's work on inv: on a connection goroutine the
// outcome is delivered and the invocation's own read interrupted.
func (e *env) finish(inv, self *invocation, o outcome) {
	e.rt.mu.Lock()
	if e.rt.cur == inv {
		e.rt.cur = nil
	}
	if self != inv {
		inv.deliver(o)
		if e.rt.reading != nil {
			interrupt(e.rt.reading)
		}
	}
	e.rt.mu.Unlock()
}

// readBody reads the body of rc's request, answering Expect: 100-continue.
func (e *env) readBody(rc *rconn, limit int64) error {
	req := &rc.req
	if req.expect && req.hasBody() {
		if req.length > limit {
			return errTooLarge
		}
		if _, err := rc.nc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); err != nil {
			return err
		}
	}
	return rc.lr.readBody(req, limit)
}

// accepted answers 202 and reports whether the connection stays open.
func (e *env) accepted(rc *rconn) bool {
	return e.reply(rc, 202, acceptedBody)
}

var acceptedBody = []byte(`{"status":"OK"}`)

// reply writes a response with a JSON body and reports whether the
// connection stays open; it closes it otherwise.
func (e *env) reply(rc *rconn, status int, body []byte) bool {
	req := &rc.req
	closing := req.close
	b := appendHead(rc.wbuf[:0], status, len(body), closing, req.http10)
	b = append(b, "\r\n"...)
	if req.method != "HEAD" {
		b = append(b, body...)
	}
	rc.wbuf = b[:0]
	if _, err := rc.nc.Write(b); err != nil || closing {
		e.dropConn(rc)
		return false
	}
	return true
}

// replyError answers a malformed or refused request (if the connection
// still works) and closes the connection.
func (e *env) replyError(rc *rconn, err error) {
	var we *wireError
	if errors.As(err, &we) {
		rc.req.close = true
		_ = rc.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		e.reply(rc, we.status, runtimeError("InvalidRequest", we.msg))
	}
	e.dropConn(rc)
}

func runtimeError(typ, msg string) []byte {
	b, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": typ})
	return b
}

// Errors of an invocation's attempt to reach its runtime.
var (
	errLost    = errors.New("invoke: the runtime ended before taking the event")
	errTimeout = errors.New("invoke: the function timed out")
)

// takeNext returns a connection whose GET /next has been read, waiting for
// one if needed, and whether it was parked (its deadlines are then not set
// yet). It fails with errLost when the sandbox ends first and errTimeout at
// inv's deadline.
func (e *env) takeNext(inv *invocation) (_ *rconn, parked bool, _ error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		e.rt.mu.Lock()
		if e.rt.ended || e.rt.closed {
			e.rt.mu.Unlock()
			return nil, false, errLost
		}
		if n := len(e.rt.parked); n > 0 {
			// The most recently parked: a client that gave up on a
			// connection and asked again on a new one is on the newest.
			rc := e.rt.parked[n-1]
			e.rt.parked = e.rt.parked[:n-1]
			e.rt.mu.Unlock()
			if alive(rc) {
				return rc, true, nil
			}
			e.dropConn(rc)
			continue
		}
		if n := len(e.rt.ready); n > 0 {
			rc := e.rt.ready[n-1]
			e.rt.ready = e.rt.ready[:n-1]
			if rc.lr.br.Buffered() > 0 && !alive(rc) {
				// A request pipelined before the runtime closed the
				// connection: nobody is left to answer.
				e.rt.mu.Unlock()
				e.dropConn(rc)
				continue
			}
			_ = rc.nc.SetDeadline(inv.deadline)
			e.rt.reading = rc
			e.rt.mu.Unlock()
			got, interrupted := e.readNext(rc, inv)
			e.rt.mu.Lock()
			e.rt.reading = nil
			if interrupted {
				// Before the runtime sent anything on rc: rc stays usable.
				e.rt.ready = append(e.rt.ready, rc)
			}
			e.rt.mu.Unlock()
			switch {
			case got:
				return rc, false, nil
			case interrupted && !time.Now().Before(inv.deadline):
				return nil, false, errTimeout
			}
			continue // interrupted in time, or the connection is gone
		}
		e.rt.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(time.Until(inv.deadline))
		}
		select {
		case <-e.rt.wake:
		case <-e.ended:
			e.rt.mu.Lock()
			e.rt.ended = true
			e.rt.mu.Unlock()
		case <-timer.C:
			return nil, false, errTimeout
		}
	}
}

// readNext reads requests on a ready connection until the runtime's GET
// /next, reporting whether that was read. interrupted is set when the read
// was interrupted (or timed out) before another request began; otherwise a
// connection that yields no GET /next was closed.
func (e *env) readNext(rc *rconn, inv *invocation) (got, interrupted bool) {
	for {
		if _, err := rc.lr.br.Peek(1); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return false, true
			}
			e.dropConn(rc)
			return false, false
		}
		next, ok := e.readRequest(rc)
		if !ok || next {
			return next, false
		}
		if keep, _, _ := e.serveOther(rc, inv); !keep {
			return false, false
		}
	}
}

// alive reports whether the runtime still holds a connection open, without
// blocking. A request already read into the buffer does not make it so: a
// runtime that asked for an event and then closed the connection cannot
// receive it.
func alive(rc *rconn) bool {
	sc, ok := rawConn(rc.nc)
	if !ok {
		return true
	}
	// A deadline left from an earlier invocation would stop Read before
	// it looks at the socket; nobody else reads rc now.
	_ = rc.nc.SetReadDeadline(time.Time{})
	open := true
	var buf [1]byte
	_ = sc.Read(func(fd uintptr) bool {
		n, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		open = n > 0 || err == unix.EAGAIN || err == unix.EINTR
		return true
	})
	return open
}

func rawConn(nc net.Conn) (syscall.RawConn, bool) {
	if lc, ok := nc.(*limitedConn); ok {
		nc = lc.Conn
	}
	c, ok := nc.(syscall.Conn)
	if !ok {
		return nil, false
	}
	sc, err := c.SyscallConn()
	return sc, err == nil
}

// run hands inv to the runtime and waits for its outcome: "ok" (o is
// set), "timeout", "crash" (the sandbox ended while running it) or "lost"
// (the sandbox ended before its runtime took the event).
func (e *env) run(inv *invocation) (outcome, string) {
	rc, fromParked, err := e.takeNext(inv)
	switch {
	case errors.Is(err, errTimeout):
		return outcome{}, "timeout"
	case err != nil:
		return outcome{}, "lost"
	}
	e.rt.mu.Lock()
	e.rt.cur = inv
	e.rt.lastDepth = inv.depth
	if fromParked {
		_ = rc.nc.SetDeadline(inv.deadline)
	}
	e.rt.reading = rc
	e.rt.mu.Unlock()
	inv.taken.Store(true)
	if err := e.writeNext(rc, inv); err != nil {
		e.rt.mu.Lock()
		e.rt.reading = nil
		e.rt.mu.Unlock()
		e.dropConn(rc)
		return e.await(inv)
	}
	o, ok := e.readResult(rc, inv)
	e.rt.mu.Lock()
	e.rt.reading = nil
	e.rt.mu.Unlock()
	if ok {
		return o, "ok"
	}
	return e.await(inv)
}

// writeNext writes inv as the response to rc's GET /next.
func (e *env) writeNext(rc *rconn, inv *invocation) error {
	b := append(rc.wbuf[:0], "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"...)
	b = appendField(b, "Lambda-Runtime-Aws-Request-Id", inv.id)
	b = append(b, "Lambda-Runtime-Deadline-Ms: "...)
	b = strconv.AppendInt(b, inv.deadline.UnixMilli(), 10)
	b = append(b, "\r\n"...)
	b = appendField(b, "Lambda-Runtime-Invoked-Function-Arn", inv.arn)
	b = appendField(b, "Lambda-Runtime-Trace-Id", inv.traceID)
	if inv.clientContext != "" {
		b = appendField(b, "Lambda-Runtime-Client-Context", inv.clientContext)
	}
	closing := rc.req.close
	switch {
	case closing:
		b = append(b, "Connection: close\r\n"...)
	case rc.req.http10:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(inv.payload)), 10)
	b = append(b, "\r\n\r\n"...)
	var err error
	if len(inv.payload) <= 16<<10 {
		b = append(b, inv.payload...)
		_, err = rc.nc.Write(b)
	} else {
		bufs := net.Buffers{b, inv.payload}
		_, err = bufs.WriteTo(rc.nc)
	}
	rc.wbuf = b[:0]
	if err == nil && closing {
		err = io.EOF // the runtime asked to close after this response
	}
	return err
}

// readResult reads requests on rc, the connection inv was written to, until
// the runtime answers inv. ok is false when the outcome must be awaited
// instead (it came, or may come, another way).
func (e *env) readResult(rc *rconn, inv *invocation) (o outcome, ok bool) {
	for {
		if inv.answered.Load() {
			e.keepReady(rc)
			return o, false
		}
		if _, err := rc.lr.br.Peek(1); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && (inv.answered.Load() || !time.Now().Before(inv.deadline)) {
				// Answered on another connection, or timed out, before
				// the runtime began another request on rc.
				e.keepReady(rc)
			} else {
				e.dropConn(rc)
			}
			return o, false
		}
		next, ok := e.readRequest(rc)
		switch {
		case !ok:
			return o, false
		case next:
			// The runtime asks for the next event without answering this
			// one: it stays parked; the outcome may still come.
			e.park(rc)
			return o, false
		}
		keep, out, mine := e.serveOther(rc, inv)
		if mine {
			if keep {
				e.keepReady(rc)
			}
			return out, true
		}
		if !keep {
			return o, false
		}
	}
}

// keepReady returns a connection, between requests, to the environment.
func (e *env) keepReady(rc *rconn) {
	e.rt.mu.Lock()
	if e.rt.closed {
		e.rt.mu.Unlock()
		e.dropConn(rc)
		return
	}
	e.rt.ready = append(e.rt.ready, rc)
	e.rt.mu.Unlock()
}

// await waits for inv's outcome when it does not come on the connection
// the event was written to.
func (e *env) await(inv *invocation) (outcome, string) {
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case o := <-inv.result:
		return o, "ok"
	case <-timer.C:
		select {
		case o := <-inv.result: // answered at the wire
			return o, "ok"
		default:
			return outcome{}, "timeout"
		}
	case <-e.ended:
		select {
		case o := <-inv.result:
			return o, "ok"
		default:
		}
		return outcome{}, "crash"
	}
}

// normalizeError returns a runtime's error body as Lambda returns it to the
// invoker: the runtime's JSON as is, or a JSON error wrapping what it sent.
func normalizeError(body []byte, typ string) []byte {
	if len(body) > 0 && json.Valid(body) {
		return body
	}
	if typ == "" {
		typ = "Unhandled"
	}
	return errorPayload(typ, string(body))
}

func errorPayload(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{typ, msg})
	return b
}
