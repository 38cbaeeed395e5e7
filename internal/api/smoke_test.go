package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func TestSmoke(t *testing.T) {
	t0 := time.Now()
	h := newHarness(t, harnessConfig{})
	t.Logf("start %v", time.Since(t0))
	t0 = time.Now()
	out := h.createFunction(t, fnName("smoke"))
	t.Logf("create %v %+v", time.Since(t0), out.State)
	g, err := h.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: out.FunctionName})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s %s", g.Configuration.State, g.Configuration.LastUpdateStatus, aws.ToString(g.Code.Location))
	t0 = time.Now()
	h.restart(t)
	t.Logf("restart %v", time.Since(t0))
}
