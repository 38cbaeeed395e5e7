package api_test

// iamEnv is a real Cloister API (embedded store in t.TempDir(), the iam
// service, the functions service and the API handler behind httptest)
// with the IAM, STS and Organizations APIs enabled, and aws-sdk-go-v2
// clients for it. Nothing is mocked.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	orgssdk "github.com/aws/aws-sdk-go-v2/service/organizations"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/store"
)

var iamCatalog = sync.OnceValues(runtimes.Discover)

type iamClock struct{ offset atomic.Int64 }

func (c *iamClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *iamClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

type iamEnv struct {
	t      *testing.T
	audit  *auditRecorder
	region string
	clock  *iamClock
	srv    *httptest.Server
	ids    *iam.Service
	mgmt   string
	root   iam.Key
}

// newIAMEnv starts a server presenting region ("" for us-east-1).
func newIAMEnv(t *testing.T, region string) *iamEnv {
	t.Helper()
	if region == "" {
		region = "us-east-1"
	}
	ctx := context.Background()
	e := &iamEnv{t: t, region: region, clock: &iamClock{}, audit: &auditRecorder{}}
	cat, err := iamCatalog()
	if err != nil {
		t.Fatalf("runtimes.Discover: %v", err)
	}
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	workers, cancel := context.WithCancel(context.Background())
	ids, err := iam.Open(workers, st, nil, iam.WithClock(e.clock.now))
	if err != nil {
		cancel()
		st.Close()
		t.Fatalf("iam.Open: %v", err)
	}
	fns, err := functions.Open(ctx, st, functions.Config{Region: region, Runtimes: cat})
	if err != nil {
		cancel()
		ids.Close()
		st.Close()
		t.Fatalf("functions.Open: %v", err)
	}
	if err := fns.Start(workers); err != nil {
		t.Fatalf("functions.Start: %v", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	handler, err := api.New(api.Config{Region: region, Keys: ids, Authorizer: ids, IAM: ids, Functions: fns, CodeURLKey: key, Now: e.clock.now, Auditor: e.audit})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	e.srv = httptest.NewServer(handler)
	e.ids = ids
	t.Cleanup(func() {
		e.srv.Close()
		fns.Close()
		cancel()
		ids.Close()
		st.Close()
	})
	acct, _, err := ids.DefaultAccount(ctx)
	if err != nil {
		t.Fatalf("DefaultAccount: %v", err)
	}
	e.mgmt = acct.ID
	e.root, _, err = ids.EnsureRootKey(ctx, acct.ID, "", "")
	if err != nil {
		t.Fatalf("EnsureRootKey: %v", err)
	}
	return e
}

// iamCreds are the credentials a client signs with.
type iamCreds struct{ id, secret, token string }

func (e *iamEnv) rootCreds() iamCreds {
	return iamCreds{e.root.AccessKeyID, e.root.Secret.Reveal(), ""}
}

func (e *iamEnv) config(c iamCreds) aws.Config {
	return aws.Config{
		Region:           e.region,
		Credentials:      credentials.NewStaticCredentialsProvider(c.id, c.secret, c.token),
		RetryMaxAttempts: 1,
		HTTPClient:       sdkHTTPClient(e.srv.Client()),
		BaseEndpoint:     aws.String(e.srv.URL),
	}
}

func (e *iamEnv) iam(c iamCreds) *iamsdk.Client {
	cfg := e.config(c)
	cfg.Region = "us-east-1" // IAM is global: clients sign for us-east-1
	return iamsdk.NewFromConfig(cfg)
}

func (e *iamEnv) sts(c iamCreds) *stssdk.Client { return stssdk.NewFromConfig(e.config(c)) }

func (e *iamEnv) orgs(c iamCreds) *orgssdk.Client {
	cfg := e.config(c)
	cfg.Region = "us-east-1"
	return orgssdk.NewFromConfig(cfg)
}

func (e *iamEnv) lambda(c iamCreds) *lambda.Client { return lambda.NewFromConfig(e.config(c)) }

// user creates a user with inline policies and an access key, through
// the API as root.
func (e *iamEnv) user(name string, docs ...string) iamCreds {
	e.t.Helper()
	ctx := context.Background()
	c := e.iam(e.rootCreds())
	if _, err := c.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String(name)}); err != nil {
		e.t.Fatalf("CreateUser %s: %v", name, err)
	}
	for i, d := range docs {
		if _, err := c.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p" + string(rune('0'+i))), PolicyDocument: aws.String(d)}); err != nil {
			e.t.Fatalf("PutUserPolicy %s: %v", name, err)
		}
	}
	out, err := c.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		e.t.Fatalf("CreateAccessKey %s: %v", name, err)
	}
	return iamCreds{aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey), ""}
}

func iamPolicy(effect, actions, resources string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"` + effect + `","Action":` + actions + `,"Resource":` + resources + `}]}`
}

// wantAPIErr checks an SDK error's code, HTTP status and message (a prefix
// when msg ends in "...").
func iamWantErr(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want %s", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("HTTP status %d, want %d", re.HTTPStatusCode(), status)
	}
	if prefix, ok := strings.CutSuffix(msg, "..."); ok {
		if !strings.HasPrefix(ae.ErrorMessage(), prefix) {
			t.Errorf("message %q, want prefix %q", ae.ErrorMessage(), prefix)
		}
	} else if ae.ErrorMessage() != msg {
		t.Errorf("message %q, want %q", ae.ErrorMessage(), msg)
	}
}

// raw sends a signed POST / with a body and returns status, headers and
// body.
func (e *iamEnv) raw(c iamCreds, service, region, contentType, body string, hdr map[string]string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.id != "" {
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.id, SecretAccessKey: c.secret, SessionToken: c.token},
			req, hex.EncodeToString(sum[:]), service, region, e.clock.now()); err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, buf.String()
}

const iamFormType = "application/x-www-form-urlencoded; charset=utf-8"

var iamCtx = context.Background()

type iamTag = iamtypes.Tag

func iamErrorsAs(err error, target any) bool { return errors.As(err, target) }

// auditRecorder keeps the audit events the API records.
type auditRecorder struct {
	mu     sync.Mutex
	events []api.AuditEvent
}

func (a *auditRecorder) Record(_ context.Context, ev api.AuditEvent) {
	a.mu.Lock()
	a.events = append(a.events, ev)
	a.mu.Unlock()
}

func (a *auditRecorder) find(requestID string) (api.AuditEvent, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ev := range a.events {
		if ev.RequestID == requestID {
			return ev, true
		}
	}
	return api.AuditEvent{}, false
}
