// Command fn is the Lambda function (aws-lambda-go, provided.al2023) the
// asynchronous invocation tests run: it fails, sleeps or echoes as its event
// asks, and answers anything else (a destination's invocation record) with
// {"ok":true}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Op  string `json:"op"`
	Arg string `json:"arg"`
	N   int    `json:"n"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var r request
	_ = json.Unmarshal(raw, &r)
	switch r.Op {
	case "fail":
		return nil, errors.New(r.Arg)
	case "sleep":
		time.Sleep(time.Duration(r.N) * time.Millisecond)
		return map[string]any{"slept": r.N}, nil
	case "echo":
		lc, _ := lambdacontext.FromContext(ctx)
		return map[string]any{"arg": r.Arg, "request": lc.AwsRequestID, "arn": lc.InvokedFunctionArn,
			"client": lc.ClientContext.Custom}, nil
	}
	return map[string]bool{"ok": true}, nil
}

func main() { lambda.Start(handle) }
