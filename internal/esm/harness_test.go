package esm_test

// The harness assembles Cloister the way cmd/cloister/run.go does — an
// embedded store, iam with root keys and an execution role, the runtime
// catalogue, functions, the queue service, real sandboxes (this test binary
// re-executes itself as the sandbox init), the data plane, the event source
// mapping service and the API — behind httptest, and drives it with
// aws-sdk-go-v2's Lambda and SQS clients. Nothing is mocked: the data
// plane's Invoke is only wrapped, to observe what each invocation carried
// and returned. Without root (no sandboxes) the harness runs without a data
// plane, and the tests that invoke functions skip, saying so.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/esm"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/invoke"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/sandbox"
	"github.com/cloister/cloister/internal/sqs"
	services "github.com/cloister/cloister/internal/stack"
	"github.com/cloister/cloister/internal/stack/fnbuild"
	"github.com/cloister/cloister/internal/store"
)

const region = "us-east-1"

var (
	consumerZip []byte // testdata/consumer, zipped as bootstrap (root only)
	shared      *harness
	sharedOnce  sync.Once
	sharedErr   error
)

func TestMain(m *testing.M) {
	if sandbox.IsInit() {
		os.Exit(sandbox.InitMain())
	}
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	os.Exit(code)
}

// lambdaTrust is the trust policy of an execution role.
const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// consumeQueues is an identity policy that lets an execution role consume
// queues, as a mapping needs (AWSLambdaSQSQueueExecutionRole's actions).
const consumeQueues = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"*"}]}`

// harness is one running Cloister.
type harness struct {
	dir       string
	cancel    context.CancelFunc
	st        *store.Store
	ids       *iam.Service
	fns       *functions.Service
	queues    *sqs.Service
	sandboxes *sandbox.Manager // nil without root
	inv       *invoke.Service  // nil without root
	mappings  *esm.Service
	services  *services.Stack
	rec       *recorder
	srv       *httptest.Server

	account string
	lambda  *lambda.Client
	sqs     *awssqs.Client
	// other is a second account, with its own clients.
	other       string
	otherLambda *lambda.Client
	otherSQS    *awssqs.Client
}

// get returns the shared harness.
func get(t testing.TB) *harness {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = newHarness() })
	if sharedErr != nil {
		t.Fatalf("harness: %v", sharedErr)
	}
	return shared
}

// getInvoking returns the shared harness, skipping the test when it cannot
// run functions here.
func getInvoking(t testing.TB) *harness {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("invoking functions needs sandboxes, which need root (namespaces, cgroups); CI runs these tests as root")
	}
	return get(t)
}

func newHarness() (*harness, error) {
	dir, err := os.MkdirTemp("", "cloister-esm-test-*")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{dir: dir, cancel: cancel, rec: newRecorder()}
	fail := func(err error) (*harness, error) {
		h.close()
		return nil, err
	}
	if h.st, err = store.Open(ctx, store.Config{DataDir: filepath.Join(dir, "data")}); err != nil {
		return fail(err)
	}
	catalog, err := runtimes.Discover()
	if err != nil {
		return fail(err)
	}
	cfg := services.Config{
		Region: region, Logger: testLogger, Runtimes: catalog, ReceiptKey: bytes.Repeat([]byte{9}, 32),
		ESM:           esm.Config{PollWait: time.Second, Logger: testLogger},
		WrapDataPlane: h.rec.wrap,
	}
	if os.Geteuid() == 0 {
		if consumerZip, err = fnbuild.Zip("./testdata/consumer"); err != nil {
			return fail(err)
		}
		if cfg.RuntimeDir, err = runtimes.Install(filepath.Join(dir, "runtimes")); err != nil {
			return fail(err)
		}
		exe, err := os.Executable()
		if err != nil {
			return fail(err)
		}
		h.sandboxes, err = sandbox.NewManager(ctx, sandbox.Config{
			InitPath: exe, PoolSize: 2, CgroupParent: fmt.Sprintf("cloister-esm-test-%d", os.Getpid()),
		})
		if err != nil {
			return fail(err)
		}
		cfg.Sandboxes, cfg.CodeDir = h.sandboxes, filepath.Join(dir, "code")
	}
	if h.services, err = services.Open(ctx, h.st, cfg); err != nil {
		return fail(err)
	}
	v := h.services
	h.ids, h.fns, h.inv, h.queues, h.mappings = v.IAM, v.Functions, v.DataPlane, v.Queues, v.Mappings
	if err := v.Start(); err != nil {
		return fail(err)
	}
	handler := v.Handler
	h.account = v.Account
	key, _, err := h.ids.EnsureRootKey(ctx, h.account, "", "")
	if err != nil {
		return fail(err)
	}
	other, err := h.ids.CreateAccount(ctx, "other")
	if err != nil {
		return fail(err)
	}
	h.other = other.ID
	otherKey, _, err := h.ids.EnsureRootKey(ctx, other.ID, "", "")
	if err != nil {
		return fail(err)
	}
	// Each account's execution role may consume queues.
	for _, a := range []string{h.account, h.other} {
		if _, err := h.ids.CreateRole(ctx, a, iam.CreateRoleInput{Name: "lambda-role", Trust: lambdaTrust}); err != nil {
			return fail(err)
		}
		if err := h.ids.PutInlinePolicy(ctx, a, iam.KindRole, "lambda-role", "consume-queues", consumeQueues); err != nil {
			return fail(err)
		}
	}
	h.srv = httptest.NewServer(handler)
	h.lambda, h.sqs = h.clients(key)
	h.otherLambda, h.otherSQS = h.clients(otherKey)
	return h, nil
}

// createRole makes an execution role (it trusts Lambda) with inline
// policies and returns its ARN.
func (h *harness) createRole(t testing.TB, account, name string, policies ...string) string {
	t.Helper()
	ctx := context.Background()
	r, err := h.ids.CreateRole(ctx, account, iam.CreateRoleInput{Name: name, Trust: lambdaTrust})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	for i, doc := range policies {
		if err := h.ids.PutInlinePolicy(ctx, account, iam.KindRole, name, fmt.Sprintf("p%d", i), doc); err != nil {
			t.Fatalf("put policy of %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		for i := range policies {
			_ = h.ids.DeleteInlinePolicy(context.Background(), account, iam.KindRole, name, fmt.Sprintf("p%d", i))
		}
		_ = h.ids.DeleteRole(context.Background(), account, name)
	})
	return r.ARN()
}

func (h *harness) clients(key iam.Key) (*lambda.Client, *awssqs.Client) {
	creds := credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.Secret.Reveal(), "")
	return lambda.New(lambda.Options{Region: region, BaseEndpoint: aws.String(h.srv.URL), Credentials: creds, RetryMaxAttempts: 1}),
		awssqs.New(awssqs.Options{Region: region, BaseEndpoint: aws.String(h.srv.URL), Credentials: creds, RetryMaxAttempts: 1})
}

// close shuts down in cmd/cloister's order.
func (h *harness) close() {
	if h.srv != nil {
		h.srv.Close()
	}
	if h.services != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		h.services.Close(ctx)
		cancel()
	}
	if h.sandboxes != nil {
		h.sandboxes.Close()
	}
	h.cancel()
	if h.st != nil {
		h.st.Close()
	}
	os.RemoveAll(h.dir)
}

// testLogger shows the server's warnings in the test output.
var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// uniqueName makes a function or queue name for a test.
func uniqueName(t testing.TB) string {
	n := strings.NewReplacer("/", "-", "_", "-", ".", "-", " ", "-", "=", "-", "#", "-").Replace(t.Name())
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return strings.Trim(n, "-") + fmt.Sprintf("-%d", time.Now().UnixNano()%1000000)
}

// createFunction makes a function whose code never runs (for tests of the
// API) and waits until it is Active.
func (h *harness) createFunction(t testing.TB, c *lambda.Client, account, name string) string {
	t.Helper()
	return h.createFunctionWith(t, c, account, name, nil)
}

// createConsumer makes a function running testdata/consumer.
func (h *harness) createConsumer(t testing.TB, name string) string {
	t.Helper()
	if consumerZip == nil {
		t.Fatal("the consumer function is built only when sandboxes can run")
	}
	return h.createFunctionWith(t, h.lambda, h.account, name, consumerZip)
}

func (h *harness) createFunctionWith(t testing.TB, c *lambda.Client, account, name string, code []byte) string {
	t.Helper()
	return h.createFunctionAs(t, c, "arn:aws:iam::"+account+":role/lambda-role", name, code)
}

// createFunctionAs makes a function with the execution role roleARN; nil
// code is code that never runs (for tests of the API).
func (h *harness) createFunctionAs(t testing.TB, c *lambda.Client, roleARN, name string, code []byte) string {
	t.Helper()
	ctx := context.Background()
	if code == nil {
		var err error
		if code, err = fnbuild.ZipBootstrap([]byte("#!/bin/sh\nexit 1\n")); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String(roleARN), Code: &lambdatypes.FunctionCode{ZipFile: code},
		Timeout: aws.Int32(30),
	})
	if err != nil {
		t.Fatalf("create function %s: %v", name, err)
	}
	w := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		t.Fatalf("wait active %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteFunction(context.Background(), &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
	})
	return aws.ToString(out.FunctionArn)
}

// queue is a queue a test made.
type queue struct {
	name, url, arn string
}

// createQueue makes a queue with attributes and returns its URL and ARN.
func (h *harness) createQueue(t testing.TB, c *awssqs.Client, name string, attrs map[string]string) queue {
	t.Helper()
	ctx := context.Background()
	out, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	a, err := c.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	q := queue{name: name, url: aws.ToString(out.QueueUrl), arn: a.Attributes["QueueArn"]}
	t.Cleanup(func() { _, _ = c.DeleteQueue(context.Background(), &awssqs.DeleteQueueInput{QueueUrl: out.QueueUrl}) })
	return q
}

// send sends messages with the given bodies in batches of ten and returns
// their message IDs in order.
func (h *harness) send(t testing.TB, q queue, bodies ...string) []string {
	t.Helper()
	ids := make([]string, 0, len(bodies))
	for i := 0; i < len(bodies); i += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for j := i; j < min(i+10, len(bodies)); j++ {
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), MessageBody: aws.String(bodies[j])})
		}
		out, err := h.sqs.SendMessageBatch(context.Background(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		if len(out.Failed) > 0 {
			t.Fatalf("send: %d failed: %+v", len(out.Failed), out.Failed[0])
		}
		byID := map[string]string{}
		for _, s := range out.Successful {
			byID[aws.ToString(s.Id)] = aws.ToString(s.MessageId)
		}
		for j := i; j < min(i+10, len(bodies)); j++ {
			ids = append(ids, byID[fmt.Sprint(j)])
		}
	}
	return ids
}

// counts returns a queue's visible and in-flight message counts.
func (h *harness) counts(t testing.TB, c *awssqs.Client, q queue) (visible, inFlight int) {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(q.url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &visible)
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &inFlight)
	return visible, inFlight
}

// eventually polls cond until it holds, failing the test after timeout: a
// bound on how long an eventual outcome may take, not a timing assertion.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// createMapping creates a mapping and waits for it to settle in state.
func (h *harness) createMapping(t testing.TB, c *lambda.Client, in *lambda.CreateEventSourceMappingInput, state string) *lambda.GetEventSourceMappingOutput {
	t.Helper()
	out, err := c.CreateEventSourceMapping(context.Background(), in)
	if err != nil {
		t.Fatalf("create mapping: %v", err)
	}
	uuid := aws.ToString(out.UUID)
	t.Cleanup(func() {
		_, _ = c.DeleteEventSourceMapping(context.Background(), &lambda.DeleteEventSourceMappingInput{UUID: aws.String(uuid)})
	})
	return h.waitState(t, c, uuid, state)
}

// waitState waits until a mapping reports state.
func (h *harness) waitState(t testing.TB, c *lambda.Client, uuid, state string) *lambda.GetEventSourceMappingOutput {
	t.Helper()
	var got *lambda.GetEventSourceMappingOutput
	eventually(t, 10*time.Second, "mapping "+uuid+" in state "+state, func() bool {
		out, err := c.GetEventSourceMapping(context.Background(), &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
		if err != nil {
			t.Fatalf("get mapping: %v", err)
		}
		got = out
		return aws.ToString(out.State) == state
	})
	return got
}

// apiError returns err's AWS error code and message.
func apiError(t testing.TB, err error) (code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an AWS API error", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// recorder wraps the data plane's Invoke to observe invocations.
type recorder struct {
	mu       sync.Mutex
	calls    map[string][]call // by function name
	inFlight map[string]int
	peak     map[string]int
	total    atomic.Int64
}

// call is one recorded invocation.
type call struct {
	Payload  []byte
	Depth    int
	Response []byte
	FuncErr  string
	Err      error
}

func newRecorder() *recorder {
	return &recorder{calls: map[string][]call{}, inFlight: map[string]int{}, peak: map[string]int{}}
}

// wrap returns dp, recording the invocations that go through it.
func (r *recorder) wrap(dp services.DataPlane) services.DataPlane { return recorded{r, dp} }

type recorded struct {
	r  *recorder
	dp services.DataPlane
}

func (w recorded) Invoke(ctx context.Context, req *api.InvokeRequest) (*api.InvokeResult, error) {
	r, name := w.r, req.Function.Config.FunctionName
	r.mu.Lock()
	r.inFlight[name]++
	r.peak[name] = max(r.peak[name], r.inFlight[name])
	r.mu.Unlock()
	res, err := w.dp.Invoke(ctx, req)
	c := call{Payload: req.Payload, Depth: req.Depth, Err: err}
	if res != nil {
		c.Response, c.FuncErr = res.Payload, res.FunctionError
	}
	r.mu.Lock()
	r.inFlight[name]--
	r.calls[name] = append(r.calls[name], c)
	r.mu.Unlock()
	r.total.Add(1)
	return res, err
}

// of returns the invocations of a function so far.
func (r *recorder) of(name string) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls[name]...)
}

// peakOf is the most concurrent invocations of a function seen.
func (r *recorder) peakOf(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peak[name]
}

// record is one record of a recorded SQS event, as a function receives it.
type record struct {
	MessageID         string            `json:"messageId"`
	ReceiptHandle     string            `json:"receiptHandle"`
	Body              string            `json:"body"`
	Attributes        map[string]string `json:"attributes"`
	MessageAttributes map[string]struct {
		StringValue      *string  `json:"stringValue"`
		BinaryValue      []byte   `json:"binaryValue"`
		StringListValues []string `json:"stringListValues"`
		BinaryListValues []string `json:"binaryListValues"`
		DataType         string   `json:"dataType"`
	} `json:"messageAttributes"`
	MD5OfMessageAttributes *string `json:"md5OfMessageAttributes"`
	MD5OfBody              string  `json:"md5OfBody"`
	EventSource            string  `json:"eventSource"`
	EventSourceARN         string  `json:"eventSourceARN"`
	AWSRegion              string  `json:"awsRegion"`
}

// records decodes a recorded event.
func (c call) records(t testing.TB) []record {
	t.Helper()
	var ev struct{ Records []record }
	if err := json.Unmarshal(c.Payload, &ev); err != nil {
		t.Fatalf("event %q: %v", c.Payload, err)
	}
	return ev.Records
}

// delivered counts, per message ID, the invocations that carried it.
func delivered(t testing.TB, calls []call) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, c := range calls {
		for _, r := range c.records(t) {
			n[r.MessageID]++
		}
	}
	return n
}
