package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The body fuzzers send arbitrary bytes, correctly signed, as the JSON body
// of an operation straight into the API handler. Whatever the bytes, the
// answer must be a success or a well-formed AWS client error: never a 5xx,
// never a panic, never a body a client cannot parse.

// fuzzTarget is the function the fuzzers' operations address.
const fuzzTarget = "fuzz-target"

func newFuzzHarness(f *testing.F) *harness {
	h := newHarness(f, harnessConfig{})
	h.createFunction(f, fuzzTarget)
	h.publish(f, fuzzTarget)
	return h
}

// serve signs body as the root user and serves it through the handler.
func (h *harness) serve(t testing.TB, method, path string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: h.key.AccessKeyID, SecretAccessKey: h.key.Secret.Reveal()}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

// checkAnswer fails unless rec is a success with a JSON (or empty) body or a
// well-formed AWS client error.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, body []byte) {
	t.Helper()
	res := rec.Result()
	if res.StatusCode >= 500 {
		t.Fatalf("body %q: status %d %s", body, res.StatusCode, rec.Body.Bytes())
	}
	if res.StatusCode < 300 {
		if rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body %q: success %d with a body that is not JSON: %q", body, res.StatusCode, rec.Body.Bytes())
		}
		return
	}
	if res.StatusCode < 400 {
		t.Fatalf("body %q: status %d", body, res.StatusCode)
	}
	if res.Header.Get("X-Amzn-ErrorType") == "" || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("body %q: error %d without X-Amzn-ErrorType or JSON content type: %v", body, res.StatusCode, res.Header)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: error body %q is not a JSON object: %v", body, rec.Body.Bytes(), err)
	}
	msg, _ := m["message"].(string)
	if msg == "" {
		msg, _ = m["Message"].(string)
	}
	if msg == "" {
		t.Fatalf("body %q: error body %q has no message", body, rec.Body.Bytes())
	}
}

// bodySeeds are starting points every body fuzzer shares.
var bodySeeds = []string{
	``, `{}`, `null`, `[]`, `"x"`, `{"a":`, `{"FunctionName":1}`, `{"Timeout":1e400}`, `{"Timeout":-0.5}`,
	`{"Environment":{"Variables":{"A\u0000B":"x"}}}`, `{"Tags":{"":""}}`, "{\"Description\":\"\xff\xfe\"}",
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
}

func fuzzBody(f *testing.F, method, path string, seeds ...string) {
	h := newFuzzHarness(f)
	for _, s := range append(bodySeeds, seeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAnswer(t, h.serve(t, method, path, body), body)
	})
}

func FuzzCreateFunctionBody(f *testing.F) {
	zip := codeZip(f, "fuzz")
	code, _ := json.Marshal(zip)
	fuzzBody(f, http.MethodPost, "/2015-03-31/functions",
		`{"FunctionName":"f1","Runtime":"provided.al2023","Role":"`+testRole+`","Handler":"bootstrap","Code":{"ZipFile":`+string(code)+`}}`,
		`{"FunctionName":"f2","Runtime":"python3.99","Role":"r","Handler":" ","Code":{"ZipFile":"UEsDBA=="},"MemorySize":127,"Timeout":0}`,
		`{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:x:1","Code":{"S3Bucket":"b"},"Architectures":["arm64","x86_64"]}`,
		`{"FunctionName":"f3","Layers":["a","b","c","d","e","f"],"Environment":{"Variables":{"AWS_REGION":"x","1":"y"}},"Tags":{"aws:x":"y"}}`,
		`{"FunctionName":"f4","Runtime":"provided.al2023","Role":"`+testRole+`","Handler":"h","Code":{"ZipFile":"not base64!"},"LoggingConfig":{"LogFormat":"JSON","ApplicationLogLevel":"LOUD"}}`,
	)
}

func FuzzUpdateFunctionConfigurationBody(f *testing.F) {
	fuzzBody(f, http.MethodPut, "/2015-03-31/functions/"+fuzzTarget+"/configuration",
		`{"Timeout":30,"MemorySize":256,"Description":"d"}`,
		`{"Environment":{"Variables":{"KEY":"value"}},"RevisionId":"stale"}`,
		`{"Runtime":"go1.x","Handler":"x y","EphemeralStorage":{"Size":100}}`,
		`{"DeadLetterConfig":{"TargetArn":"arn:aws:sns:us-east-1:123456789012:t"},"TracingConfig":{"Mode":"Active"},"VpcConfig":{"SubnetIds":["s"]}}`,
		`{"SnapStart":{"ApplyOn":"PublishedVersions"},"KMSKeyArn":"arn:aws:kms:us-east-1:123456789012:key/x","FileSystemConfigs":[{},{}]}`,
	)
}

func FuzzCreateAliasBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/2015-03-31/functions/"+fuzzTarget+"/aliases",
		`{"Name":"live","FunctionVersion":"1"}`,
		`{"Name":"canary","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"1":0.5}}}`,
		`{"Name":"x","FunctionVersion":"$LATEST","RoutingConfig":{"AdditionalVersionWeights":{"1":0.5,"2":1e308}}}`,
		`{"Name":"123","FunctionVersion":"99999999999999999999"}`,
	)
}

func FuzzAddPermissionBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/2015-03-31/functions/"+fuzzTarget+"/policy",
		`{"StatementId":"s1","Action":"lambda:InvokeFunction","Principal":"s3.amazonaws.com","SourceArn":"arn:aws:s3:::b","SourceAccount":"123456789012"}`,
		`{"StatementId":"s2","Action":"lambda:*","Principal":"*","PrincipalOrgID":"o-abcdefghij","FunctionUrlAuthType":"NONE"}`,
		`{"StatementId":"s3","Action":"lambda:GetFunction","Principal":"arn:aws:iam::123456789012:role/x","EventSourceToken":"t","RevisionId":"r"}`,
		`{"StatementId":"bad sid","Action":"s3:*","Principal":"nobody"}`,
	)
}
