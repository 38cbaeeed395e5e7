package invoke

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readWire reads one request (head and body, at most limit body bytes)
// from raw bytes.
func readWire(raw string, limit int64) (*wireRequest, *lineReader, error) {
	lr := &lineReader{br: bufio.NewReaderSize(strings.NewReader(raw), 64)}
	req := &wireRequest{}
	if err := lr.readHead(req); err != nil {
		return req, lr, err
	}
	return req, lr, lr.readBody(req, limit)
}

// got is what a test compares of a parsed request.
type got struct {
	Method, Path    string
	HTTP10, Chunked bool
	Length          int64
	Close, Expect   bool
	ErrType         string
	Body            string
	TrailerType     string
	TrailerBody     string
}

func summarize(r *wireRequest) got {
	return got{Method: r.method, Path: r.path, HTTP10: r.http10, Chunked: r.chunked, Length: r.length,
		Close: r.close, Expect: r.expect, ErrType: r.errType, Body: string(r.body),
		TrailerType: r.trailers.errType, TrailerBody: r.trailers.errBody}
}

func TestReadRequest(t *testing.T) {
	const next = "/2018-06-01/runtime/invocation/next"
	tests := []struct {
		name string
		raw  string
		want got
	}{
		{
			name: "GET next as aws-lambda-go sends it",
			raw:  "GET " + next + " HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: aws-lambda-go/go1.26\r\nAccept-Encoding: gzip\r\n\r\n",
			want: got{Method: "GET", Path: next, Length: -1},
		},
		{
			name: "content length",
			raw:  "POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
			want: got{Method: "POST", Path: "/2018-06-01/runtime/invocation/abc/response", Length: 7, Body: `{"a":1}`},
		},
		{
			name: "chunked with declared, empty trailers",
			raw: "POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Body, Lambda-Runtime-Function-Error-Type\r\n\r\n" +
				"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
			want: got{Method: "POST", Path: "/r", Chunked: true, Length: -1, Body: "hello world"},
		},
		{
			name: "chunked with error trailers",
			raw: "POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n" +
				"Lambda-Runtime-Function-Error-Type: Runtime.Boom\r\nlambda-runtime-function-error-body: e30=\r\n\r\n",
			want: got{Method: "POST", Path: "/r", Chunked: true, Length: -1, Body: "abc", TrailerType: "Runtime.Boom", TrailerBody: "e30="},
		},
		{
			name: "error type header, bare LF line ends",
			raw:  "POST /e HTTP/1.1\nLambda-Runtime-Function-Error-Type:  MyError \nContent-Length: 2\n\nhi",
			want: got{Method: "POST", Path: "/e", Length: 2, ErrType: "MyError", Body: "hi"},
		},
		{
			name: "HTTP/1.0 closes by default",
			raw:  "GET " + next + " HTTP/1.0\r\n\r\n",
			want: got{Method: "GET", Path: next, HTTP10: true, Length: -1, Close: true},
		},
		{
			name: "HTTP/1.0 keep-alive",
			raw:  "GET " + next + " HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			want: got{Method: "GET", Path: next, HTTP10: true, Length: -1},
		},
		{
			name: "connection close among other tokens",
			raw:  "GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n",
			want: got{Method: "GET", Path: "/", Length: -1, Close: true},
		},
		{
			name: "expect continue",
			raw:  "POST /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
			want: got{Method: "POST", Path: "/x", Length: 1, Expect: true, Body: "x"},
		},
		{
			name: "percent-encoded path, query dropped",
			raw:  "POST /2018-06-01/runtime/invocation/a%2Fb/response?x=1 HTTP/1.1\r\n\r\n",
			want: got{Method: "POST", Path: "/2018-06-01/runtime/invocation/a/b/response", Length: -1},
		},
		{
			name: "empty lines before the request line",
			raw:  "\r\n\r\nGET / HTTP/1.1\r\n\r\n",
			want: got{Method: "GET", Path: "/", Length: -1},
		},
		{
			name: "repeated equal content lengths",
			raw:  "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz",
			want: got{Method: "POST", Path: "/", Length: 1, Body: "z"},
		},
		{
			name: "header longer than the read buffer",
			raw:  "GET / HTTP/1.1\r\nX-Long: " + strings.Repeat("v", 5000) + "\r\n\r\n",
			want: got{Method: "GET", Path: "/", Length: -1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _, err := readWire(tc.raw, 1<<20)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if diff := cmp.Diff(tc.want, summarize(req)); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadRequestRejects(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		limit  int64
		status int // 0: an I/O error, no reply
	}{
		{"no version", "GET /\r\n\r\n", 0, 400},
		{"absolute form target", "GET http://x/ HTTP/1.1\r\n\r\n", 0, 400},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, 400},
		{"unknown version", "GET / HTTP/1.2\r\n\r\n", 0, 505},
		{"control character in target", "GET /a\x01b HTTP/1.1\r\n\r\n", 0, 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 0, 400},
		{"obsolete folding", "GET / HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n", 0, 400},
		{"no colon", "GET / HTTP/1.1\r\nnonsense\r\n\r\n", 0, 400},
		{"control character in value", "GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n", 0, 400},
		{"both framings", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 400},
		{"conflicting lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 0, 400},
		{"negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 0, 400},
		{"length with sign", "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx", 0, 400},
		{"huge length", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 0, 400},
		{"gzip coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, 501},
		{"chunked twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 501},
		{"chunked in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 400},
		{"unknown expectation", "POST / HTTP/1.1\r\nExpect: teapot\r\n\r\n", 0, 417},
		{"header block too large", "GET / HTTP/1.1\r\n" + strings.Repeat("X-A: "+strings.Repeat("a", 1000)+"\r\n", 70) + "\r\n", 0, 431},
		{"body over the limit", "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", 10, 413},
		{"chunked body over the limit", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n", 10, 413},
		{"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 10, 400},
		{"chunk size overflow", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", 1 << 62, 400},
		{"missing CRLF after chunk", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", 10, 400},
		{"malformed trailer", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", 10, 400},
		{"truncated head", "GET / HTTP/1.1\r\nHost: x\r\n", 0, 0},
		{"truncated body", "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 10, 0},
		{"truncated chunk", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 10, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readWire(tc.raw, tc.limit)
			if err == nil {
				t.Fatal("accepted")
			}
			var we *wireError
			switch {
			case tc.status == 0 && errors.As(err, &we):
				t.Fatalf("got reply %d (%v), want an I/O error", we.status, err)
			case tc.status == 0 && !errors.Is(err, io.ErrUnexpectedEOF):
				t.Fatalf("got %v, want unexpected EOF", err)
			case tc.status != 0 && !errors.As(err, &we):
				t.Fatalf("got %v, want reply %d", err, tc.status)
			case tc.status != 0 && we.status != tc.status:
				t.Fatalf("got reply %d (%v), want %d", we.status, err, tc.status)
			}
		})
	}
}

func TestReadRequestIdleClose(t *testing.T) {
	for _, raw := range []string{"", "\r\n"} {
		if _, _, err := readWire(raw, 0); !errors.Is(err, io.EOF) {
			t.Errorf("%q: %v, want io.EOF (a client closing an idle connection)", raw, err)
		}
	}
}

func TestReadPipelinedRequests(t *testing.T) {
	raw := "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nabGET /b HTTP/1.1\r\n\r\n" +
		"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n"
	lr := &lineReader{br: bufio.NewReaderSize(strings.NewReader(raw), 16)}
	var paths, bodies []string
	for {
		var req wireRequest
		err := lr.readHead(&req)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := lr.readBody(&req, 100); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, req.path)
		bodies = append(bodies, string(req.body))
	}
	if diff := cmp.Diff([]string{"/a", "/b", "/c"}, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ab", "", "c"}, bodies); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

// TestResponsesParse checks that what the Runtime API writes is read back
// by net/http's client as intended, including a value that tries to inject
// a header.
func TestResponsesParse(t *testing.T) {
	b := append([]byte(nil), "HTTP/1.1 200 OK\r\n"...)
	b = appendField(b, "Lambda-Runtime-Client-Context", "{\"a\":\r\n1}\r\nX-Injected: yes")
	b = append(b, "Content-Length: 2\r\n\r\nok"...)
	b = appendHead(b, 202, 15, false, false)
	b = append(b, "\r\n{\"status\":\"OK\"}"...)
	b = appendHead(b, 404, 0, true, false)
	b = append(b, "\r\n"...)
	br := bufio.NewReader(bytes.NewReader(b))
	want := []struct {
		status int
		body   string
		close  bool
	}{{200, "ok", false}, {202, `{"status":"OK"}`, false}, {404, "", true}}
	for i, w := range want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != w.status || string(body) != w.body || resp.Close != w.close {
			t.Errorf("response %d: %d %q close=%v, want %d %q close=%v", i, resp.StatusCode, body, resp.Close, w.status, w.body, w.close)
		}
		if i == 0 {
			if got := resp.Header.Get("Lambda-Runtime-Client-Context"); got != "{\"a\":  1}  X-Injected: yes" {
				t.Errorf("client context %q", got)
			}
			if resp.Header.Get("X-Injected") != "" {
				t.Error("a header was injected")
			}
		}
	}
}

// FuzzReadRequest reads pipelined requests from arbitrary bytes. The reader
// must never panic or over-read a limit, and whenever net/http's own reader
// also accepts a request, both must frame it identically (no smuggling
// ambiguity between the two).
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: T\r\n\r\n"))
	f.Add([]byte("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabGET / HTTP/1.0\r\n\r\n"))
	const limit = 1 << 12
	f.Fuzz(func(t *testing.T, raw []byte) {
		lr := &lineReader{br: bufio.NewReaderSize(bytes.NewReader(raw), 64)}
		std := bufio.NewReader(bytes.NewReader(raw))
		for i := 0; i < 8; i++ {
			var req wireRequest
			err := lr.readHead(&req)
			if err == nil {
				err = lr.readBody(&req, limit)
			}
			if err != nil {
				return
			}
			if len(req.body) > limit || !strings.HasPrefix(req.path, "/") || req.method == "" || (req.chunked && req.length != -1) {
				t.Fatalf("inconsistent request %+v", summarize(&req))
			}
			// net/http reads the same bytes in step, while it agrees.
			sreq, serr := http.ReadRequest(std)
			if serr != nil {
				return
			}
			sbody, berr := io.ReadAll(io.LimitReader(sreq.Body, limit+1))
			if berr != nil {
				return
			}
			if sreq.Method != req.method || string(sbody) != string(req.body) {
				t.Fatalf("framing differs from net/http: %s %q vs %s %q", req.method, req.body, sreq.Method, sbody)
			}
		}
	})
}
