package api_test

// Event source mapping routes, at the HTTP level: what the SDK cannot send
// (the CLI's trailing-slash paths, missing members, malformed bodies), the
// statuses Lambda answers with, IAM authorization on the mapping's ARN, and
// fuzzers for the request bodies. The mappings run on a real store with the
// queue service; no function runs here (package esm tests invocations).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/esm"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/sqs"
	"github.com/cloister/cloister/internal/store"
)

// esmHarness is a control plane with queues and event source mappings.
type esmHarness struct {
	handler  *api.Server
	ids      *iam.Service
	fns      *functions.Service
	queues   *sqs.Service
	mappings *esm.Service
	account  string
	root     iam.Key
	queueARN string
	fnName   string
}

func newESMHarness(t testing.TB) *esmHarness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &esmHarness{fnName: "esm-target"}
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog()
	if err != nil {
		t.Fatal(err)
	}
	if h.ids, err = iam.Open(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	acct, _, err := h.ids.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.account = acct.ID
	if h.root, _, err = h.ids.EnsureRootKey(ctx, acct.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	if h.fns, err = functions.Open(ctx, st, functions.Config{Region: testRegion, Runtimes: cat, Logger: errorLog}); err != nil {
		t.Fatal(err)
	}
	if err := h.fns.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if h.queues, err = sqs.Open(ctx, st, sqs.Config{Region: testRegion, ReceiptKey: bytes.Repeat([]byte{3}, 32), Logger: errorLog}); err != nil {
		t.Fatal(err)
	}
	if err := h.queues.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.mappings, err = esm.Open(ctx, st, esm.Config{
		Region: testRegion, Functions: h.fns, Queues: h.queues, Logger: errorLog, PollWait: time.Second, AuthorizeRole: h.ids.AuthorizeRole,
		Invoke: func(context.Context, esm.Invocation) (esm.Result, error) {
			return esm.Result{}, awserr.New(awserr.ServiceUnavailable, "no data plane in these tests")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.mappings.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.handler, err = api.New(api.Config{
		Region: testRegion, Keys: h.ids, Authorizer: h.ids, IAM: h.ids, Functions: h.fns, SQS: h.queues,
		EventSourceMappings: h.mappings, CodeURLKey: bytes.Repeat([]byte{7}, 32), Logger: errorLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.mappings.Close(context.Background())
		h.queues.Close()
		h.fns.Close()
		cancel()
		h.ids.Close()
		st.Close()
	})
	// The function is created as a client would create it.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := h.ids.CreateRole(ctx, h.account, iam.CreateRoleInput{Name: "lambda-role", Trust: trust}); err != nil {
		t.Fatal(err)
	}
	// The execution role may consume queues, as a mapping needs.
	consume := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"*"}]}`
	if err := h.ids.PutInlinePolicy(ctx, h.account, iam.KindRole, "lambda-role", "consume-queues", consume); err != nil {
		t.Fatal(err)
	}
	h.createFunction(t, h.fnName)
	q, err := h.queues.CreateQueue(ctx, h.account, "esm-queue", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.queueARN = q.ARN
	return h
}

// createFunction creates a function as a client would.
func (h *esmHarness) createFunction(t testing.TB, name string) {
	t.Helper()
	fn, _ := json.Marshal(map[string]any{
		"FunctionName": name, "Runtime": testRuntime, "Handler": "bootstrap",
		"Role": "arn:aws:iam::" + h.account + ":role/lambda-role", "Code": map[string]any{"ZipFile": codeZip(t, "esm")},
	})
	if rec := h.do(t, h.root, http.MethodPost, "/2015-03-31/functions", fn); rec.Code != http.StatusCreated {
		t.Fatalf("create function %s: %d %s", name, rec.Code, rec.Body.Bytes())
	}
}

// do signs a request with key and serves it.
func (h *esmHarness) do(t testing.TB, key iam.Key, method, path string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.Secret.Reveal()}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

// answer decodes a JSON answer.
func answer(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer %d %q: %v", rec.Code, rec.Body.Bytes(), err)
	}
	return m
}

func TestEventSourceMappingRoutes(t *testing.T) {
	h := newESMHarness(t)
	create := `{"EventSourceArn":"` + h.queueARN + `","FunctionName":"` + h.fnName + `","Enabled":false}`

	rec := h.do(t, h.root, http.MethodPost, "/2015-03-31/event-source-mappings/", []byte(create))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("create (CLI path): %d %s", rec.Code, rec.Body.Bytes())
	}
	m := answer(t, rec)
	uuid, _ := m["UUID"].(string)
	if m["State"] != "Disabled" || m["BatchSize"] != 10.0 || m["StateTransitionReason"] != "USER_INITIATED" {
		t.Errorf("create: %v", m)
	}
	if _, ok := m["LastModified"].(float64); !ok {
		t.Errorf("LastModified %v is not epoch seconds", m["LastModified"])
	}

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		errType, msg             string
	}{
		{"list (CLI path)", http.MethodGet, "/2015-03-31/event-source-mappings/", "", http.StatusOK, "", ""},
		{"list (SDK path)", http.MethodGet, "/2015-03-31/event-source-mappings?FunctionName=" + h.fnName, "", http.StatusOK, "", ""},
		{"get", http.MethodGet, "/2015-03-31/event-source-mappings/" + uuid, "", http.StatusOK, "", ""},
		{"update", http.MethodPut, "/2015-03-31/event-source-mappings/" + uuid, `{"BatchSize":5}`, http.StatusAccepted, "", ""},
		{"duplicate (SDK path)", http.MethodPost, "/2015-03-31/event-source-mappings", create, http.StatusConflict, "ResourceConflictException",
			`An event source mapping with SQS arn (" ` + h.queueARN + ` ") and function (" ` + h.fnName + ` ") already exists. Please update or delete the existing mapping with UUID ` + uuid},
		{"no function name", http.MethodPost, "/2015-03-31/event-source-mappings", `{"EventSourceArn":"` + h.queueARN + `"}`, http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null"},
		{"no event source", http.MethodPost, "/2015-03-31/event-source-mappings", `{"FunctionName":"f"}`, http.StatusBadRequest, "InvalidParameterValueException",
			"Unrecognized event source."},
		{"not JSON", http.MethodPost, "/2015-03-31/event-source-mappings", `{"FunctionName":`, http.StatusBadRequest, "InvalidRequestContentException", ""},
		{"wrong type", http.MethodPut, "/2015-03-31/event-source-mappings/" + uuid, `{"Enabled":"yes"}`, http.StatusBadRequest, "InvalidRequestContentException", ""},
		{"tags", http.MethodPost, "/2015-03-31/event-source-mappings", `{"EventSourceArn":"` + h.queueARN + `","FunctionName":"f","Tags":{"a":"b"}}`,
			http.StatusBadRequest, "InvalidParameterValueException", "Tags on event source mappings are not supported by this server."},
		{"unknown", http.MethodGet, "/2015-03-31/event-source-mappings/0123", "", http.StatusNotFound, "ResourceNotFoundException",
			"The resource you requested does not exist."},
		{"bad MaxItems", http.MethodGet, "/2015-03-31/event-source-mappings?MaxItems=0", "", http.StatusBadRequest, "ValidationException", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.do(t, h.root, tc.method, tc.path, []byte(tc.body))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.Bytes())
			}
			if tc.errType == "" {
				return
			}
			if got := rec.Header().Get("X-Amzn-ErrorType"); got != tc.errType {
				t.Errorf("error type %q, want %q", got, tc.errType)
			}
			a := answer(t, rec)
			msg, _ := a["message"].(string)
			if msg == "" {
				msg, _ = a["Message"].(string)
			}
			if tc.msg != "" && msg != tc.msg {
				t.Errorf("message %q, want %q", msg, tc.msg)
			}
		})
	}

	rec = h.do(t, h.root, http.MethodDelete, "/2015-03-31/event-source-mappings/"+uuid, nil)
	if rec.Code != http.StatusAccepted || answer(t, rec)["State"] != "Deleting" {
		t.Errorf("delete: %d %s", rec.Code, rec.Body.Bytes())
	}
}

// TestEventSourceMappingAuthorization checks the IAM actions and resources:
// a user allowed to read one mapping reads it and nothing else.
func TestEventSourceMappingAuthorization(t *testing.T) {
	h := newESMHarness(t)
	ctx := context.Background()
	rec := h.do(t, h.root, http.MethodPost, "/2015-03-31/event-source-mappings",
		[]byte(`{"EventSourceArn":"`+h.queueARN+`","FunctionName":"`+h.fnName+`","Enabled":false}`))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.Bytes())
	}
	uuid := answer(t, rec)["UUID"].(string)
	mappingARN := "arn:aws:lambda:" + testRegion + ":" + h.account + ":event-source-mapping:" + uuid
	if _, err := h.ids.CreateUser(ctx, h.account, iam.CreateUserInput{Name: "reader"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":"lambda:GetEventSourceMapping","Resource":"` + mappingARN + `"},` +
		`{"Effect":"Allow","Action":"lambda:ListEventSourceMappings","Resource":"*"}]}`
	if err := h.ids.PutInlinePolicy(ctx, h.account, iam.KindUser, "reader", "read-one", doc); err != nil {
		t.Fatal(err)
	}
	key, err := h.ids.CreateAccessKey(ctx, h.account, "reader")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		resource                 string
	}{
		{"get the mapping", http.MethodGet, "/2015-03-31/event-source-mappings/" + uuid, "", http.StatusOK, ""},
		{"list", http.MethodGet, "/2015-03-31/event-source-mappings", "", http.StatusOK, ""},
		{"get another", http.MethodGet, "/2015-03-31/event-source-mappings/01234567-89ab-4cde-8f01-23456789abcd", "", http.StatusForbidden,
			"event-source-mapping:01234567-89ab-4cde-8f01-23456789abcd"},
		{"update", http.MethodPut, "/2015-03-31/event-source-mappings/" + uuid, `{"Enabled":true}`, http.StatusForbidden, mappingARN},
		{"delete", http.MethodDelete, "/2015-03-31/event-source-mappings/" + uuid, "", http.StatusForbidden, mappingARN},
		{"create", http.MethodPost, "/2015-03-31/event-source-mappings", `{"EventSourceArn":"` + h.queueARN + `","FunctionName":"x"}`, http.StatusForbidden, "resource: *"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.do(t, key, tc.method, tc.path, []byte(tc.body))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.Bytes())
			}
			if tc.status == http.StatusForbidden {
				msg, _ := answer(t, rec)["Message"].(string)
				if !strings.Contains(msg, tc.resource) || !strings.Contains(msg, "user/reader") {
					t.Errorf("AccessDenied message %q does not name the user and %s", msg, tc.resource)
				}
			}
		})
	}
}

// TestEventSourceMappingFunctionArnCondition checks the condition key
// lambda:FunctionArn on the mapping routes: a user allowed to manage the
// mappings of one function creates, reads, updates and deletes those, and
// neither maps another function nor touches its mappings, nor moves a
// mapping of its function to another.
func TestEventSourceMappingFunctionArnCondition(t *testing.T) {
	h := newESMHarness(t)
	ctx := context.Background()
	h.createFunction(t, "esm-other")
	fnARN := func(name string) string {
		return "arn:aws:lambda:" + testRegion + ":" + h.account + ":function:" + name
	}
	rec := h.do(t, h.root, http.MethodPost, "/2015-03-31/event-source-mappings",
		[]byte(`{"EventSourceArn":"`+h.queueARN+`","FunctionName":"esm-other","Enabled":false}`))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("create the other function's mapping: %d %s", rec.Code, rec.Body.Bytes())
	}
	others := answer(t, rec)["UUID"].(string)

	if _, err := h.ids.CreateUser(ctx, h.account, iam.CreateUserInput{Name: "scoped"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:CreateEventSourceMapping",` +
		`"lambda:GetEventSourceMapping","lambda:UpdateEventSourceMapping","lambda:DeleteEventSourceMapping"],"Resource":"*",` +
		`"Condition":{"StringEquals":{"lambda:FunctionArn":"` + fnARN(h.fnName) + `"}}}]}`
	if err := h.ids.PutInlinePolicy(ctx, h.account, iam.KindUser, "scoped", "one-function", doc); err != nil {
		t.Fatal(err)
	}
	key, err := h.ids.CreateAccessKey(ctx, h.account, "scoped")
	if err != nil {
		t.Fatal(err)
	}
	create := func(fn string) *httptest.ResponseRecorder {
		return h.do(t, key, http.MethodPost, "/2015-03-31/event-source-mappings",
			[]byte(`{"EventSourceArn":"`+h.queueARN+`","FunctionName":"`+fn+`","Enabled":false}`))
	}
	rec = create(fnARN(h.fnName) + ":$LATEST")
	if rec.Code != http.StatusAccepted {
		t.Fatalf("create a mapping of the allowed function (qualified ARN): %d %s", rec.Code, rec.Body.Bytes())
	}
	mine := answer(t, rec)["UUID"].(string)
	path := func(uuid string) string { return "/2015-03-31/event-source-mappings/" + uuid }

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"create for another function", http.MethodPost, "/2015-03-31/event-source-mappings",
			`{"EventSourceArn":"` + h.queueARN + `","FunctionName":"esm-other","Enabled":false}`, http.StatusForbidden},
		{"create without a function", http.MethodPost, "/2015-03-31/event-source-mappings",
			`{"EventSourceArn":"` + h.queueARN + `"}`, http.StatusForbidden},
		{"get its mapping", http.MethodGet, path(mine), "", http.StatusOK},
		{"get another function's mapping", http.MethodGet, path(others), "", http.StatusForbidden},
		{"update its mapping", http.MethodPut, path(mine), `{"BatchSize":5}`, http.StatusAccepted},
		{"update its mapping naming its function", http.MethodPut, path(mine), `{"FunctionName":"` + h.fnName + `","BatchSize":6}`, http.StatusAccepted},
		{"move its mapping to another function", http.MethodPut, path(mine), `{"FunctionName":"esm-other"}`, http.StatusForbidden},
		{"update another function's mapping", http.MethodPut, path(others), `{"BatchSize":5}`, http.StatusForbidden},
		{"take over another function's mapping by naming its own function", http.MethodPut, path(others), `{"FunctionName":"` + h.fnName + `"}`, http.StatusForbidden},
		{"delete another function's mapping", http.MethodDelete, path(others), "", http.StatusForbidden},
		{"delete its mapping", http.MethodDelete, path(mine), "", http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.do(t, key, tc.method, tc.path, []byte(tc.body))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.Bytes())
			}
			if tc.status == http.StatusForbidden {
				msg, _ := answer(t, rec)["Message"].(string)
				if !strings.Contains(msg, "user/scoped") {
					t.Errorf("AccessDenied message %q does not name the user", msg)
				}
			}
		})
	}
}

// checkMappingAnswer fails unless rec is a success with a JSON body or a
// well-formed AWS client error.
func checkMappingAnswer(t *testing.T, rec *httptest.ResponseRecorder, body []byte) {
	t.Helper()
	if rec.Code >= 500 || (rec.Code >= 300 && rec.Code < 400) {
		t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body.Bytes())
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("body %q: answer %q is not JSON", body, rec.Body.Bytes())
	}
	if rec.Code >= 400 && rec.Header().Get("X-Amzn-ErrorType") == "" {
		t.Fatalf("body %q: error %d without X-Amzn-ErrorType", body, rec.Code)
	}
}

var mappingBodySeeds = []string{
	``, `{}`, `null`, `[]`, `{"a":`, `{"BatchSize":1e400}`, `{"BatchSize":-1}`, `{"Enabled":"x"}`,
	`{"FilterCriteria":{"Filters":[{"Pattern":"{\"body\":{\"a\":[{\"numeric\":[\">\",1]}]}}"}]}}`,
	`{"FilterCriteria":{"Filters":[{"Pattern":null},{}]}}`, `{"ScalingConfig":{"MaximumConcurrency":2}}`,
	`{"FunctionResponseTypes":["ReportBatchItemFailures","ReportBatchItemFailures"]}`,
	`{"MaximumBatchingWindowInSeconds":300,"BatchSize":10000}`, `{"DestinationConfig":{"OnFailure":{}}}`,
}

func FuzzCreateEventSourceMappingBody(f *testing.F) {
	h := newESMHarness(f)
	for _, s := range mappingBodySeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"EventSourceArn":"` + h.queueARN + `","FunctionName":"` + h.fnName + `","Enabled":false,"BatchSize":5}`))
	f.Add([]byte(`{"EventSourceArn":"arn:aws:sqs:us-east-1:123456789012:q.fifo","FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:f:1","StartingPosition":"LATEST"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := h.do(t, h.root, http.MethodPost, "/2015-03-31/event-source-mappings", body)
		checkMappingAnswer(t, rec, body)
		if rec.Code == http.StatusAccepted {
			// Keep the pair free for the next input.
			uuid, _ := answer(t, rec)["UUID"].(string)
			_ = h.do(t, h.root, http.MethodDelete, "/2015-03-31/event-source-mappings/"+uuid, nil)
			eventuallyGone(t, h, uuid)
		}
	})
}

func FuzzUpdateEventSourceMappingBody(f *testing.F) {
	h := newESMHarness(f)
	rec := h.do(f, h.root, http.MethodPost, "/2015-03-31/event-source-mappings",
		[]byte(`{"EventSourceArn":"`+h.queueARN+`","FunctionName":"`+h.fnName+`","Enabled":false}`))
	if rec.Code != http.StatusAccepted {
		f.Fatalf("create: %d %s", rec.Code, rec.Body.Bytes())
	}
	uuid := answer(f, rec)["UUID"].(string)
	for _, s := range mappingBodySeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"FunctionName":"` + h.fnName + `:$LATEST","Enabled":false}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkMappingAnswer(t, h.do(t, h.root, http.MethodPut, "/2015-03-31/event-source-mappings/"+uuid, body), body)
	})
}

// eventuallyGone waits until a deleted mapping is removed.
func eventuallyGone(t *testing.T, h *esmHarness, uuid string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.do(t, h.root, http.MethodGet, "/2015-03-31/event-source-mappings/"+uuid, nil).Code != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatalf("mapping %s was not removed", uuid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
