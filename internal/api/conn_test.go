package api_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"
)

// Connections between the SDK and the server: a response must never cost
// the client its connection, whatever the protocol.

// TestSDKBodyCloseRace forces the interleaving behind the SDK's "use of
// closed network connection" on a 200 ReceiveMessage (see sdkHTTPClient):
// the transport's writer is held right after it has sent the request
// body until the response body is being read, and that read waits until
// the writer is done with the request. With the SDK's own request body the
// writer then fails on the body smithy-go closed and closes the
// connection under the read; with the harnesses' client nothing fails.
func TestSDKBodyCloseRace(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		client func(*http.Client) aws.HTTPClient
		broken bool // the SDK's own bug shows
	}{
		{"sdk request body", func(c *http.Client) aws.HTTPClient { return c }, true},
		{"harness client", sdkHTTPClient, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			queue := h.createQueue(t, sqsName("race"), nil)
			sendBatch(t, h.client, queue, 10, 600) // a response well over 4 KiB

			s := &stall{bodyRead: make(chan struct{}), writerDone: make(chan struct{})}
			tr := h.srv.Client().Transport.(*http.Transport).Clone()
			tr.DialContext = s.dial
			defer tr.CloseIdleConnections()
			client := h.clientVia(tc.client(&http.Client{Transport: tr}), h.key.AccessKeyID, h.key.Secret.Reveal())
			traced := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
				WroteRequest: func(i httptrace.WroteRequestInfo) {
					if i.Err == nil {
						s.writerFinished()
					}
				},
			})
			out, err := client.ReceiveMessage(traced, &awssqs.ReceiveMessageInput{
				QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			})

			if !s.held() {
				t.Fatal("the writer was never held while the response body was read: the test did not set up the race")
			}
			if n := s.timeouts.Load(); n > 0 {
				t.Fatalf("%d waits timed out: the interleaving was not the one intended", n)
			}
			switch {
			case tc.broken && err == nil:
				t.Fatal("ReceiveMessage succeeded with the SDK's own request body: if smithy-go no longer " +
					"returns io.EOF from a closed body's WriteTo, sdkHTTPClient is no longer needed")
			case tc.broken && !errors.Is(err, net.ErrClosed):
				t.Fatalf("ReceiveMessage: %v; want the SDK's use of closed network connection", err)
			case !tc.broken && err != nil:
				t.Fatalf("ReceiveMessage: %v", err)
			case !tc.broken && len(out.Messages) != 10:
				t.Fatalf("ReceiveMessage returned %d messages, want 10", len(out.Messages))
			}
		})
	}
}

// TestConnectionReuse sends each protocol's calls, successes and errors,
// small responses and ones over the client's 4 KiB read buffer, through
// one client and checks that they all share one connection: every
// response is framed so that the client can read the next one after it,
// and the server never closes the connection under the client.
func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider(h.key.AccessKeyID, h.key.Secret.Reveal(), "")
	config := func(hc *http.Client) aws.Config {
		return aws.Config{
			Region: testRegion, Credentials: creds, HTTPClient: sdkHTTPClient(hc),
			Retryer: func() aws.Retryer { return aws.NopRetryer{} }, BaseEndpoint: aws.String(h.srv.URL),
		}
	}
	if err := createLambdaRole(ctx, h.ids, h.account); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		calls func(t *testing.T, hc *http.Client)
	}{
		{"SQS JSON", func(t *testing.T, hc *http.Client) {
			c := h.clientVia(sdkHTTPClient(hc), h.key.AccessKeyID, h.key.Secret.Reveal())
			created, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(sqsName("reuse"))})
			if err != nil {
				t.Fatal(err)
			}
			queue := aws.ToString(created.QueueUrl)
			sendBatch(t, c, queue, 10, 600)
			got, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Messages) != 10 {
				t.Fatalf("ReceiveMessage returned %d messages, want 10", len(got.Messages))
			}
			_, err = c.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("missing")})
			wantSQSErr(t, err, 400, "AWS.SimpleQueueService.NonExistentQueue", "")
			if _, err := c.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(queue)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"SQS Query", func(t *testing.T, hc *http.Client) {
			name := sqsName("reuse")
			path := "/" + h.account + "/" + name
			if r := h.queryWith(t, hc, "/", url.Values{"Action": {"CreateQueue"}, "QueueName": {name}}); r.status != http.StatusOK {
				t.Fatalf("CreateQueue: %d %s", r.status, r.body)
			}
			for range 10 {
				r := h.queryWith(t, hc, path, url.Values{"Action": {"SendMessage"}, "MessageBody": {strings.Repeat("q", 600)}})
				if r.status != http.StatusOK {
					t.Fatalf("SendMessage: %d %s", r.status, r.body)
				}
			}
			r := h.queryWith(t, hc, path, url.Values{"Action": {"ReceiveMessage"}, "MaxNumberOfMessages": {"10"}, "WaitTimeSeconds": {"1"}})
			if r.status != http.StatusOK || len(r.body) <= 4096 {
				t.Fatalf("ReceiveMessage: %d, %d bytes; want 200 and over 4 KiB", r.status, len(r.body))
			}
			if r := h.queryWith(t, hc, "/", url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"missing"}}); r.status != http.StatusBadRequest {
				t.Fatalf("GetQueueUrl of a missing queue: %d %s", r.status, r.body)
			}
		}},
		{"Lambda JSON", func(t *testing.T, hc *http.Client) {
			c := lambda.NewFromConfig(config(hc))
			for i := range 8 {
				if _, err := c.CreateFunction(ctx, createInputIn(t, h.account, fmt.Sprintf("reuse-%d", i))); err != nil {
					t.Fatal(err)
				}
			}
			list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
			if err != nil || len(list.Functions) != 8 {
				t.Fatalf("ListFunctions = %v, %v; want 8 functions", list, err)
			}
			_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("missing")})
			if err == nil {
				t.Fatal("GetFunction of a missing function succeeded")
			}
			if _, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"IAM and STS Query", func(t *testing.T, hc *http.Client) {
			ic := iamsdk.NewFromConfig(config(hc))
			for i := range 15 {
				if _, err := ic.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("reuse-" + strconv.Itoa(i))}); err != nil {
					t.Fatal(err)
				}
			}
			users, err := ic.ListUsers(ctx, &iamsdk.ListUsersInput{})
			if err != nil || len(users.Users) != 15 {
				t.Fatalf("ListUsers = %v, %v; want 15 users", users, err)
			}
			if _, err := ic.GetUser(ctx, &iamsdk.GetUserInput{UserName: aws.String("missing")}); err == nil {
				t.Fatal("GetUser of a missing user succeeded")
			}
			if _, err := stssdk.NewFromConfig(config(hc)).GetCallerIdentity(ctx, &stssdk.GetCallerIdentityInput{}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dials atomic.Int64
			tr := h.srv.Client().Transport.(*http.Transport).Clone()
			dial := tr.DialContext
			if dial == nil {
				dial = (&net.Dialer{}).DialContext
			}
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return dial(ctx, network, addr)
			}
			defer tr.CloseIdleConnections()
			tc.calls(t, &http.Client{Transport: tr})
			if n := dials.Load(); n != 1 {
				t.Errorf("the calls took %d connections, want 1", n)
			}
		})
	}
}

// sendBatch sends n messages of size bytes.
func sendBatch(t *testing.T, c *awssqs.Client, url string, n, size int) {
	t.Helper()
	var entries []types.SendMessageBatchRequestEntry
	for i := range n {
		entries = append(entries, types.SendMessageBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(strings.Repeat("m", size)),
		})
	}
	out, err := c.SendMessageBatch(context.Background(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil || len(out.Failed) > 0 {
		t.Fatalf("SendMessageBatch: %v %v", out, err)
	}
}

// stall orders one request on a client connection: the write that
// completes the request returns only once the response body is being
// read from the connection; that read starts only once the writer is done
// with the request, having finished without error or closed the
// connection.
type stall struct {
	mu        sync.Mutex
	sent      []byte // the request, as written
	recv      []byte // the response head, as read
	complete  bool   // the request is all written
	headersIn bool   // the response head is all read
	holding   bool   // the body read has begun

	bodyRead   chan struct{}
	writerDone chan struct{}
	doneOnce   sync.Once
	timeouts   atomic.Int64
}

func (s *stall) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &stallConn{Conn: c, s: s}, nil
}

func (s *stall) writerFinished() { s.doneOnce.Do(func() { close(s.writerDone) }) }

func (s *stall) held() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holding
}

// wait waits for ch, giving up after a while so that an interleaving the
// test did not foresee fails it instead of hanging it.
func (s *stall) wait(ch <-chan struct{}) {
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		s.timeouts.Add(1)
	}
}

type stallConn struct {
	net.Conn
	s *stall
}

func (c *stallConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	s := c.s
	s.mu.Lock()
	was := s.complete
	s.sent = append(s.sent, b[:n]...)
	s.complete = requestComplete(s.sent)
	s.mu.Unlock()
	if !was && s.complete {
		s.wait(s.bodyRead)
	}
	return n, err
}

func (c *stallConn) Read(b []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	hold := s.headersIn && !s.holding
	if hold {
		s.holding = true
		close(s.bodyRead)
	}
	s.mu.Unlock()
	if hold {
		s.wait(s.writerDone)
	}
	n, err := c.Conn.Read(b)
	s.mu.Lock()
	if !s.headersIn {
		s.recv = append(s.recv, b[:n]...)
		s.headersIn = bytes.Contains(s.recv, []byte("\r\n\r\n"))
	}
	s.mu.Unlock()
	return n, err
}

func (c *stallConn) Close() error {
	err := c.Conn.Close()
	c.s.writerFinished()
	return err
}

// requestComplete reports whether b holds a whole request with a
// Content-Length body.
func requestComplete(b []byte) bool {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return false
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:end+4])))
	return err == nil && int64(len(b)-end-4) >= req.ContentLength
}
