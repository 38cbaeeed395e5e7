package invoke

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Runtime API limits.
const (
	maxResponse = 6291556 // Lambda's limit for a function's response
	apiPrefix   = "/2018-06-01/runtime/"
)

// invocation is one event handed to an environment.
type invocation struct {
	id            string
	payload       []byte
	deadlineMs    int64
	arn           string
	clientContext string // decoded JSON
	traceID       string
	depth         int // how many invocations caused this one

	once     sync.Once
	result   chan outcome // buffered 1
	taken    atomic.Bool  // a /next handed the event to the runtime
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

// ServeHTTP is the Runtime API of one environment. Only the function inside
// the environment can reach it; it is still hostile input.
func (e *env) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && p == apiPrefix+"invocation/next":
		e.serveNext(w, r)
	case r.Method == http.MethodPost && p == apiPrefix+"init/error":
		e.serveInitError(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(p, apiPrefix+"invocation/"):
		rest := strings.TrimPrefix(p, apiPrefix+"invocation/")
		id, kind, ok := strings.Cut(rest, "/")
		if !ok || (kind != "response" && kind != "error") {
			runtimeError(w, http.StatusNotFound, "InvalidRequest", "unknown Runtime API path")
			return
		}
		e.serveResult(w, r, id, kind)
	default:
		runtimeError(w, http.StatusNotFound, "InvalidRequest", "unknown Runtime API path")
	}
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": typ})
	_, _ = w.Write(b)
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func (e *env) serveNext(w http.ResponseWriter, r *http.Request) {
	e.initOnce.Do(func() { close(e.initDone) })
	var inv *invocation
	select {
	case inv = <-e.next:
	case <-r.Context().Done():
		return
	case <-e.closing:
		return
	}
	inv.taken.Store(true)
	e.mu.Lock()
	e.cur = inv
	e.mu.Unlock()
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadlineMs, 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
	h.Set("Lambda-Runtime-Trace-Id", inv.traceID)
	if inv.clientContext != "" {
		h.Set("Lambda-Runtime-Client-Context", inv.clientContext)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)

}

func (e *env) serveResult(w http.ResponseWriter, r *http.Request, id, kind string) {
	e.mu.Lock()
	inv := e.cur
	e.mu.Unlock()
	if inv == nil || inv.id != id {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponse+1))
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", "could not read the request body")
		return
	}
	var o outcome
	switch {
	case len(body) > maxResponse:
		o = outcome{isError: true, errorType: "Function.ResponseSizeTooLarge",
			payload: errorPayload("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes).")}
	case kind == "error":
		typ := r.Header.Get("Lambda-Runtime-Function-Error-Type")
		o = outcome{isError: true, errorType: typ, payload: normalizeError(body, typ)}
	case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
		// A streamed response that failed midway reports its error in
		// trailers.
		typ := r.Trailer.Get("Lambda-Runtime-Function-Error-Type")
		o = outcome{isError: true, errorType: typ, payload: normalizeError([]byte(r.Trailer.Get("Lambda-Runtime-Function-Error-Body")), typ)}
	default:
		o = outcome{payload: body}
	}
	if len(body) > maxResponse {
		inv.deliver(o)
		e.clearCurrent(inv)
		runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes).")
		return
	}
	if inv.answered.Swap(true) {
		runtimeError(w, http.StatusBadRequest, "InvalidStateTransition", "State transition from Ready to Running failed for runtime. Error: invocation already answered")
		return
	}
	e.clearCurrent(inv)
	// Acknowledge first, then hand the outcome over: the runtime's next
	// /next then overlaps with the response to the invoker.
	accepted(w)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	inv.deliver(o)
}

func (e *env) clearCurrent(inv *invocation) {
	e.mu.Lock()
	if e.cur == inv {
		e.cur = nil
	}
	e.mu.Unlock()
}

func (e *env) serveInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	typ := r.Header.Get("Lambda-Runtime-Function-Error-Type")
	select {
	case e.initErr <- normalizeError(body, typ):
	default:
	}
	accepted(w)
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
