package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
)

// Invoker runs functions: the data plane's seam.
type Invoker interface {
	// Invoke runs one synchronous invocation.
	Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResult, error)
	// Enqueue durably queues an asynchronous (Event) invocation; it returns
	// only once the event is safely stored.
	Enqueue(ctx context.Context, req *InvokeRequest) error
}

// InvokeRequest is one invocation as the API received it.
type InvokeRequest struct {
	RequestID     string
	Function      *functions.Function
	Payload       []byte
	ClientContext string // base64-encoded JSON, as received
	LogTail       bool
	Caller        iam.Principal
	// Depth counts the invocations that caused this one (0 for a call from
	// outside): a destination function's invocation, or an Invoke made by
	// a function, is one deeper than its cause. Asynchronous invocations
	// stop chains that reach async.MaxDepth (Lambda's recursive loop
	// detection).
	Depth int
}

// InvokeResult is what a synchronous invocation produced.
type InvokeResult struct {
	Payload         []byte
	FunctionError   string // "Unhandled" when the function failed
	LogTail         []byte // last 4 KB of the invocation's log, when requested
	ExecutedVersion string
}

// Payload limits.
const (
	maxSyncPayload  = 6291456
	maxAsyncPayload = 1048576
	maxClientCtx    = 3583
)

func (s *Server) invoke(c *call) error {
	h := c.r.Header
	typ := h.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	if typ != "RequestResponse" && typ != "Event" && typ != "DryRun" {
		return awserr.New(awserr.Validation, "1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", truncate(typ, 32))
	}
	logType := h.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		return awserr.New(awserr.Validation, "1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", truncate(logType, 32))
	}
	cc := h.Get("X-Amz-Client-Context")
	if cc != "" {
		raw, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(raw) {
			return awserr.New(awserr.InvalidRequestContent, "Client context must be a valid Base64-encoded JSON object.")
		}
		if len(raw) > maxClientCtx {
			return awserr.New(awserr.InvalidRequestContent, "Client context must be smaller than %d bytes.", maxClientCtx)
		}
	}
	payload := c.body
	if typ == "Event" && len(payload) > maxAsyncPayload {
		return awserr.New(awserr.RequestEntityTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", maxAsyncPayload)
	}
	if len(bytes.TrimSpace(payload)) > 0 && !json.Valid(payload) {
		return awserr.New(awserr.InvalidRequestContent, "Could not parse request body into json: Could not parse payload into json: Unexpected character or end of input.")
	}
	fn, err := s.cfg.Functions.Resolve(c.ctx, c.ref, pickVersion)
	if err != nil {
		return err
	}
	switch fn.Config.State {
	case functions.StateActive:
	default:
		return awserr.New(awserr.ResourceConflict, "The operation cannot be performed at this time. The function is currently in the following state: %s", fn.Config.State)
	}
	if typ == "DryRun" {
		return c.empty(http.StatusNoContent)
	}
	if s.cfg.Invoker == nil {
		return ErrNoDataPlane()
	}
	req := &InvokeRequest{
		RequestID: c.requestID, Function: fn, Payload: payload, ClientContext: cc,
		LogTail: logType == "Tail", Caller: c.caller,
	}
	// A function calling from inside its sandbox passes on its own
	// invocation's depth: a chain that loops back on itself is stopped.
	if d, ok := CallerDepth(c.ctx); ok {
		req.Depth = d + 1
		if req.Depth > MaxDepth {
			return awserr.New(awserr.RecursiveInvocation, "Lambda detected a recursive loop: this call would be invocation %d of a chain that started with one invocation; the chain was stopped.", req.Depth+1)
		}
	}
	if typ == "Event" {
		if err := s.cfg.Invoker.Enqueue(c.ctx, req); err != nil {
			return err
		}
		return c.empty(http.StatusAccepted)
	}
	res, err := s.cfg.Invoker.Invoke(c.ctx, req)
	if err != nil {
		return err
	}
	out := c.w.Header()
	out.Set("X-Amz-Executed-Version", res.ExecutedVersion)
	if res.FunctionError != "" {
		out.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if req.LogTail {
		out.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.LogTail))
	}
	out.Set("Content-Type", "application/json")
	out.Set("Content-Length", strconv.Itoa(len(res.Payload)))
	c.status = http.StatusOK
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(res.Payload)
	return nil
}

// invokeAsync is the legacy InvokeAsync: the body is the event, queued as an
// Event invocation; 202 {"Status": 202}.
func (s *Server) invokeAsync(c *call) error {
	payload := c.body
	if len(payload) > maxAsyncPayload {
		return awserr.New(awserr.RequestEntityTooLarge, "Request must be smaller than %d bytes for the InvokeAsync operation", maxAsyncPayload)
	}
	if len(bytes.TrimSpace(payload)) > 0 && !json.Valid(payload) {
		return awserr.New(awserr.InvalidRequestContent, "Could not parse request body into json: Could not parse payload into json: Unexpected character or end of input.")
	}
	fn, err := s.cfg.Functions.Resolve(c.ctx, c.ref, pickVersion)
	if err != nil {
		return err
	}
	if fn.Config.State != functions.StateActive {
		return awserr.New(awserr.ResourceConflict, "The operation cannot be performed at this time. The function is currently in the following state: %s", fn.Config.State)
	}
	if s.cfg.Invoker == nil {
		return ErrNoDataPlane()
	}
	req := &InvokeRequest{RequestID: c.requestID, Function: fn, Payload: payload, Caller: c.caller}
	if err := s.cfg.Invoker.Enqueue(c.ctx, req); err != nil {
		return err
	}
	return c.json(http.StatusAccepted, map[string]int{"Status": http.StatusAccepted})
}

// MaxDepth is how many invocations a chain of functions calling functions
// may reach (Lambda stops recursive loops after about 16).
const MaxDepth = 16

type depthKey struct{}

// WithCallerDepth marks a request as made by a function from inside its
// sandbox, while serving an invocation of depth d (0 for one a client
// started).
func WithCallerDepth(ctx context.Context, d int) context.Context {
	return context.WithValue(ctx, depthKey{}, d)
}

// CallerDepth reports the depth of the invocation a request came from, if a
// function made it.
func CallerDepth(ctx context.Context) (int, bool) {
	d, ok := ctx.Value(depthKey{}).(int)
	return d, ok
}

// ErrNoDataPlane is the error of an invocation on a server that runs no
// functions (no data plane configured).
func ErrNoDataPlane() error {
	return awserr.New(awserr.ServiceUnavailable, "This Cloister server does not run functions (no data plane configured).")
}
