package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cloister/cloister/internal/sigv4"
)

// A server that verifies every request's signature proves the load is
// signed correctly, and its counters prove the report adds up.
func TestRunSignsAndCounts(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIAEXAMPLEEXAMPLE01", SecretAccessKey: "secretsecretsecretsecretsecretsecret1234"}
	var served, fails atomic.Int64
	v := sigv4.NewVerifier()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a, err := sigv4.Parse(r)
		if err == nil {
			err = v.Verify(a, r, body, creds.SecretAccessKey, time.Now())
		}
		if err != nil || r.URL.EscapedPath() != "/2015-03-31/functions/fn/invocations" {
			fails.Add(1)
			w.Header().Set("X-Amzn-ErrorType", "InvalidSignatureException")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if served.Add(1)%10 == 0 {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	r, err := Run(context.Background(), Config{
		Endpoint: srv.URL, Region: "us-east-1", Credentials: creds, Function: "fn",
		Payload: []byte(`{"a":1}`), Concurrency: 4, Requests: 200, Duration: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if fails.Load() != 0 {
		t.Fatalf("%d requests failed verification", fails.Load())
	}
	if got := r.Requests + r.Errors["function error"]; got != 200 {
		t.Fatalf("counted %d requests (%d ok, errors %v), want 200", got, r.Requests, r.Errors)
	}
	if r.Errors["function error"] != 20 {
		t.Fatalf("function errors %d, want 20", r.Errors["function error"])
	}
	if r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
		t.Fatalf("percentiles out of order: %+v", r.Latency)
	}
}
