package runtimes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// This file holds the test Runtime API server and the helpers that run the
// real runtime clients against it.

// waitLimit bounds how long a test waits for a client before failing it as
// hung. It is a deadlock guard, not a performance assertion.
const waitLimit = 60 * time.Second

// invocation is one event the test server hands out on /next.
type invocation struct {
	ID            string
	Payload       string
	Deadline      time.Time // zero: one minute from when it is queued
	ARN           string
	TraceID       string
	ClientContext string
	Cognito       string
}

// apiEvent is one report a client posted.
type apiEvent struct {
	Kind        string // "response", "error" or "init-error"
	ID          string
	Body        []byte
	ErrorType   string // Lambda-Runtime-Function-Error-Type
	ContentType string
}

// errorBody decodes an error report.
func (e apiEvent) errorBody(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Body, &m); err != nil {
		t.Fatalf("error body %q is not JSON: %v", e.Body, err)
	}
	return m
}

// fakeAPI is a Runtime API (2018-06-01) server for tests: it queues
// invocations and records what the client posts.
type fakeAPI struct {
	srv    *httptest.Server
	queue  chan invocation
	events chan apiEvent
	// postStatus, when non-zero, is the status answered to every POST.
	postStatus atomic.Int32
	nexts      atomic.Int32
}

func newFakeAPI(t testing.TB) *fakeAPI {
	a := &fakeAPI{
		queue:  make(chan invocation, 16),
		events: make(chan apiEvent, 16),
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.route))
	t.Cleanup(a.srv.Close)
	return a
}

// route dispatches on the escaped path by hand, so that any request ID,
// even "..", reaches the handler the way the client encoded it.
func (a *fakeAPI) route(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), prefix)
	switch {
	case !ok:
	case r.Method == http.MethodGet && rest == "invocation/next":
		a.next(w, r)
		return
	case r.Method == http.MethodPost && rest == "init/error":
		a.post(w, r, "init-error", "")
		return
	case r.Method == http.MethodPost && strings.HasPrefix(rest, "invocation/"):
		parts := strings.Split(strings.TrimPrefix(rest, "invocation/"), "/")
		if len(parts) != 2 || (parts[1] != "response" && parts[1] != "error") {
			break
		}
		id, err := url.PathUnescape(parts[0])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.post(w, r, parts[1], id)
		return
	}
	http.Error(w, "unknown Runtime API route", http.StatusNotFound)
}

func (a *fakeAPI) addr() string { return a.srv.Listener.Addr().String() }

func (a *fakeAPI) next(w http.ResponseWriter, r *http.Request) {
	a.nexts.Add(1)
	var inv invocation
	select {
	case inv = <-a.queue:
	case <-r.Context().Done():
		return
	}
	deadline := inv.Deadline
	if deadline.IsZero() {
		deadline = time.Now().Add(time.Minute)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.ID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.ARN)
	if inv.TraceID != "" {
		h.Set("Lambda-Runtime-Trace-Id", inv.TraceID)
	}
	if inv.ClientContext != "" {
		h.Set("Lambda-Runtime-Client-Context", inv.ClientContext)
	}
	if inv.Cognito != "" {
		h.Set("Lambda-Runtime-Cognito-Identity", inv.Cognito)
	}
	io.WriteString(w, inv.Payload)
}

func (a *fakeAPI) post(w http.ResponseWriter, r *http.Request, kind, id string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.events <- apiEvent{
		Kind:        kind,
		ID:          id,
		Body:        body,
		ErrorType:   r.Header.Get("Lambda-Runtime-Function-Error-Type"),
		ContentType: r.Header.Get("Content-Type"),
	}
	status := http.StatusAccepted
	if s := a.postStatus.Load(); s != 0 {
		status = int(s)
	}
	w.WriteHeader(status)
	io.WriteString(w, `{"status":"OK"}`)
}

// syncBuffer is a bytes.Buffer safe for a writer and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs one runtime client process against one fakeAPI.
type harness struct {
	t        testing.TB
	api      *fakeAPI
	cmd      *exec.Cmd
	stdout   syncBuffer
	stderr   syncBuffer
	exited   chan struct{}
	exitErr  error
	taskRoot string
	optDir   string
	seq      int
}

// clientSpec says what to run.
type clientSpec struct {
	files   map[string]string // relative to the task root
	opt     map[string]string // relative to the layer root (/opt)
	handler string
	env     map[string]string
}

var (
	installedDir  string
	installOnce   sync.Once
	installErr    error
	discovered    *Catalog
	discoverOnce  sync.Once
	discoverError error
)

// installForTests installs the clients once per test binary.
func installForTests(t testing.TB) string {
	t.Helper()
	installOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cloister-runtimes-test-")
		if err != nil {
			installErr = err
			return
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			installErr = err
			return
		}
		installedDir, installErr = Install(dir)
	})
	if installErr != nil {
		t.Fatalf("Install: %v", installErr)
	}
	return installedDir
}

// runtimeFor returns the first discovered runtime of the family, skipping
// the test when the host has none.
func runtimeFor(t testing.TB, fam Family) Runtime {
	t.Helper()
	discoverOnce.Do(func() { discovered, discoverError = Discover() })
	if discoverError != nil {
		t.Fatalf("Discover: %v", discoverError)
	}
	for _, name := range discovered.Names() {
		if rt, _ := discovered.Lookup(name); rt.Family == fam {
			return rt
		}
	}
	t.Skipf("no %s interpreter on this host (looked in /usr/bin)", fam)
	return Runtime{}
}

// start writes the spec's files and starts the runtime client.
func start(t testing.TB, rt Runtime, spec clientSpec) *harness {
	t.Helper()
	root := t.TempDir()
	h := &harness{
		t:        t,
		api:      newFakeAPI(t),
		exited:   make(chan struct{}),
		taskRoot: filepath.Join(root, "task"),
		optDir:   filepath.Join(root, "opt"),
	}
	writeTree(t, h.taskRoot, spec.files)
	writeTree(t, h.optDir, spec.opt)

	inst := installForTests(t)
	argv := make([]string, len(rt.Command))
	for i, a := range rt.Command {
		if rest, ok := strings.CutPrefix(a, RuntimeDir+"/"); ok {
			a = filepath.Join(inst, rest)
		}
		argv[i] = a
	}
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"LANG":                            "en_US.UTF-8", // as Lambda sets it; often not installed
		"TZ":                              ":UTC",
		"AWS_LAMBDA_RUNTIME_API":          h.api.addr(),
		"_HANDLER":                        spec.handler,
		"LAMBDA_TASK_ROOT":                h.taskRoot,
		"LAMBDA_RUNTIME_DIR":              inst,
		"_CLOISTER_OPT_DIR":               h.optDir,
		"AWS_LAMBDA_FUNCTION_NAME":        "fn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/fn",
		"AWS_LAMBDA_LOG_STREAM_NAME":      "2026/01/02/[$LATEST]0123456789abcdef",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "us-east-1",
	}
	for _, kv := range rt.Env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "NODE_PATH" {
			continue // it names the sandbox's /opt; the client derives one from _CLOISTER_OPT_DIR
		}
		env[k] = v
	}
	for k, v := range spec.env {
		env[k] = v
	}
	h.cmd = exec.Command(argv[0], argv[1:]...)
	for k, v := range env {
		h.cmd.Env = append(h.cmd.Env, k+"="+v)
	}
	h.cmd.Dir = root
	h.cmd.Stdout = &h.stdout
	h.cmd.Stderr = &h.stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	go func() {
		h.exitErr = h.cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		<-h.exited
		if t.Failed() {
			t.Logf("client stdout:\n%s\nclient stderr:\n%s", h.stdout.String(), h.stderr.String())
		}
	})
	return h
}

func writeTree(t testing.TB, root string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// send queues an invocation, filling in an ID and ARN when empty.
func (h *harness) send(inv invocation) invocation {
	h.seq++
	if inv.ID == "" {
		inv.ID = fmt.Sprintf("req-%04d-5e5c-4f2b-9c1d", h.seq)
	}
	if inv.ARN == "" {
		inv.ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
	}
	h.api.queue <- inv
	return inv
}

// event waits for the client's next report.
func (h *harness) event() apiEvent {
	h.t.Helper()
	return h.eventFor(h.t)
}

// eventFor is event, failing t rather than the harness's own test.
func (h *harness) eventFor(t testing.TB) apiEvent {
	t.Helper()
	select {
	case ev := <-h.api.events:
		return ev
	case <-h.exited:
		// A report may have raced the exit.
		select {
		case ev := <-h.api.events:
			return ev
		default:
		}
		t.Fatalf("client exited (%v) without reporting; stderr:\n%s", h.exitErr, h.stderr.String())
	case <-time.After(waitLimit):
		t.Fatalf("no report from the client within %v", waitLimit)
	}
	return apiEvent{}
}

// invoke sends an invocation and returns the client's report on it.
func (h *harness) invoke(inv invocation) apiEvent {
	h.t.Helper()
	inv = h.send(inv)
	ev := h.event()
	if ev.ID != inv.ID {
		h.t.Fatalf("report %s %q is for request %q, want %q", ev.Kind, ev.Body, ev.ID, inv.ID)
	}
	return ev
}

// response invokes with payload and requires a successful response.
func (h *harness) response(payload string) []byte {
	h.t.Helper()
	ev := h.invoke(invocation{Payload: payload})
	if ev.Kind != "response" {
		h.t.Fatalf("got %s %s (%s), want a response", ev.Kind, ev.Body, ev.ErrorType)
	}
	return ev.Body
}

// stop kills the client and waits for it, after which stdout and stderr
// hold everything it wrote. Output arrives through pipes, so a report can
// reach the test before the log lines written ahead of it.
func (h *harness) stop() {
	h.t.Helper()
	h.cmd.Process.Kill()
	select {
	case <-h.exited:
	case <-time.After(waitLimit):
		h.t.Fatalf("client still running after %v", waitLimit)
	}
}

// wait waits for the client to exit and returns its exit code.
func (h *harness) wait() int {
	h.t.Helper()
	select {
	case <-h.exited:
	case <-time.After(waitLimit):
		h.t.Fatalf("client still running after %v", waitLimit)
	}
	var ee *exec.ExitError
	if errors.As(h.exitErr, &ee) {
		return ee.ExitCode()
	}
	if h.exitErr != nil {
		h.t.Fatalf("wait: %v", h.exitErr)
	}
	return 0
}

// wantError checks an error report's type, header and message.
func wantError(t testing.TB, ev apiEvent, kind, errType, msg string) map[string]any {
	t.Helper()
	if ev.Kind != kind {
		t.Fatalf("got %s %s, want %s", ev.Kind, ev.Body, kind)
	}
	body := ev.errorBody(t)
	if body["errorType"] != errType {
		t.Errorf("errorType = %v, want %q", body["errorType"], errType)
	}
	if ev.ErrorType != errType {
		t.Errorf("Lambda-Runtime-Function-Error-Type = %q, want %q", ev.ErrorType, errType)
	}
	if body["errorMessage"] != msg {
		t.Errorf("errorMessage = %q, want %q", body["errorMessage"], msg)
	}
	return body
}

// jsonEqual reports whether two JSON documents are equal as values.
func jsonEqual(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("response %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("response = %s, want %s", gb, wb)
	}
}
