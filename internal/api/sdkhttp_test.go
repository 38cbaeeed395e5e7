package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// sdkHTTPClient is the HTTP client the harnesses give aws-sdk-go-v2
// clients: hc, except that the transport sends a copy of each request body
// held in memory rather than the SDK's own body.
//
// This works around a client-side race in smithy-go (aws-sdk-go-v2 issues
// 1825, 2737 and 2935), not a server fault. smithy-go closes a request's
// body as soon as Do returns, that is as soon as the response headers are
// in, and a closed body's WriteTo returns io.EOF as an error. net/http,
// once it has sent Content-Length bytes of a body, copies whatever is left
// of it to io.Discard to check that nothing is, and that copy goes through
// WriteTo. When the response overtakes the transport's writer between the
// two (a fast server, a busy client; about one request in seventy in this
// package's harnesses on two cores), the copy fails, the transport closes the
// connection as a failed write, and a response body still being read from
// it fails with "use of closed network connection" although the server
// sent all of it with status 200. A response longer than the transport's
// 4 KiB read buffer (ReceiveMessage of ten 600-byte messages) is the one
// whose reading that cuts short; a shorter one is usually already read and
// only costs a reconnect. With retries off, as the harnesses have them so
// that errors reach the tests unchanged, each such failure fails a test.
// TestSDKBodyCloseRace reproduces it.
//
// A body the SDK never sees, and which is an in-memory reader (net/http
// then also sends headers and body in one write), avoids it. Bodies of
// unknown length (event streams) pass through unchanged.
func sdkHTTPClient(hc *http.Client) aws.HTTPClient { return bufferedBodies{hc} }

type bufferedBodies struct{ hc *http.Client }

func (c bufferedBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength < 0 {
		return c.hc.Do(r)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return c.hc.Do(r2)
}
