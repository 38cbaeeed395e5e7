package invoke

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Runtime API of one environment, served on a real loopback listener
// with no sandbox behind it: the tests play the runtime with net/http's
// client (as aws-lambda-go does) and with raw connections.

// testEnv is an environment with only its Runtime API.
type testEnv struct {
	*env
	addr string
	end  chan struct{} // close: the sandbox ends
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	end := make(chan struct{})
	e := &env{closing: make(chan struct{}), initDone: make(chan struct{}), initErr: make(chan []byte, 1), ended: end}
	e.serveRuntimeAPI(ln)
	t.Cleanup(func() {
		close(e.closing)
		e.closeRuntimeAPI()
		e.wg.Wait()
	})
	return &testEnv{env: e, addr: ln.Addr().String(), end: end}
}

func newInv(id string, timeout time.Duration) *invocation {
	return &invocation{id: id, payload: []byte(`{"n":1}`), deadline: time.Now().Add(timeout),
		arn: "arn:aws:lambda:us-east-1:123456789012:function:f", traceID: "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
		result: make(chan outcome, 1)}
}

// runtimeClient plays a runtime with net/http's client.
type runtimeClient struct {
	base string
	c    *http.Client
}

// client returns a runtime client with its own connection pool.
func (te *testEnv) client() *runtimeClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	return &runtimeClient{base: "http://" + te.addr + "/2018-06-01/runtime/", c: &http.Client{Transport: tr}}
}

// next asks for an event and returns its request ID and body.
func (rc *runtimeClient) next() (string, http.Header, []byte, error) {
	resp, err := rc.c.Get(rc.base + "invocation/next")
	if err != nil {
		return "", nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", nil, nil, fmt.Errorf("next: status %d: %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), resp.Header, body, err
}

// post sends a body as aws-lambda-go does (chunked, trailers declared)
// unless length is set, and returns the status.
func (rc *runtimeClient) post(path string, body []byte, hdr, trailer http.Header, chunked bool) (int, error) {
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length: chunked coding
	}
	req, err := http.NewRequest(http.MethodPost, rc.base+path, r)
	if err != nil {
		return 0, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if chunked {
		req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
		for k, v := range trailer {
			req.Trailer[k] = v
		}
	}
	resp, err := rc.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// play runs f as the runtime, concurrently; wait returns its error.
func play(f func() error) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return func() error { return <-done }
}

func TestRuntimeAPIInvocations(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name    string
		runtime func(te *testEnv, rc *runtimeClient) error
		status  string
		want    outcome
	}{
		{
			name: "chunked response, as aws-lambda-go sends it",
			runtime: func(_ *testEnv, rc *runtimeClient) error {
				id, _, _, err := rc.next()
				if err != nil {
					return err
				}
				return expect202(rc.post("invocation/"+id+"/response", []byte(`{"ok":true}`), nil, nil, true))
			},
			status: "ok", want: outcome{payload: []byte(`{"ok":true}`)},
		},
		{
			name: "response with a length",
			runtime: func(_ *testEnv, rc *runtimeClient) error {
				id, _, _, err := rc.next()
				if err != nil {
					return err
				}
				return expect202(rc.post("invocation/"+id+"/response", []byte(`"x"`), nil, nil, false))
			},
			status: "ok", want: outcome{payload: []byte(`"x"`)},
		},
		{
			name: "error post",
			runtime: func(_ *testEnv, rc *runtimeClient) error {
				id, _, _, err := rc.next()
				if err != nil {
					return err
				}
				hdr := http.Header{"Lambda-Runtime-Function-Error-Type": {"MyError"}}
				return expect202(rc.post("invocation/"+id+"/error", []byte("not json"), hdr, nil, false))
			},
			status: "ok", want: outcome{isError: true, errorType: "MyError", payload: errorPayload("MyError", "not json")},
		},
		{
			name: "streamed response failing in its trailers",
			runtime: func(_ *testEnv, rc *runtimeClient) error {
				id, _, _, err := rc.next()
				if err != nil {
					return err
				}
				tr := http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.Boom"},
					"Lambda-Runtime-Function-Error-Body": {b64([]byte(`{"errorMessage":"boom"}`))}}
				return expect202(rc.post("invocation/"+id+"/response", []byte(`{"partial`), nil, tr, true))
			},
			status: "ok", want: outcome{isError: true, errorType: "Runtime.Boom", payload: []byte(`{"errorMessage":"boom"}`)},
		},
		{
			name: "answer on another connection",
			runtime: func(te *testEnv, _ *runtimeClient) error {
				id, err := rawNext(te.addr)
				if err != nil {
					return err
				}
				return expect202(te.client().post("invocation/"+id+"/response", []byte(`1`), nil, nil, false))
			},
			status: "ok", want: outcome{payload: []byte(`1`)},
		},
		{
			name: "unknown path and wrong ID first, then the answer",
			runtime: func(_ *testEnv, rc *runtimeClient) error {
				id, _, _, err := rc.next()
				if err != nil {
					return err
				}
				if st, err := rc.post("invocation/"+id+"/nonsense", []byte(`1`), nil, nil, false); err != nil || st != 404 {
					return fmt.Errorf("unknown path: %d %v", st, err)
				}
				if st, err := rc.post("invocation/someone-else/response", []byte(`1`), nil, nil, false); err != nil || st != 400 {
					return fmt.Errorf("wrong ID: %d %v", st, err)
				}
				return expect202(rc.post("invocation/"+id+"/response", []byte(`2`), nil, nil, false))
			},
			status: "ok", want: outcome{payload: []byte(`2`)},
		},
		{
			name: "expect 100-continue and HTTP/1.0",
			runtime: func(te *testEnv, _ *runtimeClient) error {
				c, err := net.Dial("tcp", te.addr)
				if err != nil {
					return err
				}
				defer c.Close()
				br := bufio.NewReader(c)
				fmt.Fprintf(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
				fmt.Fprintf(c, "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", id)
				if resp, err = http.ReadResponse(br, nil); err != nil || resp.StatusCode != 100 {
					return fmt.Errorf("want 100 Continue: %v %v", resp, err)
				}
				fmt.Fprintf(c, "true")
				resp, err = http.ReadResponse(br, nil)
				return expect202(statusOf(resp, err))
			},
			status: "ok", want: outcome{payload: []byte(`true`)},
		},
		{
			name: "response too large",
			runtime: func(_ *testEnv, rc *runtimeClient) error {
				id, _, _, err := rc.next()
				if err != nil {
					return err
				}
				st, err := rc.post("invocation/"+id+"/response", bytes.Repeat([]byte("x"), maxResponse+1), nil, nil, true)
				if err == nil && st != 413 {
					return fmt.Errorf("status %d, want 413", st)
				}
				return nil // the server may close before the client finishes sending
			},
			status: "ok", want: outcome{isError: true, errorType: "Function.ResponseSizeTooLarge",
				payload: errorPayload("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes).")},
		},
		{
			name: "malformed request, then silence",
			runtime: func(te *testEnv, _ *runtimeClient) error {
				c, err := rawConnAtNext(te.addr)
				if err != nil {
					return err
				}
				defer c.Close()
				fmt.Fprintf(c, "POST /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil || resp.StatusCode != 400 || !resp.Close {
					return fmt.Errorf("want 400 and close: %v %v", resp, err)
				}
				return nil
			},
			status: "timeout",
		},
		{
			name: "no answer",
			runtime: func(_ *testEnv, rc *runtimeClient) error {
				_, _, _, err := rc.next()
				return err
			},
			status: "timeout",
		},
		{
			name: "runtime dies after taking the event",
			runtime: func(te *testEnv, rc *runtimeClient) error {
				if _, _, _, err := rc.next(); err != nil {
					return err
				}
				close(te.end)
				return nil
			},
			status: "crash",
		},
		{
			name: "runtime dies before asking for an event",
			runtime: func(te *testEnv, _ *runtimeClient) error {
				close(te.end)
				return nil
			},
			status: "lost",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEnv(t)
			rc := te.client()
			wait := play(func() error { return tc.runtime(te, rc) })
			o, status := te.run(newInv("req-1", time.Second))
			if err := wait(); err != nil {
				t.Fatalf("runtime: %v", err)
			}
			if status != tc.status {
				t.Fatalf("status %q, want %q", status, tc.status)
			}
			if status == "ok" && (string(o.payload) != string(tc.want.payload) || o.isError != tc.want.isError || o.errorType != tc.want.errorType) {
				t.Fatalf("outcome %+v (%s), want %+v (%s)", o, o.payload, tc.want, tc.want.payload)
			}
		})
	}
}

func expect202(status int, err error) error {
	if err != nil {
		return err
	}
	if status != 202 {
		return fmt.Errorf("status %d, want 202", status)
	}
	return nil
}

func statusOf(resp *http.Response, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// rawConnAtNext opens a connection, asks for the next event and reads it.
func rawConnAtNext(addr string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return c, nil
}

// rawNext takes an event on a connection it then closes.
func rawNext(addr string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if !resp.Close {
		return "", fmt.Errorf("the server keeps a connection the client closes")
	}
	return resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), nil
}

// TestRuntimeAPIKeepAlive runs many invocations through one kept-alive
// connection (the hot path), checking every event's headers.
func TestRuntimeAPIKeepAlive(t *testing.T) {
	te := newTestEnv(t)
	rc := te.client()
	const n = 200
	wait := play(func() error {
		for i := 0; i < n; i++ {
			id, hdr, body, err := rc.next()
			if err != nil {
				return err
			}
			if want := "req-" + strconv.Itoa(i); id != want {
				return fmt.Errorf("event %d: request ID %q, want %q", i, id, want)
			}
			if hdr.Get("Lambda-Runtime-Invoked-Function-Arn") == "" || hdr.Get("Lambda-Runtime-Trace-Id") == "" || hdr.Get("Content-Type") != "application/json" {
				return fmt.Errorf("event %d: headers %v", i, hdr)
			}
			if _, err := strconv.ParseInt(hdr.Get("Lambda-Runtime-Deadline-Ms"), 10, 64); err != nil {
				return fmt.Errorf("event %d: deadline: %v", i, err)
			}
			if err := expect202(rc.post("invocation/"+id+"/response", body, nil, nil, i%2 == 0)); err != nil {
				return err
			}
		}
		return nil
	})
	select {
	case <-te.initDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the first GET /next did not end the init")
	}
	for i := 0; i < n; i++ {
		o, status := te.run(newInv("req-"+strconv.Itoa(i), 5*time.Second))
		if status != "ok" || string(o.payload) != `{"n":1}` {
			t.Fatalf("invocation %d: %s %+v", i, status, o)
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// TestRuntimeAPIConnectionPerRequest runs invocations with a runtime that
// closes its connection after every request.
func TestRuntimeAPIConnectionPerRequest(t *testing.T) {
	te := newTestEnv(t)
	wait := play(func() error {
		for i := 0; i < 20; i++ {
			id, err := rawNext(te.addr)
			if err != nil {
				return err
			}
			tr := &http.Transport{DisableKeepAlives: true}
			rc := &runtimeClient{base: "http://" + te.addr + "/2018-06-01/runtime/", c: &http.Client{Transport: tr}}
			if err := expect202(rc.post("invocation/"+id+"/response", []byte(strconv.Itoa(i)), nil, nil, false)); err != nil {
				return err
			}
		}
		return nil
	})
	for i := 0; i < 20; i++ {
		o, status := te.run(newInv("req-"+strconv.Itoa(i), 5*time.Second))
		if status != "ok" || string(o.payload) != strconv.Itoa(i) {
			t.Fatalf("invocation %d: %s %+v", i, status, o)
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// TestRuntimeAPINextWithoutAnswer: a runtime that asks for the next event
// before answering, and answers elsewhere, gets the next event on the
// connection it asked on.
func TestRuntimeAPINextWithoutAnswer(t *testing.T) {
	te := newTestEnv(t)
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	next := func() (string, error) {
		fmt.Fprintf(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return "", err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), nil
	}
	wait := play(func() error {
		id, err := next()
		if err != nil {
			return err
		}
		other := te.client()
		var wg sync.WaitGroup
		wg.Add(1)
		var postErr error
		go func() {
			defer wg.Done()
			time.Sleep(20 * time.Millisecond) // let the next GET /next park first
			postErr = expect202(other.post("invocation/"+id+"/response", []byte(`"a"`), nil, nil, false))
		}()
		id2, err := next()
		wg.Wait()
		if err != nil || postErr != nil {
			return fmt.Errorf("%v %v", err, postErr)
		}
		fmt.Fprintf(c, "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nContent-Length: 3\r\n\r\n\"b\"", id2)
		return expect202(statusOf(http.ReadResponse(br, nil)))
	})
	for i, want := range []string{`"a"`, `"b"`} {
		o, status := te.run(newInv("req-"+strconv.Itoa(i), 5*time.Second))
		if status != "ok" || string(o.payload) != want {
			t.Fatalf("invocation %d: %s %s, want %s", i, status, o.payload, want)
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// TestRuntimeAPIInitError: /init/error reaches the start-up, and the first
// GET /next ends it.
func TestRuntimeAPIInitError(t *testing.T) {
	te := newTestEnv(t)
	rc := te.client()
	hdr := http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.ImportModuleError"}}
	if err := expect202(rc.post("init/error", []byte(`{"errorType":"Runtime.ImportModuleError"}`), hdr, nil, false)); err != nil {
		t.Fatal(err)
	}
	select {
	case body := <-te.initErr:
		if string(body) != `{"errorType":"Runtime.ImportModuleError"}` {
			t.Fatalf("init error %s", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no init error")
	}
	select {
	case <-te.initDone:
		t.Fatal("init done before any GET /next")
	default:
	}
	go func() { _, _, _, _ = rc.next() }()
	select {
	case <-te.initDone:
	case <-time.After(5 * time.Second):
		t.Fatal("GET /next did not end the init")
	}
}

// TestRuntimeAPIClientContextCannotInjectHeaders: a caller's client context
// with line breaks reaches the runtime as one header.
func TestRuntimeAPIClientContextCannotInjectHeaders(t *testing.T) {
	te := newTestEnv(t)
	rc := te.client()
	inv := newInv("req-1", 5*time.Second)
	inv.clientContext = "{\"a\":\r\n1}\r\nLambda-Runtime-Aws-Request-Id: forged"
	var got http.Header
	wait := play(func() error {
		id, hdr, _, err := rc.next()
		if err != nil {
			return err
		}
		got = hdr
		return expect202(rc.post("invocation/"+id+"/response", []byte(`1`), nil, nil, false))
	})
	if _, status := te.run(inv); status != "ok" {
		t.Fatal(status)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if ids := got.Values("Lambda-Runtime-Aws-Request-Id"); len(ids) != 1 || ids[0] != "req-1" {
		t.Fatalf("request IDs %q", ids)
	}
	if cc := got.Get("Lambda-Runtime-Client-Context"); !strings.HasPrefix(cc, `{"a":  1}`) {
		t.Fatalf("client context %q", cc)
	}
}

// TestRuntimeAPIHostileInputKeepsServing: garbage on one connection does not
// disturb the runtime's real connection.
func TestRuntimeAPIHostileInputKeepsServing(t *testing.T) {
	te := newTestEnv(t)
	for _, junk := range []string{
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS hello
		"GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 20000),
		"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
		"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
	} {
		c, err := net.Dial("tcp", te.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, junk)
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, c) // the server answers (or not) and closes
		c.Close()
	}
	rc := te.client()
	wait := play(func() error {
		id, _, _, err := rc.next()
		if err != nil {
			return err
		}
		return expect202(rc.post("invocation/"+id+"/response", []byte(`"fine"`), nil, nil, true))
	})
	if o, status := te.run(newInv("req-1", 5*time.Second)); status != "ok" || string(o.payload) != `"fine"` {
		t.Fatalf("%s %s", status, o.payload)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// FuzzRuntimeAPIAfterEvent: whatever a runtime sends after taking an event
// (read by the invocation's own goroutine), the invocation ends by its
// deadline with a consistent outcome, and the environment keeps serving a
// well-behaved runtime afterwards.
func FuzzRuntimeAPIAfterEvent(f *testing.F) {
	f.Add([]byte("POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nGET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n"))
	f.Add([]byte("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/req-1/error HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"))
	f.Fuzz(func(t *testing.T, data []byte) {
		te := newTestEnv(t)
		conn := make(chan net.Conn, 1)
		gone := make(chan struct{})
		go func() {
			defer close(gone)
			c, err := rawConnAtNext(te.addr)
			conn <- c
			if err != nil {
				return
			}
			_, _ = c.Write(data)
			_, _ = io.Copy(io.Discard, c)
		}()
		inv := newInv("req-1", 150*time.Millisecond)
		start := time.Now()
		o, status := te.run(inv)
		if time.Since(start) > 5*time.Second {
			t.Fatalf("run took %v", time.Since(start))
		}
		switch status {
		case "ok":
			if o.isError && len(o.payload) == 0 {
				t.Fatalf("error outcome without payload: %+v", o)
			}
		case "timeout":
		default:
			t.Fatalf("status %q", status)
		}
		// The fuzzing runtime goes away (whatever it left pending goes with
		// it); a well-behaved runtime on a new connection is still served.
		// Wait for its reader to return: only then is the socket closed.
		if c := <-conn; c != nil {
			c.Close()
		}
		<-gone
		rc := te.client()
		defer rc.c.CloseIdleConnections()
		wait := play(func() error {
			id, _, _, err := rc.next()
			if err != nil {
				return err
			}
			return expect202(rc.post("invocation/"+id+"/response", []byte(`"after"`), nil, nil, true))
		})
		o, status = te.run(newInv("req-2", 5*time.Second))
		if status != "ok" || string(o.payload) != `"after"` {
			t.Fatalf("after fuzz input: %s %s", status, o.payload)
		}
		if err := wait(); err != nil {
			t.Fatalf("runtime after fuzz input: %v", err)
		}
	})
}

// A function that floods its own Runtime API with idle connections only
// hurts itself: the host serves at most maxRuntimeConns of them (no goroutine
// per extra connection), the invocation ends at its deadline, and closing the
// environment releases every connection and goroutine.
func TestRuntimeAPIConnectionFloodIsBounded(t *testing.T) {
	te := newTestEnv(t)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", te.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		te.rt.mu.Lock()
		n := len(te.rt.conns)
		te.rt.mu.Unlock()
		if n == maxRuntimeConns {
			break
		}
		if n > maxRuntimeConns || time.Now().After(deadline) {
			t.Fatalf("%d connections served, cap %d", n, maxRuntimeConns)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // give any excess accept a chance to show
	te.rt.mu.Lock()
	n := len(te.rt.conns)
	te.rt.mu.Unlock()
	if n != maxRuntimeConns {
		t.Fatalf("%d connections served, cap %d", n, maxRuntimeConns)
	}
	start := time.Now()
	if _, status := te.run(newInv("req-1", 200*time.Millisecond)); status != "timeout" {
		t.Fatalf("status %q, want timeout", status)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("run took %v", d)
	}
	// The test's cleanup closes the environment and waits for every
	// goroutine it started: a leak hangs the test.
}
