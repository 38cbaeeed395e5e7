package api_test

// The SQS harness assembles the API the way cmd/cloister does, with the
// queue service (a real embedded NATS store in t.TempDir()), and hands out
// aws-sdk-go-v2 SQS clients (AWS JSON 1.0 protocol) and a signer for raw
// Query protocol requests. Nothing is mocked.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/sqs"
	"github.com/cloister/cloister/internal/store"
)

type sqsHarness struct {
	srv     *httptest.Server
	ids     *iam.Service
	queues  *sqs.Service
	account string
	key     iam.Key
	client  *awssqs.Client
	audit   *recordingAuditor
}

// recordingAuditor keeps the audit events of the harness's API.
type recordingAuditor struct {
	mu     sync.Mutex
	events []api.AuditEvent
}

func (a *recordingAuditor) Record(_ context.Context, e api.AuditEvent) {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
}

func (a *recordingAuditor) find(requestID string) (api.AuditEvent, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.events {
		if e.RequestID == requestID {
			return e, true
		}
	}
	return api.AuditEvent{}, false
}

func newSQSHarness(t testing.TB) *sqsHarness {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog()
	if err != nil {
		t.Fatalf("runtimes.Discover: %v", err)
	}
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	workers, stop := context.WithCancel(context.Background())
	ids, err := iam.Open(workers, st, nil)
	if err != nil {
		stop()
		t.Fatalf("iam.Open: %v", err)
	}
	// The watchers stop when workers ends; the store closes after them.
	t.Cleanup(func() {
		stop()
		ids.Close()
	})
	acct, _, err := ids.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := ids.EnsureRootKey(ctx, acct.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	fns, err := functions.Open(ctx, st, functions.Config{Region: testRegion, Runtimes: cat})
	if err != nil {
		t.Fatal(err)
	}
	codeKey, err := codeURLKey(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	queues, err := sqs.Open(ctx, st, sqs.Config{Region: testRegion, ReceiptKey: codeKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := queues.Start(workers); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(queues.Close)
	audit := &recordingAuditor{}
	handler, err := api.New(api.Config{
		Region: testRegion, Keys: ids, Authorizer: ids, IAM: ids, Auditor: audit, Functions: fns, SQS: queues, CodeURLKey: codeKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	h := &sqsHarness{srv: srv, ids: ids, queues: queues, account: acct.ID, key: key, audit: audit}
	h.client = h.clientFor(key.AccessKeyID, key.Secret.Reveal())
	return h
}

// clientFor is an SDK client signing with the given key. Retries are off so
// that every error reaches the test unchanged.
func (h *sqsHarness) clientFor(id, secret string) *awssqs.Client {
	return h.clientVia(sdkHTTPClient(h.srv.Client()), id, secret)
}

// clientVia is clientFor over the HTTP client hc.
func (h *sqsHarness) clientVia(hc aws.HTTPClient, id, secret string) *awssqs.Client {
	return awssqs.NewFromConfig(aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		HTTPClient:  hc,
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *awssqs.Options) { o.BaseEndpoint = aws.String(h.srv.URL) })
}

// otherAccount is a client signing as the root of a second account.
func (h *sqsHarness) otherAccount(t testing.TB) (string, *awssqs.Client) {
	t.Helper()
	ctx := context.Background()
	acct, err := h.ids.CreateAccount(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := h.ids.EnsureRootKey(ctx, acct.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return acct.ID, h.clientFor(key.AccessKeyID, key.Secret.Reveal())
}

var sqsQueueSeq atomic.Int64

func sqsName(prefix string) string { return fmt.Sprintf("%s-%d", prefix, sqsQueueSeq.Add(1)) }

// createQueue creates a queue and returns its URL.
func (h *sqsHarness) createQueue(t testing.TB, name string, attrs map[string]string) string {
	t.Helper()
	out, err := h.client.CreateQueue(context.Background(), &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// wantSQSErr checks an SDK error: HTTP status, the legacy code the SDK
// reports (from x-amzn-query-error) and, unless msg is "", the message (a
// msg ending in "..." is a prefix).
func wantSQSErr(t testing.TB, err error, status int, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded; want %s", code)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v has no HTTP response", err)
	}
	if re.HTTPStatusCode() != status {
		t.Errorf("status %d, want %d (%v)", re.HTTPStatusCode(), status, err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	if ae.ErrorCode() != code {
		t.Errorf("ErrorCode() = %q, want %q (%s)", ae.ErrorCode(), code, ae.ErrorMessage())
	}
	if prefix, ok := strings.CutSuffix(msg, "..."); ok {
		if !strings.HasPrefix(ae.ErrorMessage(), prefix) {
			t.Errorf("message %q, want prefix %q", ae.ErrorMessage(), prefix)
		}
	} else if msg != "" && ae.ErrorMessage() != msg {
		t.Errorf("message %q, want %q", ae.ErrorMessage(), msg)
	}
}

// queryResponse is a Query protocol response.
type queryResponse struct {
	status int
	header http.Header
	body   []byte
}

// query sends a Query protocol request (a signed form POST) to path.
func (h *sqsHarness) query(t testing.TB, path string, params url.Values) queryResponse {
	t.Helper()
	return h.queryWith(t, h.srv.Client(), path, params)
}

// queryWith is query over the HTTP client hc.
func (h *sqsHarness) queryWith(t testing.TB, hc *http.Client, path string, params url.Values) queryResponse {
	t.Helper()
	body := []byte(params.Encode())
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: h.key.AccessKeyID, SecretAccessKey: h.key.Secret.Reveal()}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sqs", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return queryResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// decode unmarshals an XML response, failing the test on a non-200 status.
func (r queryResponse) decode(t testing.TB, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := xml.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// queryError is the Query protocol's error document.
type queryError struct {
	Error struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}
