package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
)

const listPath = "/2015-03-31/functions/"

func TestSignatureFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	id, secret := h.key.AccessKeyID, h.key.Secret.Reveal()
	now := time.Now()
	mismatch := "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details...."
	cases := []struct {
		what string
		s    *signer
		want apiErr
	}{
		{"no authentication", nil, apiErr{403, "MissingAuthenticationTokenException", "Missing Authentication Token"}},
		{"wrong secret", &signer{id, secret + "x", testRegion, now}, apiErr{403, "InvalidSignatureException", mismatch}},
		{"unknown key", &signer{"AKIAUNKNOWNUNKNOWN00", secret, testRegion, now}, apiErr{403, "UnrecognizedClientException", "The security token included in the request is invalid."}},
		{"expired date", &signer{id, secret, testRegion, now.Add(-20 * time.Minute)}, apiErr{403, "InvalidSignatureException", "Signature expired: ..."}},
		{"future date", &signer{id, secret, testRegion, now.Add(20 * time.Minute)}, apiErr{403, "InvalidSignatureException", "Signature not yet current: ..."}},
		{"wrong region", &signer{id, secret, "eu-west-1", now}, apiErr{403, "InvalidSignatureException", "Credential should be scoped to a valid region. "}},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			wantRawErr(t, h.do(t, c.s, http.MethodGet, listPath, nil), c.want)
		})
	}

	t.Run("wrong service", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+listPath, nil)
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req,
			hex.EncodeToString(sum[:]), "s3", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		wantRawErr(t, send(t, h, req), apiErr{403, "InvalidSignatureException", "Credential should be scoped to correct service: 'lambda'. "})
	})

	t.Run("body changed after signing", func(t *testing.T) {
		t.Parallel()
		body := []byte(`{"FunctionName":"x"}`)
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/2015-03-31/functions", bytes.NewReader(body))
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req,
			hex.EncodeToString(sum[:]), "lambda", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		changed := []byte(`{"FunctionName":"y"}`)
		req.Body, req.ContentLength = nopCloser{bytes.NewReader(changed)}, int64(len(changed))
		wantRawErr(t, send(t, h, req), apiErr{403, "InvalidSignatureException", "..."})
	})

	t.Run("SDK with a wrong secret", func(t *testing.T) {
		t.Parallel()
		_, err := h.clientFor(id, "wrong-secret-wrong-secret-wrong-secret00").ListFunctions(context.Background(), &lambda.ListFunctionsInput{})
		wantErr(t, err, apiErr{403, "InvalidSignatureException", mismatch})
	})

	t.Run("signed correctly", func(t *testing.T) {
		t.Parallel()
		r := h.do(t, h.rootSigner(), http.MethodGet, listPath, nil)
		if r.status != http.StatusOK {
			t.Fatalf("correctly signed request: %d %s", r.status, r.body)
		}
	})
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// send sends a prepared request and reads the response.
func send(t testing.TB, h *harness, req *http.Request) rawResponse {
	t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	name := fnName("malformed")
	h.createFunction(t, name)
	parse := "Could not parse request body into json: ..."
	cases := []struct {
		what, method, path, body string
		want                     apiErr
	}{
		{"truncated JSON", http.MethodPost, "/2015-03-31/functions", `{"FunctionName": `, apiErr{400, "InvalidRequestContentException", parse}},
		{"not JSON", http.MethodPut, "/2015-03-31/functions/" + name + "/configuration", `Timeout=5`, apiErr{400, "InvalidRequestContentException", parse}},
		{"wrong member type", http.MethodPut, "/2015-03-31/functions/" + name + "/configuration", `{"Timeout":"five"}`,
			apiErr{400, "InvalidRequestContentException", "Could not parse request body into json: Unexpected value type for member 'Timeout': string"}},
		{"array body", http.MethodPost, "/2015-03-31/functions/" + name + "/aliases", `[1,2]`, apiErr{400, "InvalidRequestContentException", parse}},
		{"trailing data", http.MethodPost, "/2015-03-31/functions/" + name + "/policy", `{"StatementId":"a"} {}`,
			apiErr{400, "InvalidRequestContentException", "Could not parse request body into json: trailing data after the JSON value"}},
		{"deep nesting", http.MethodPost, "/2015-03-31/functions", strings.Repeat("[", 40) + strings.Repeat("]", 40),
			apiErr{400, "InvalidRequestContentException", "Could not parse request body into json: nesting deeper than 32 levels"}},
		{"zip not base64", http.MethodPost, "/2015-03-31/functions", `{"FunctionName":"x","Role":"` + testRole + `","Code":{"ZipFile":"%%%"}}`,
			apiErr{400, "InvalidRequestContentException", parse}},
		{"MaxItems not a number", http.MethodGet, listPath + "?MaxItems=ten", "",
			apiErr{400, "InvalidRequestContentException", "Could not parse request: MaxItems 'ten' is not an integer"}},
		{"unknown operation", http.MethodGet, "/2015-03-31/nothing-here", "", apiErr{404, "UnknownOperationException", "Unknown operation GET /2015-03-31/nothing-here"}},
		{"unknown method", http.MethodPatch, "/2015-03-31/functions/" + name, "", apiErr{404, "UnknownOperationException", "Unknown operation PATCH /2015-03-31/functions/" + name}},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			wantRawErr(t, h.do(t, h.rootSigner(), c.method, c.path, []byte(c.body)), c.want)
		})
	}
}

// TestErrorShape checks the error body as the Lambda model shapes it: the
// message member's spelling and "Type" differ by error type.
func TestErrorShape(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	cases := []struct {
		what string
		r    rawResponse
		want map[string]any
	}{
		{"ResourceNotFound", h.do(t, h.rootSigner(), http.MethodGet, "/2015-03-31/functions/absent", nil),
			map[string]any{"Type": "User", "Message": "Function not found: " + h.arn("absent")}},
		{"MissingAuthenticationToken", h.do(t, nil, http.MethodGet, listPath, nil),
			map[string]any{"message": "Missing Authentication Token"}},
		{"Validation", h.do(t, h.rootSigner(), http.MethodGet, listPath+"?MaxItems=0", nil),
			map[string]any{"message": "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"}},
		{"InvalidRequestContent", h.do(t, h.rootSigner(), http.MethodPost, "/2015-03-31/functions", []byte(`{"Timeout":"x"}`)),
			map[string]any{"Type": "User", "message": "Could not parse request body into json: Unexpected value type for member 'Timeout': string"}},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			if ct := c.r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if diff := cmp.Diff(c.want, c.r.json(t)); diff != "" {
				t.Errorf("body (-want +got)\n%s", diff)
			}
		})
	}
	t.Run("InvalidParameterValue", func(t *testing.T) {
		name := fnName("shape")
		h.createFunction(t, name)
		r := h.do(t, h.rootSigner(), http.MethodDelete, "/2015-03-31/functions/"+name+"?Qualifier=%24LATEST", nil)
		if diff := cmp.Diff(map[string]any{"Type": "User", "message": "$LATEST version cannot be deleted without deleting the function."}, r.json(t)); diff != "" {
			t.Errorf("body (-want +got)\n%s", diff)
		}
	})
}
