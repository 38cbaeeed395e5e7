package sigv4

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// captureInvoke returns the request the aws-sdk-go-v2 Lambda client sends
// for an Invoke by ARN, as Go's server received it.
func captureInvoke(b *testing.B) received {
	b.Helper()
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case got <- received{r: r.Clone(context.Background()), body: body}:
		default:
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	client := lambda.New(lambda.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(testAKID, testSecret, ""),
	})
	_, err := client.Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String(testARN),
		Payload:      []byte(`{"orderId":"12345","items":[{"sku":"A-1","qty":2}],"total":42.5}`),
	})
	if err != nil {
		b.Fatalf("invoke: %v", err)
	}
	return <-got
}

// BenchmarkVerify: a typical Go-SDK invoke request, key cache warm.
func BenchmarkVerify(b *testing.B) {
	req := captureInvoke(b)
	a, err := Parse(req.r)
	if err != nil {
		b.Fatal(err)
	}
	v := NewVerifier()
	now := time.Now()
	if err := v.Verify(a, req.r, req.body, testSecret, now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(a, req.r, req.body, testSecret, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse: the same request's Authorization header.
func BenchmarkParse(b *testing.B) {
	req := captureInvoke(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(req.r); err != nil {
			b.Fatal(err)
		}
	}
}
