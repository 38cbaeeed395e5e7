package async_test

// The harness assembles Cloister the way cmd/cloister/run.go does —
// embedded store, iam root key, runtime catalogue, functions, real
// sandboxes (this test binary re-executes itself as the sandbox init), the
// invoke service, the queue service, the async service and the API — and
// drives it with aws-sdk-go-v2 and the services' Go APIs. Nothing is
// mocked: the data plane is wrapped only to count the invocations it runs.
// Sandboxes need root: without it these tests skip, saying so; CI runs as
// root.

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/async"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/invoke"
	"github.com/cloister/cloister/internal/logs"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/sandbox"
	"github.com/cloister/cloister/internal/sqs"
	services "github.com/cloister/cloister/internal/stack"
	"github.com/cloister/cloister/internal/stack/fnbuild"
	"github.com/cloister/cloister/internal/store"
)

const region = "us-east-1"

var (
	fnZip    []byte // testdata/fn, zipped as bootstrap
	buildErr error
	h        *harness
	hOnce    sync.Once
	hErr     error
)

func TestMain(m *testing.M) {
	if sandbox.IsInit() {
		os.Exit(sandbox.InitMain())
	}
	code := func() int {
		code := m.Run()
		if h != nil {
			h.close()
		}
		return code
	}()
	os.Exit(code)
}

// testLogger shows the server's warnings in the test output.
var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// platform is what every stack shares: sandboxes and runtimes.
type platform struct {
	dir       string
	sandboxes *sandbox.Manager
	catalog   *runtimes.Catalog
	rtDir     string
}

func newPlatform(ctx context.Context, dir string) (*platform, error) {
	p := &platform{dir: dir}
	var err error
	if p.catalog, err = runtimes.Discover(); err != nil {
		return nil, err
	}
	if p.rtDir, err = runtimes.Install(filepath.Join(dir, "runtimes")); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p.sandboxes, err = sandbox.NewManager(ctx, sandbox.Config{
		InitPath: exe, PoolSize: 2, CgroupParent: fmt.Sprintf("cloister-async-test-%d", os.Getpid()),
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// asyncConfig is the dispatcher's configuration in tests: Lambda's
// behaviour, with delays short enough to run.
func asyncConfig() async.Config {
	return async.Config{
		Workers: 8, AckWait: 3 * time.Second,
		RetryDelays: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
		MinBackoff:  50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		Logger: testLogger,
	}
}

// stack is one server's services on one store, assembled as
// cmd/cloister assembles them, with the data plane counted and the clock
// the tests'.
type stack struct {
	st       *store.Store
	services *services.Stack
	ids      *iam.Service
	account  string
	fns      *functions.Service
	inv      *invoke.Service
	logs     *logs.Store
	queues   *sqs.Service
	events   *async.Service
	runs     *counter
	clock    *clock
}

// openStack opens the services on the store in dataDir (created or
// reopened); s.services.Start runs their background work.
func openStack(p *platform, dataDir string, cfg async.Config) (*stack, error) {
	ctx := context.Background()
	s := &stack{clock: &clock{}}
	fail := func(err error) (*stack, error) {
		s.close()
		return nil, err
	}
	var err error
	if s.st, err = store.Open(ctx, store.Config{DataDir: dataDir}); err != nil {
		return fail(err)
	}
	cfg.Now = s.clock.Now
	s.services, err = services.Open(ctx, s.st, services.Config{
		Region: region, Logger: testLogger, Runtimes: p.catalog, Sandboxes: p.sandboxes, RuntimeDir: p.rtDir,
		CodeDir: filepath.Join(dataDir, "code"), ReceiptKey: bytes.Repeat([]byte{9}, 32), Async: cfg,
		WrapDataPlane: func(dp services.DataPlane) services.DataPlane {
			s.runs = newCounter(dp)
			return s.runs
		},
	})
	if err != nil {
		return fail(err)
	}
	v := s.services
	s.ids, s.account, s.fns, s.inv, s.logs, s.queues, s.events = v.IAM, v.Account, v.Functions, v.DataPlane, v.Logs, v.Queues, v.Events
	// The execution role functions run as: it trusts Lambda, and may send
	// to queues and invoke functions, as destinations need.
	if _, err := s.ids.CreateRole(ctx, s.account, iam.CreateRoleInput{Name: "lambda-role", Trust: lambdaTrust}); err != nil && !awserr.IsType(err, awserr.EntityAlreadyExists) {
		return fail(err)
	}
	if err := s.ids.PutInlinePolicy(ctx, s.account, iam.KindRole, "lambda-role", "destinations", deliverPolicy); err != nil {
		return fail(err)
	}
	return s, nil
}

// crash closes the store under the running services, so that nothing they
// do from then on is stored (what a crash of the server leaves behind),
// then shuts them down.
func (s *stack) crash() {
	s.st.Close()
	s.st = nil
	s.close()
}

// close shuts the stack down in run.go's order.
func (s *stack) close() {
	if s.services != nil {
		s.services.Close(context.Background())
	}
	if s.st != nil {
		s.st.Close()
	}
}

// harness is one running Cloister with an API.
type harness struct {
	dir    string
	cancel context.CancelFunc
	p      *platform
	*stack
	srv    *httptest.Server
	key    iam.Key
	client *lambda.Client
}

// get returns the shared harness, skipping the test when sandboxes cannot
// run here.
func get(t testing.TB) *harness {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sandboxes need root (namespaces, cgroups); CI runs these tests as root")
	}
	hOnce.Do(func() {
		// Built here, not in TestMain: fuzzing workers never need it.
		if fnZip, buildErr = fnbuild.Zip("./testdata/fn"); buildErr == nil {
			h, hErr = newHarness()
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	if hErr != nil {
		t.Fatalf("harness: %v", hErr)
	}
	return h
}

func newHarness() (*harness, error) {
	dir, err := os.MkdirTemp("", "cloister-async-test-*")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{dir: dir, cancel: cancel}
	fail := func(err error) (*harness, error) {
		h.close()
		return nil, err
	}
	if h.p, err = newPlatform(ctx, dir); err != nil {
		return fail(err)
	}
	if h.stack, err = openStack(h.p, filepath.Join(dir, "data"), asyncConfig()); err != nil {
		return fail(err)
	}
	if h.key, _, err = h.ids.EnsureRootKey(ctx, h.account, "", ""); err != nil {
		return fail(err)
	}
	if err := h.services.Start(); err != nil {
		return fail(err)
	}
	handler := h.services.Handler
	h.srv = httptest.NewServer(handler)
	h.client = lambda.New(lambda.Options{
		Region: region, BaseEndpoint: aws.String(h.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(h.key.AccessKeyID, h.key.Secret.Reveal(), ""),
		RetryMaxAttempts: 1,
	})
	return h, nil
}

func (h *harness) close() {
	if h.srv != nil {
		h.srv.Close()
	}
	if h.stack != nil {
		h.stack.close()
	}
	if h.p != nil && h.p.sandboxes != nil {
		h.p.sandboxes.Close()
	}
	h.cancel()
	os.RemoveAll(h.dir)
}

// counter wraps the data plane to count what it runs, per request id.
type counter struct {
	inner async.DataPlane
	mu    sync.Mutex
	runs  map[string]int // invocations that ran (returned a result)
	fails map[string]int // invocations refused (throttled, ...)
	live  map[string]int // invocations running now
	errs  map[string]error
}

func newCounter(inner async.DataPlane) *counter {
	return &counter{inner: inner, runs: map[string]int{}, fails: map[string]int{}, live: map[string]int{}, errs: map[string]error{}}
}

func (c *counter) Invoke(ctx context.Context, req *api.InvokeRequest) (*api.InvokeResult, error) {
	c.mu.Lock()
	c.live[req.RequestID]++
	c.mu.Unlock()
	res, err := c.inner.Invoke(ctx, req)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[req.RequestID]--
	if err != nil {
		c.fails[req.RequestID]++
		c.errs[req.RequestID] = err
	} else {
		c.runs[req.RequestID]++
	}
	return res, err
}

// get reads a request's counts.
func (c *counter) get(id string) (runs, fails, live int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[id], c.fails[id], c.live[id]
}

// throttled reports whether a request was refused as TooManyRequests.
func (c *counter) throttled(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return awserr.IsType(c.errs[id], awserr.TooManyRequests)
}

// clock is the dispatcher's clock, which tests may move forward.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// fnSpec describes a function to create.
type fnSpec struct {
	timeout int32
	dlq     string // DeadLetterConfig target
	role    string // execution role ARN; lambda-role when empty
}

// create makes a function (testdata/fn) and waits until it is Active. It
// uses the functions service directly: decoding a 10 MB code upload from
// JSON is slow under the race detector, and not what is tested here.
func (h *harness) create(t testing.TB, name string, s fnSpec) string {
	t.Helper()
	arn := createFn(t, h.stack, name, s)
	t.Cleanup(func() { _ = h.fns.Delete(context.Background(), functions.Ref{Account: h.account, Name: name}) })
	return arn
}

func createFn(t testing.TB, st *stack, name string, s fnSpec) string {
	t.Helper()
	role := s.role
	if role == "" {
		role = "arn:aws:iam::" + st.account + ":role/lambda-role"
	}
	in := &functions.CreateInput{
		FunctionName: aws.String(name), Runtime: aws.String("provided.al2023"), Handler: aws.String("bootstrap"),
		Role: aws.String(role), Code: &functions.FunctionCode{ZipFile: fnZip},
	}
	if s.timeout > 0 {
		in.Timeout = aws.Int(int(s.timeout))
	}
	if s.dlq != "" {
		in.DeadLetterConfig = &functions.DeadLetterConfig{TargetArn: s.dlq}
	}
	ctx := context.Background()
	// The role exists and trusts Lambda (openStack made it).
	cfg, err := st.fns.Create(ctx, st.account, in, func(context.Context, string) error { return nil })
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	ref := functions.Ref{Account: st.account, Name: name}
	eventually(t, name+" to be Active", func() bool {
		fn, err := st.fns.Get(ctx, ref)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		return fn.Config.State == functions.StateActive
	})
	return cfg.FunctionArn
}

// eventConfig puts a function's FunctionEventInvokeConfig.
func (h *harness) eventConfig(t testing.TB, name string, retries, maxAge int32, onSuccess, onFailure string) {
	t.Helper()
	in := &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), MaximumRetryAttempts: aws.Int32(retries)}
	if maxAge > 0 {
		in.MaximumEventAgeInSeconds = aws.Int32(maxAge)
	}
	dc := &types.DestinationConfig{}
	if onSuccess != "" {
		dc.OnSuccess = &types.OnSuccess{Destination: aws.String(onSuccess)}
	}
	if onFailure != "" {
		dc.OnFailure = &types.OnFailure{Destination: aws.String(onFailure)}
	}
	in.DestinationConfig = dc
	if _, err := h.client.PutFunctionEventInvokeConfig(context.Background(), in); err != nil {
		t.Fatalf("put event invoke config of %s: %v", name, err)
	}
}

// queue creates a standard queue and returns its ARN.
func (h *harness) queue(t testing.TB, name string) string {
	t.Helper()
	q, err := h.queues.CreateQueue(context.Background(), h.account, name, nil, nil)
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	t.Cleanup(func() { _ = h.queues.DeleteQueue(context.Background(), h.account, name) })
	return q.ARN
}

// event invokes a function asynchronously through the API and returns the
// request id.
func (h *harness) event(t testing.TB, name string, payload any, opts ...func(*lambda.InvokeInput)) string {
	t.Helper()
	body, _ := json.Marshal(payload)
	in := &lambda.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent, Payload: body}
	for _, o := range opts {
		o(in)
	}
	out, err := h.client.Invoke(context.Background(), in)
	if err != nil {
		t.Fatalf("invoke %s (Event): %v", name, err)
	}
	if out.StatusCode != 202 {
		t.Fatalf("invoke %s (Event): status %d, want 202", name, out.StatusCode)
	}
	id, ok := requestID(out.ResultMetadata)
	if !ok {
		t.Fatalf("invoke %s (Event): no request id", name)
	}
	return id
}

// receive waits for n messages on a queue, deleting them, and fails the
// test when they do not come within a minute.
func receive(t testing.TB, queues *sqs.Service, arn string, n int) []sqs.Message {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	var out []sqs.Message
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d messages on %s", len(out), n, arn)
		}
		msgs, err := queues.Receive(ctx, arn, 10, time.Second, time.Minute)
		if err != nil {
			t.Fatalf("receive from %s: %v", arn, err)
		}
		for _, m := range msgs {
			if err := queues.Delete(ctx, arn, m.ReceiptHandle); err != nil {
				t.Fatalf("delete from %s: %v", arn, err)
			}
			out = append(out, m)
		}
	}
	return out
}

// none asserts that a queue holds no message now.
func none(t testing.TB, queues *sqs.Service, arn string) {
	t.Helper()
	msgs, err := queues.Receive(context.Background(), arn, 10, 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) > 0 {
		t.Fatalf("%s holds %d unexpected messages, the first: %s", arn, len(msgs), msgs[0].Body)
	}
}

// eventually waits (at most a minute) for cond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func uniqueName(t testing.TB) string {
	n := strings.NewReplacer("/", "-", "_", "-", ".", "-", "=", "-").Replace(t.Name())
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return strings.Trim(n, "-") + fmt.Sprintf("-%d", time.Now().UnixNano()%1000000)
}

// lambdaTrust is the trust policy of an execution role.
const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// deliverPolicy lets an execution role deliver to every destination.
const deliverPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","lambda:InvokeFunction"],"Resource":"*"}]}`

// role creates an execution role (it trusts Lambda) with inline policies
// and returns its ARN.
func (h *harness) role(t testing.TB, name string, policies ...string) string {
	t.Helper()
	ctx := context.Background()
	r, err := h.ids.CreateRole(ctx, h.account, iam.CreateRoleInput{Name: name, Trust: lambdaTrust})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	for i, doc := range policies {
		if err := h.ids.PutInlinePolicy(ctx, h.account, iam.KindRole, name, fmt.Sprintf("p%d", i), doc); err != nil {
			t.Fatalf("put policy of %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		for i := range policies {
			_ = h.ids.DeleteInlinePolicy(context.Background(), h.account, iam.KindRole, name, fmt.Sprintf("p%d", i))
		}
		_ = h.ids.DeleteRole(context.Background(), h.account, name)
	})
	return r.ARN()
}
