package invoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/sandbox"
)

// initTimeout bounds a runtime's start-up: its first /next must come within.
const initTimeout = 10 * time.Second

// envKey says which environments may serve an invocation: the same
// function version, with the same code and execution configuration.
type envKey struct {
	account     string
	function    string
	version     string
	incarnation string
	fingerprint string
}

// env is one execution environment.
type env struct {
	svc       *Service
	id        string
	key       envKey
	cfg       functions.Configuration
	logStream string
	sb        *sandbox.Sandbox
	cpu       int             // the CPU the environment is placed on, or -1; placement.mu guards it once started
	ended     <-chan struct{} // closed when the sandbox has ended (sb.Done)
	rt        runtimeAPI
	apiSrv    *http.Server // Cloister's API, for the function's own calls
	// credsExpire is when the environment's role credentials expire; it
	// retires before then.
	credsExpire time.Time
	pipe        *logPipe
	created     time.Time
	log         *slog.Logger

	closing  chan struct{}
	initDone chan struct{}
	initOnce sync.Once
	initErr  chan []byte

	// records feeds the log reader, which writes each invocation's log
	// when it reaches the marker that ends the invocation's output. A
	// record is always sent before its marker is written.
	records chan *record

	// set by the pool
	lastUsed     time.Time
	invocations  int
	initDuration time.Duration // reported with the first invocation
	retired      atomic.Bool
	unaccounted  atomic.Bool
	provisioned  atomic.Bool // kept initialized for a provisioned-concurrency configuration
	closeOnce    sync.Once
	wg           sync.WaitGroup
}

func newEnvID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "env-" + hex.EncodeToString(b[:])
}

// initFailure is a cold start that failed as Lambda reports it: a function
// error returned to the invoker.
type initFailure struct {
	errorType string
	payload   []byte
	tail      []byte // the init's log, for Invoke's LogType Tail
}

func (f *initFailure) Error() string { return "invoke: init failed: " + f.errorType }

// start starts an on-demand environment for fn and waits for its runtime to
// be ready. A runtime that fails to start yields an *initFailure.
func (s *Service) start(ctx context.Context, key envKey, fn *functions.Function, requestID string) (*env, error) {
	return s.startWith(ctx, key, fn, requestID, false)
}

// startWith is start, for provisioned-concurrency environments too.
func (s *Service) startWith(ctx context.Context, key envKey, fn *functions.Function, requestID string, provisioned bool) (*env, error) {
	spec, credsExpire, err := s.spec(ctx, fn, provisioned)
	if err != nil {
		return nil, err
	}
	pipe, err := newLogPipe()
	if err != nil {
		return nil, err
	}
	e := &env{
		svc: s, id: newEnvID(), key: key, cfg: fn.Config, pipe: pipe, created: time.Now(), cpu: -1,
		closing: make(chan struct{}), initDone: make(chan struct{}),
		initErr: make(chan []byte, 1), records: make(chan *record, 16), credsExpire: credsExpire,
	}
	e.logStream = logStreamName(e.created, fn.Config.Version)
	e.log = s.log.With("env", e.id, "function", fn.Config.FunctionName, "version", fn.Config.Version)
	spec.ID = e.id
	if e.cpu = s.place.take(fn.Config.MemorySize); e.cpu >= 0 {
		spec.CPUs = []int{e.cpu}
	}
	spec.Env = append(spec.Env, "AWS_LAMBDA_LOG_STREAM_NAME="+e.logStream)
	spec.Stdout, spec.Stderr = pipe.w, pipe.w
	e.wg.Go(func() {
		pipe.run(e.cut)
		// Records whose marker could not be written (the pipe broke)
		// are logged without output.
		for rec := range e.records {
			s.writeLog(rec, segment{})
		}
	})
	began := time.Now()
	sb, err := s.sandboxes.Start(ctx, spec)
	if err != nil {
		s.place.give(&e.cpu)
		close(e.records)
		pipe.closeWriter()
		e.wg.Wait()
		pipe.r.Close()
		return nil, fmt.Errorf("invoke: start sandbox: %w", err)
	}
	e.sb, e.ended = sb, sb.Done()
	lns := sb.Listeners()
	if len(lns) != 2 {
		e.destroy()
		return nil, fmt.Errorf("invoke: sandbox opened %d listeners, want 2", len(lns))
	}
	if h := s.api.Load(); h != nil {
		e.serveAPI(lns[1], *h)
	} else {
		lns[1].Close() // no API to offer: refuse connections
	}
	e.serveRuntimeAPI(lns[0])

	timer := time.NewTimer(initTimeout)
	defer timer.Stop()
	select {
	case <-e.initDone:
		e.initDuration = time.Since(began)
		// Cut the init output off, so that it is logged before the first
		// invocation's START line.
		e.records <- &record{env: e, init: true}
		_ = pipe.cut()
		return e, nil
	case body := <-e.initErr:
		tail := e.finishInit(requestID)
		e.destroy()
		return nil, &initFailure{errorType: errorTypeOf(body), payload: body, tail: tail}
	case <-sb.Done():
		exit := sb.Wait()
		tail := e.finishInit(requestID)
		e.destroy()
		typ := "Runtime.ExitError"
		if exit.OOMKilled {
			typ = "Runtime.OutOfMemory"
		}
		return nil, &initFailure{errorType: typ, payload: errorPayload(typ, fmt.Sprintf("RequestId: %s Error: %s", requestID, exitMessage(exit))), tail: tail}
	case <-timer.C:
		_ = sb.Kill()
		tail := e.finishInit(requestID)
		e.destroy()
		return nil, &initFailure{errorType: "Sandbox.Timedout", tail: tail,
			payload: errorPayload("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID, initTimeout.Seconds()))}
	case <-ctx.Done():
		e.destroy()
		return nil, ctx.Err()
	}
}

// finishInit logs the output of an environment whose init failed and
// returns it.
func (e *env) finishInit(requestID string) []byte {
	done := make(chan []byte, 1)
	e.records <- &record{env: e, init: true, tail: done}
	_ = e.pipe.cut()
	select {
	case t := <-done:
		return t
	case <-time.After(time.Second):
		return nil
	}
}

func exitMessage(x sandbox.Exit) string {
	switch {
	case x.Signal != 0:
		return "Runtime exited with error: signal: " + x.Signal.String()
	case x.Code != 0:
		return fmt.Sprintf("Runtime exited with error: exit status %d", x.Code)
	case x.Err != nil:
		return "Runtime exited with error: " + x.Err.Error()
	}
	return "Runtime exited without providing a reason"
}

func errorTypeOf(body []byte) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	if jsonUnmarshal(body, &e) == nil && e.ErrorType != "" {
		return e.ErrorType
	}
	return "Unhandled"
}

// destroy kills the environment and releases everything it holds. Safe to
// call more than once.
func (e *env) destroy() {
	e.closeOnce.Do(func() {
		close(e.closing)
		if e.sb != nil {
			if err := e.sb.Close(); err != nil {
				e.log.Warn("close sandbox", "err", err)
			}
		}
		e.closeRuntimeAPI()
		if e.apiSrv != nil {
			_ = e.apiSrv.Close()
		}
		close(e.records)
		e.pipe.closeWriter()
		e.wg.Wait()
		e.pipe.r.Close()
		e.svc.place.give(&e.cpu)
	})
}

// cut writes the log of the record a marker ends, on the log reader's
// goroutine. Output after the last marker belongs to no invocation (the
// environment is being destroyed) and is dropped.
func (e *env) cut(seg segment, marker bool) {
	if !marker {
		return
	}
	if rec, ok := <-e.records; ok {
		e.svc.writeLog(rec, seg)
	}
}

func logStreamName(t time.Time, version string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("2006/01/02") + "/[" + version + "]" + hex.EncodeToString(b[:])
}

// limitListener caps concurrent Runtime API connections from one
// environment, so a hostile function cannot pin host goroutines.
func limitListener(l net.Listener, n int) net.Listener {
	return &limitedListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitedListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
}

func (l *limitedListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *limitedListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
