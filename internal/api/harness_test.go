package api_test

// The harness assembles a real Cloister control plane the way
// cmd/cloister/run.go does (embedded NATS store in t.TempDir(), iam root
// credentials, the host's runtime catalogue, the functions service and the
// API handler) behind httptest.NewServer, and hands out aws-sdk-go-v2 Lambda
// clients pointed at it. Nothing is mocked.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/store"
)

const (
	testRegion = "us-east-1"
	// testAccount is the harness's default account, so that testRole (an
	// execution role the harness creates there) is a constant.
	testAccount = "123456789012"
	testRole    = "arn:aws:iam::123456789012:role/lambda-role"
	// testRuntime is always in the host catalogue (runtimes.Discover).
	testRuntime = "provided.al2023"
)

// hostIsArm says which architecture this host runs functions on.
var hostIsArm = runtime.GOARCH == "arm64"

// catalog is the host's runtime catalogue, probed once per test binary.
var catalog = sync.OnceValues(runtimes.Discover)

// errorLog shows the server's error-level log lines (the cause behind any
// 500 a test sees) on stderr; the rest is noise.
var errorLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// testClock is the API's clock: real time plus an adjustable offset.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// harnessConfig varies how a harness is assembled.
type harnessConfig struct {
	// prepare is functions.Config.Prepare (nil: code is ready at once).
	prepare func(ctx context.Context, hash string, zip []byte) error
	// concurrencyLimit is the account quota (0: the default 1000).
	concurrencyLimit int
}

// harness is one running Cloister control plane.
type harness struct {
	dir   string
	cfg   harnessConfig
	clock *testClock

	cancel context.CancelFunc
	st     *store.Store
	ids    *iam.Service
	fns    *functions.Service
	// handler is the API server itself; srv serves it on a real listener.
	handler *api.Server
	srv     *httptest.Server

	account string
	key     iam.Key
	client  *lambda.Client
	stopped bool
}

// newHarness starts a control plane on a fresh data directory; it is shut
// down when the test ends.
func newHarness(t testing.TB, cfg harnessConfig) *harness {
	t.Helper()
	h := &harness{dir: t.TempDir(), cfg: cfg, clock: &testClock{}}
	h.start(t)
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog()
	if err != nil {
		t.Fatalf("runtimes.Discover: %v", err)
	}
	st, err := store.Open(ctx, store.Config{DataDir: h.dir})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	workers, cancel := context.WithCancel(context.Background())
	h.st, h.cancel = st, cancel
	ids, err := iam.Open(workers, st, nil, iam.WithDefaultAccountID(testAccount))
	if err != nil {
		h.stop()
		t.Fatalf("iam.Open: %v", err)
	}
	h.ids = ids
	acct, _, err := ids.DefaultAccount(ctx)
	if err != nil {
		h.stop()
		t.Fatalf("DefaultAccount: %v", err)
	}
	if err := createLambdaRole(ctx, ids, acct.ID); err != nil {
		h.stop()
		t.Fatal(err)
	}
	key, _, err := ids.EnsureRootKey(ctx, acct.ID, "", "")
	if err != nil {
		h.stop()
		t.Fatalf("EnsureRootKey: %v", err)
	}
	h.account, h.key = acct.ID, key
	fns, err := functions.Open(ctx, st, functions.Config{
		Region: testRegion, ConcurrencyLimit: h.cfg.concurrencyLimit, Runtimes: cat, Prepare: h.cfg.prepare, Logger: errorLog,
	})
	if err != nil {
		h.stop()
		t.Fatalf("functions.Open: %v", err)
	}
	if err := fns.Start(workers); err != nil {
		h.stop()
		t.Fatalf("functions.Start: %v", err)
	}
	h.fns = fns
	codeKey, err := codeURLKey(ctx, ids)
	if err != nil {
		h.stop()
		t.Fatalf("code URL key: %v", err)
	}
	handler, err := api.New(api.Config{
		Region: testRegion, Keys: ids, Authorizer: ids, IAM: ids, Functions: fns, CodeURLKey: codeKey, Now: h.clock.now, Logger: errorLog,
	})
	if err != nil {
		h.stop()
		t.Fatalf("api.New: %v", err)
	}
	h.handler = handler
	h.srv = httptest.NewServer(handler)
	h.client = h.clientFor(key.AccessKeyID, key.Secret.Reveal())
	h.stopped = false
}

// codeURLKey is the store-wide secret that signs code download URLs, shared
// across restarts as cmd/cloister keeps it.
func codeURLKey(ctx context.Context, ids *iam.Service) ([]byte, error) {
	meta := ids.Meta()
	if e, err := meta.Get(ctx, "code-url-key"); err == nil {
		return e.Value, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if _, err := meta.Create(ctx, "code-url-key", b); err != nil {
		return nil, err
	}
	return b, nil
}

// stop shuts the control plane down in cmd/cloister's order.
func (h *harness) stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	if h.srv != nil {
		h.srv.Close()
	}
	if h.fns != nil {
		h.fns.Close()
	}
	if h.cancel != nil {
		h.cancel()
	}
	if h.ids != nil {
		h.ids.Close()
	}
	if h.st != nil {
		h.st.Close()
	}
	h.srv, h.fns, h.ids, h.st = nil, nil, nil, nil
}

// restart stops the control plane and starts it again on the same data.
func (h *harness) restart(t testing.TB) {
	t.Helper()
	h.stop()
	h.start(t)
}

// clientFor is an SDK client signing with the given key. Retries are off so
// that every error the server sends reaches the test unchanged.
func (h *harness) clientFor(id, secret string) *lambda.Client {
	cfg := aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		HTTPClient:  sdkHTTPClient(h.srv.Client()),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(h.srv.URL)
	})
}

// newAccount creates another account with its own root key and returns its
// id and a client signing as its root.
func (h *harness) newAccount(t testing.TB) (string, *lambda.Client) {
	t.Helper()
	ctx := context.Background()
	acct, err := h.ids.CreateAccount(ctx, "second")
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if err := createLambdaRole(ctx, h.ids, acct.ID); err != nil {
		t.Fatal(err)
	}
	return acct.ID, h.rootClient(t, acct.ID)
}

// createInputIn is createInput for a function of another account, with that
// account's execution role.
func createInputIn(t testing.TB, account, name string) *lambda.CreateFunctionInput {
	in := createInput(t, name)
	in.Role = aws.String("arn:aws:iam::" + account + ":role/lambda-role")
	return in
}

// rootClient is a client signing as account's root, whose key it creates
// on first use.
func (h *harness) rootClient(t testing.TB, account string) *lambda.Client {
	t.Helper()
	key, _, err := h.ids.EnsureRootKey(context.Background(), account, "", "")
	if err != nil {
		t.Fatalf("EnsureRootKey: %v", err)
	}
	return h.clientFor(key.AccessKeyID, key.Secret.Reveal())
}

// arn is the unqualified ARN of the harness account's function name.
func (h *harness) arn(name string) string {
	return "arn:aws:lambda:" + testRegion + ":" + h.account + ":function:" + name
}

var nameSeq atomic.Int64

// fnName returns a function name unique within the test binary.
func fnName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1))
}

// makeZip builds a deployment package from path -> content.
func makeZip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate}
		hdr.SetMode(0o755)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// codeZip is a small valid package whose content (and hash) depends on tag.
func codeZip(t testing.TB, tag string) []byte {
	return makeZip(t, map[string]string{"bootstrap": "#!/bin/sh\necho " + tag + "\n"})
}

// codeSha256 is Lambda's CodeSha256 of a package.
func codeSha256(zip []byte) string {
	sum := sha256.Sum256(zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// createInput is a valid CreateFunction request for name.
func createInput(t testing.TB, name string) *lambda.CreateFunctionInput {
	return &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.Runtime(testRuntime),
		Role:         aws.String(testRole),
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: codeZip(t, name)},
	}
}

// createFunction creates a function (after applying mods to the request)
// and waits until it is Active.
func (h *harness) createFunction(t testing.TB, name string, mods ...func(*lambda.CreateFunctionInput)) *lambda.CreateFunctionOutput {
	t.Helper()
	in := createInput(t, name)
	for _, m := range mods {
		m(in)
	}
	out, err := h.client.CreateFunction(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	h.waitActive(t, h.client, name)
	return out
}

// waitActive runs the SDK's FunctionActiveV2 waiter with short delays.
func (h *harness) waitActive(t testing.TB, c *lambda.Client, name string) *lambda.GetFunctionOutput {
	t.Helper()
	w := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	out, err := w.WaitForOutput(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second)
	if err != nil {
		t.Fatalf("FunctionActiveV2 waiter for %s: %v", name, err)
	}
	return out
}

// waitUpdated runs the SDK's FunctionUpdatedV2 waiter with short delays.
func (h *harness) waitUpdated(t testing.TB, name string) *lambda.GetFunctionOutput {
	t.Helper()
	w := lambda.NewFunctionUpdatedV2Waiter(h.client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	out, err := w.WaitForOutput(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second)
	if err != nil {
		t.Fatalf("FunctionUpdatedV2 waiter for %s: %v", name, err)
	}
	return out
}

// publish publishes $LATEST and returns the new version number.
func (h *harness) publish(t testing.TB, name string) string {
	t.Helper()
	out, err := h.client.PublishVersion(context.Background(), &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("PublishVersion %s: %v", name, err)
	}
	return aws.ToString(out.Version)
}

// updateCode replaces $LATEST's code and waits for the update to finish.
func (h *harness) updateCode(t testing.TB, name, tag string) {
	t.Helper()
	_, err := h.client.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String(name), ZipFile: codeZip(t, tag),
	})
	if err != nil {
		t.Fatalf("UpdateFunctionCode %s: %v", name, err)
	}
	h.waitUpdated(t, name)
}

// apiErr is what a test expects of a failed call.
type apiErr struct {
	status int
	code   string
	// msg is the exact message; a msg ending in "..." is a prefix.
	msg string
}

// wantErr checks err's HTTP status, AWS error code and message as the SDK
// decoded them.
func wantErr(t testing.TB, err error, want apiErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded; want %s (%d)", want.code, want.status)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v has no HTTP response", err)
	}
	if got := re.HTTPStatusCode(); got != want.status {
		t.Errorf("status = %d, want %d (%v)", got, want.status, err)
	}
	if got := re.Response.Header.Get("X-Amzn-ErrorType"); got != want.code {
		t.Errorf("X-Amzn-ErrorType = %q, want %q", got, want.code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an smithy.APIError", err)
	}
	if ae.ErrorCode() != want.code {
		t.Errorf("ErrorCode() = %q, want %q (message %q)", ae.ErrorCode(), want.code, ae.ErrorMessage())
	}
	if prefix, ok := strings.CutSuffix(want.msg, "..."); ok {
		if !strings.HasPrefix(ae.ErrorMessage(), prefix) {
			t.Errorf("ErrorMessage() = %q, want prefix %q", ae.ErrorMessage(), prefix)
		}
	} else if ae.ErrorMessage() != want.msg {
		t.Errorf("ErrorMessage() =\n\t%q\nwant\n\t%q", ae.ErrorMessage(), want.msg)
	}
}

// errAs asserts that err's chain holds the SDK's typed error T and returns it.
func errAs[T error](t testing.TB, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T) is not a %T", err, err, target)
	}
	return target
}

// Errors by type, for the common cases.
func notFound(msg string) apiErr { return apiErr{404, "ResourceNotFoundException", msg} }
func invalidParam(msg string) apiErr {
	return apiErr{400, "InvalidParameterValueException", msg}
}
func validation(msg string) apiErr { return apiErr{400, "ValidationException", msg} }
func conflict(msg string) apiErr   { return apiErr{409, "ResourceConflictException", msg} }

const revisionMismatch = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"

// rawResponse is a response to a hand-built request.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object.
func (r rawResponse) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// signer says how a raw request is signed: with which key, region and
// time. A nil signer sends the request unsigned.
type signer struct {
	id, secret string
	region     string
	at         time.Time
}

// rootSigner signs as the harness account's root, now, in the test region.
func (h *harness) rootSigner() *signer {
	return &signer{id: h.key.AccessKeyID, secret: h.key.Secret.Reveal(), region: testRegion, at: time.Now()}
}

// do sends a raw request with path (already escaped) and body, signed as s
// describes, and returns the full response.
func (h *harness) do(t testing.TB, s *signer, method, path string, body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s != nil {
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: s.id, SecretAccessKey: s.secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", s.region, s.at); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantRawErr checks a raw response against an expected AWS error, including
// the body's message member name and "Type" as the Lambda model has them.
func wantRawErr(t testing.TB, r rawResponse, want apiErr) {
	t.Helper()
	if r.status != want.status {
		t.Errorf("status = %d, want %d (body %s)", r.status, want.status, r.body)
	}
	if got := r.header.Get("X-Amzn-ErrorType"); got != want.code {
		t.Errorf("X-Amzn-ErrorType = %q, want %q", got, want.code)
	}
	if got := r.header.Get("X-Amzn-RequestId"); !uuidRe.MatchString(got) {
		t.Errorf("X-Amzn-RequestId = %q, want a UUID", got)
	}
	m := r.json(t)
	msg, _ := m["message"].(string)
	if msg == "" {
		msg, _ = m["Message"].(string)
	}
	if prefix, ok := strings.CutSuffix(want.msg, "..."); ok {
		if !strings.HasPrefix(msg, prefix) {
			t.Errorf("message = %q, want prefix %q", msg, prefix)
		}
	} else if msg != want.msg {
		t.Errorf("message =\n\t%q\nwant\n\t%q", msg, want.msg)
	}
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// lambdaTrust is an execution role's trust policy.
const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// createLambdaRole creates the execution role "lambda-role" in account.
func createLambdaRole(ctx context.Context, ids *iam.Service, account string) error {
	if ids.LookupRole(account, "lambda-role") != nil {
		return nil // a harness reopened on the same directory
	}
	if _, err := ids.CreateRole(ctx, account, iam.CreateRoleInput{Name: "lambda-role", Trust: lambdaTrust}); err != nil {
		return fmt.Errorf("create lambda-role: %w", err)
	}
	return nil
}
