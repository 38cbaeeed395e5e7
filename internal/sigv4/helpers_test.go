package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
	testSvc    = "lambda"
)

var testTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// received is a request as Go's HTTP server handed it to a handler.
type received struct {
	r    *http.Request
	body []byte
}

// wire is a real HTTP server that hands every request it receives to the
// test, so that verification sees exactly what a server sees.
type wire struct {
	srv *httptest.Server
	got chan received
}

func newWire(t testing.TB) *wire {
	t.Helper()
	w := &wire{got: make(chan received, 1)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		w.got <- received{r: r.Clone(context.Background()), body: body}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// sendRaw writes raw bytes on a new connection; ok is false when Go's
// server refused them before any handler ran.
func (w *wire) sendRaw(t testing.TB, raw []byte) (received, bool) {
	t.Helper()
	c, err := net.Dial("tcp", w.srv.Listener.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if _, err := c.Write(raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return received{}, false
	}
	return <-w.got, true
}

// send puts a client request on the wire as Go's transport would.
func (w *wire) send(t testing.TB, req *http.Request) received {
	t.Helper()
	got, ok := w.sendRaw(t, serialize(t, req))
	if !ok {
		t.Fatalf("server refused %s %s", req.Method, req.URL)
	}
	return got
}

func serialize(t testing.TB, req *http.Request) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatalf("serialize request: %v", err)
	}
	return buf.Bytes()
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sdkRequest builds a client request with rawPath as the escaped path.
func sdkRequest(t testing.TB, method, rawPath, rawQuery string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://lambda.us-east-1.amazonaws.com/", rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if req.URL.Path, err = url.PathUnescape(rawPath); err != nil {
		t.Fatalf("path %q: %v", rawPath, err)
	}
	req.URL.RawPath = rawPath
	req.URL.RawQuery = rawQuery
	return req
}

func creds(token string) aws.Credentials {
	return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: token}
}

// sdkSign signs req in place with aws-sdk-go-v2's signer.
func sdkSign(t testing.TB, req *http.Request, payloadHash, token string, at time.Time) {
	t.Helper()
	sdkSignCreds(t, req, payloadHash, creds(token), at)
}

func sdkSignCreds(t testing.TB, req *http.Request, payloadHash string, c aws.Credentials, at time.Time) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, payloadHash, testSvc, testRegion, at); err != nil {
		t.Fatalf("sign: %v", err)
	}
}

// sdkPresign presigns req with aws-sdk-go-v2 and returns the request a
// holder of the URL would send.
func sdkPresign(t testing.TB, req *http.Request, body []byte, payloadHash, token string, at time.Time) *http.Request {
	t.Helper()
	uri, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds(token), req, payloadHash, testSvc, testRegion, at)
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	out, err := http.NewRequest(req.Method, uri, rd)
	if err != nil {
		t.Fatalf("presigned url %q: %v", uri, err)
	}
	for k, vs := range hdr {
		if k != "Host" {
			out.Header[k] = vs
		}
	}
	return out
}

// verify runs Parse and Verify as the API layer will.
func verify(v *Verifier, got received, secret string, now time.Time) error {
	a, err := Parse(got.r)
	if err != nil {
		return err
	}
	return v.Verify(a, got.r, got.body, secret, now)
}

// kindOf names the sentinel err wraps, for failure messages.
func kindOf(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		if err == nil {
			return "nil"
		}
		return "not an *Error: " + err.Error()
	}
	return e.Kind.Error()
}
