package invoke_test

// The harness assembles Cloister's control plane and data plane the way
// cmd/cloister/run.go does — embedded store, iam root key, runtime catalogue,
// functions, real sandboxes (this test binary re-executes itself as the
// sandbox init), the invoke service and the API — behind httptest, and
// drives it with aws-sdk-go-v2. Nothing is mocked. Sandboxes need root:
// without it the tests skip, saying so; CI runs as root.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/invoke"
	"github.com/cloister/cloister/internal/logs"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/sandbox"
	"github.com/cloister/cloister/internal/stack"
	"github.com/cloister/cloister/internal/stack/fnbuild"
	"github.com/cloister/cloister/internal/store"
)

const region = "us-east-1"

var (
	probeZip []byte // the probe function (aws-lambda-go), zipped as bootstrap
	buildErr error
	h        *harness
	hOnce    sync.Once
	hErr     error
)

func TestMain(m *testing.M) {
	if sandbox.IsInit() {
		os.Exit(sandbox.InitMain())
	}
	if cpu := os.Getenv(echoCPUEnv); cpu != "" {
		os.Exit(echoMain(cpu))
	}
	if cpu := os.Getenv(spinCPUEnv); cpu != "" {
		os.Exit(spinMain(cpu))
	}
	code := func() int {
		if os.Getenv(idlePollEnv) != "" {
			stop, err := startIdlePollers()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer stop()
		}
		if os.Geteuid() == 0 {
			probeZip, buildErr = fnbuild.Zip("./testdata/probe")
		}
		code := m.Run()
		if h != nil {
			h.close()
		}
		return code
	}()
	os.Exit(code)
}

type zipEntry struct {
	data []byte
	mode os.FileMode
}

func zipFiles(files map[string]zipEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, f := range files {
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr.SetMode(mode)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// harness is one running Cloister with a data plane.
type harness struct {
	dir       string
	cancel    context.CancelFunc
	st        *store.Store
	ids       *iam.Service
	fns       *functions.Service
	sandboxes *sandbox.Manager
	stack     *stack.Stack
	inv       *invoke.Service
	logs      *logs.Store
	srv       *httptest.Server
	account   string
	key       iam.Key
	client    *lambda.Client

	// issued counts the role sessions the data plane asked for, by
	// session name (the function's name).
	issuedMu sync.Mutex
	issued   map[string]int
}

// issue is the data plane's Issuer: IAM's, counted.
func (h *harness) issue(ctx context.Context, roleARN, session string, d time.Duration) (iam.Credentials, error) {
	h.issuedMu.Lock()
	h.issued[session]++
	h.issuedMu.Unlock()
	return h.ids.IssueRoleSession(ctx, roleARN, session, d)
}

func (h *harness) issuedFor(session string) int {
	h.issuedMu.Lock()
	defer h.issuedMu.Unlock()
	return h.issued[session]
}

// get returns the shared harness, skipping the test when sandboxes cannot
// run here.
func get(t *testing.T) *harness {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sandboxes need root (namespaces, cgroups); CI runs these tests as root")
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	hOnce.Do(func() { h, hErr = newHarness() })
	if hErr != nil {
		t.Fatalf("harness: %v", hErr)
	}
	return h
}

func newHarness() (*harness, error) {
	dir, err := os.MkdirTemp("", "cloister-invoke-test-*")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{dir: dir, cancel: cancel, issued: map[string]int{}}
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
	rtDir, err := runtimes.Install(filepath.Join(dir, "runtimes"))
	if err != nil {
		return fail(err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	h.sandboxes, err = sandbox.NewManager(ctx, sandbox.Config{
		InitPath: exe, PoolSize: 2, CgroupParent: fmt.Sprintf("cloister-invoke-test-%d", os.Getpid()),
	})
	if err != nil {
		return fail(err)
	}
	h.stack, err = stack.Open(ctx, h.st, stack.Config{
		Region: region, Logger: testLogger, Runtimes: catalog, Sandboxes: h.sandboxes, RuntimeDir: rtDir,
		CodeDir: filepath.Join(dir, "code"), Credentials: h.issue,
	})
	if err != nil {
		return fail(err)
	}
	h.ids, h.fns, h.inv, h.logs, h.account = h.stack.IAM, h.stack.Functions, h.stack.DataPlane, h.stack.Logs, h.stack.Account
	if h.key, _, err = h.ids.EnsureRootKey(ctx, h.account, "", ""); err != nil {
		return fail(err)
	}
	// The execution role functions run as: it trusts Lambda.
	if _, err := h.ids.CreateRole(ctx, h.account, iam.CreateRoleInput{Name: "lambda-role", Trust: lambdaTrust}); err != nil {
		return fail(err)
	}
	if err := h.stack.Start(); err != nil {
		return fail(err)
	}
	handler := h.stack.Handler
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
		h.stack.Close(context.Background())
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

// fnSpec describes a function to create.
type fnSpec struct {
	runtime string
	handler string
	zip     []byte
	memory  int32
	timeout int32
	env     map[string]string
	tmpMB   int32
	layers  []string
}

// create makes a function and waits until it is Active.
func (h *harness) create(t testing.TB, name string, s fnSpec) {
	t.Helper()
	if s.runtime == "" {
		s.runtime, s.handler, s.zip = "provided.al2023", "bootstrap", probeZip
	}
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: types.Runtime(s.runtime), Handler: aws.String(s.handler),
		Role: aws.String(h.roleARN()), Code: &types.FunctionCode{ZipFile: s.zip},
	}
	if s.memory > 0 {
		in.MemorySize = aws.Int32(s.memory)
	}
	if s.timeout > 0 {
		in.Timeout = aws.Int32(s.timeout)
	}
	if s.env != nil {
		in.Environment = &types.Environment{Variables: s.env}
	}
	if s.tmpMB > 0 {
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(s.tmpMB)}
	}
	in.Layers = s.layers
	ctx := context.Background()
	if _, err := h.client.CreateFunction(ctx, in); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	w := lambda.NewFunctionActiveV2Waiter(h.client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		t.Fatalf("wait active %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = h.client.DeleteFunction(context.Background(), &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
	})
}

// invoke calls the function and returns the output.
func (h *harness) invoke(t *testing.T, name string, payload any, opts ...func(*lambda.InvokeInput)) *lambda.InvokeOutput {
	t.Helper()
	out, err := h.tryInvoke(name, payload, opts...)
	if err != nil {
		t.Fatalf("invoke %s: %v", name, err)
	}
	return out
}

func (h *harness) tryInvoke(name string, payload any, opts ...func(*lambda.InvokeInput)) (*lambda.InvokeOutput, error) {
	var body []byte
	switch p := payload.(type) {
	case nil:
	case []byte:
		body = p
	default:
		body, _ = json.Marshal(p)
	}
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: body}
	for _, o := range opts {
		o(in)
	}
	return h.client.Invoke(context.Background(), in)
}

func withTail(in *lambda.InvokeInput) { in.LogType = types.LogTypeTail }

// decode unmarshals a function's JSON response.
func decode[T any](t *testing.T, out *lambda.InvokeOutput) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(out.Payload, &v); err != nil {
		t.Fatalf("decode %q: %v", out.Payload, err)
	}
	return v
}

// funcError asserts a function error of the given type and returns its message.
func funcError(t *testing.T, out *lambda.InvokeOutput, wantType string) string {
	t.Helper()
	if aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("FunctionError = %q, want Unhandled (payload %s)", aws.ToString(out.FunctionError), out.Payload)
	}
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(out.Payload, &e); err != nil {
		t.Fatalf("error payload %q: %v", out.Payload, err)
	}
	if e.ErrorType != wantType {
		t.Fatalf("errorType = %q, want %q (message %q)", e.ErrorType, wantType, e.ErrorMessage)
	}
	return e.ErrorMessage
}

func uniqueName(t *testing.T) string {
	n := strings.NewReplacer("/", "-", "_", "-", ".", "-").Replace(t.Name())
	if len(n) > 50 {
		n = n[len(n)-50:]
	}
	return strings.Trim(n, "-") + fmt.Sprintf("-%d", time.Now().UnixNano()%100000)
}

// testLogger shows the server's errors in the test output.
var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// getB is get for benchmarks.
func getB(b *testing.B) *harness {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("sandboxes need root")
	}
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	hOnce.Do(func() { h, hErr = newHarness() })
	if hErr != nil {
		b.Fatalf("harness: %v", hErr)
	}
	return h
}

func delInput(name string) *lambda.DeleteFunctionInput {
	return &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}
}

// extractBootstrap writes the bootstrap of a zip to path.
func extractBootstrap(zipData []byte, path string) error {
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		if f.Name != "bootstrap" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, rc); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	return fmt.Errorf("no bootstrap in zip")
}

// request resolves a function for a direct call into an invoke.Service.
func (h *harness) request(t *testing.T, name, payload string) *api.InvokeRequest {
	t.Helper()
	fn, err := h.fns.Resolve(context.Background(), functions.Ref{Account: h.account, Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &api.InvokeRequest{RequestID: fmt.Sprintf("req-%d", time.Now().UnixNano()), Function: fn, Payload: []byte(payload)}
}

// decodeBytes unmarshals JSON bytes.
func decodeBytes[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// decodeTail decodes an Invoke's log tail.
func decodeTail(out *lambda.InvokeOutput) string {
	b, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	return string(b)
}

// lambdaTrust is the trust policy of an execution role.
const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func (h *harness) roleARN() string { return "arn:aws:iam::" + h.account + ":role/lambda-role" }
