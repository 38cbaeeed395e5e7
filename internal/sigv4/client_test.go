package sigv4

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// seen is what a verifying server recorded about one request.
type seen struct {
	requestURI string
	err        error
}

// verifyingServer authenticates every request as the API layer will, with
// the real clock, and answers "{}" or AWS's error.
func verifyingServer(t testing.TB, secrets map[string]string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var log []seen
	v := NewVerifier()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			var a *Auth
			if a, err = Parse(r); err == nil {
				err = v.Verify(a, r, body, secrets[a.AccessKeyID], time.Now())
				if err == nil && (a.Region != testRegion || a.Service != testSvc) {
					err = &Error{Kind: ErrSignatureMismatch, Message: "wrong scope " + a.Region + "/" + a.Service}
				}
			}
		}
		mu.Lock()
		log = append(log, seen{requestURI: r.RequestURI, err: err})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.Header().Set("X-Amzn-Errortype", "InvalidSignatureException")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		io.WriteString(w, "{}")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), log...)
	}
}

// TestGoSDKLambdaClient drives the real aws-sdk-go-v2 Lambda client (with
// its own middleware, headers and serialisers) against a verifying server.
func TestGoSDKLambdaClient(t *testing.T) {
	srv, requests := verifyingServer(t, map[string]string{testAKID: testSecret})
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:my-fn"
	for _, token := range []string{"", "FwoGZXIvYXdzEJr//////////wEaDO+token=="} {
		client := lambda.New(lambda.Options{
			Region:           testRegion,
			BaseEndpoint:     aws.String(srv.URL),
			Credentials:      credentials.NewStaticCredentialsProvider(testAKID, testSecret, token),
			RetryMaxAttempts: 1,
		})
		ctx := context.Background()
		calls := []struct {
			name string
			call func() error
		}{
			{"Invoke", func() error {
				_, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Qualifier: aws.String("$LATEST"),
					Payload: []byte(`{"hello": "world"}`), LogType: "Tail", ClientContext: aws.String("eyJhIjoxfQ==")})
				return err
			}},
			{"UntagResource", func() error {
				_, err := client.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"b", "a", "a b", "é"}})
				return err
			}},
			{"ListFunctions", func() error {
				_, err := client.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: aws.String("a b+c/=&"), MaxItems: aws.Int32(5)})
				return err
			}},
			{"GetFunction", func() error {
				_, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn é")})
				return err
			}},
		}
		for _, c := range calls {
			t.Run(c.name+"/token="+token, func(t *testing.T) {
				if err := c.call(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	log := requests()
	if len(log) != 8 {
		t.Fatalf("server saw %d requests, want 8", len(log))
	}
	for _, s := range log {
		if s.err != nil {
			t.Errorf("%s: %v", s.requestURI, s.err)
		}
	}
	if !strings.Contains(log[0].requestURI, "arn%3Aaws%3Alambda") {
		t.Errorf("invoke went out as %q; the test means to cover an ARN encoded on the wire", log[0].requestURI)
	}
}
