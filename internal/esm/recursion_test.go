package esm_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/async"
	"github.com/cloister/cloister/internal/esm"
)

// TestMaxDepthAgrees keeps the three places that stop recursive loops on
// one limit: direct invocations (api), asynchronous ones (async) and
// queues (esm).
func TestMaxDepthAgrees(t *testing.T) {
	for pkg, d := range map[string]int{"api": api.MaxDepth, "async": async.MaxDepth} {
		if d != esm.MaxDepth {
			t.Errorf("%s.MaxDepth is %d, esm.MaxDepth %d: they must agree", pkg, d, esm.MaxDepth)
		}
	}
}

// TestRecursiveLoopThroughQueue maps a queue to a function that sends each
// message it gets back to that queue, through Cloister's API from inside
// its sandbox: a loop. Each message is one hop deeper than the invocation
// that sent it; the chain runs from depth 0 (the test's message) to
// MaxDepth, and the message that would go deeper invokes nothing: it is
// left to the queue's redrive policy and ends in the dead-letter queue.
func TestRecursiveLoopThroughQueue(t *testing.T) {
	t.Parallel()
	h := getInvoking(t)
	ctx := context.Background()
	name := uniqueName(t)
	dlq := h.createQueue(t, h.sqs, name+"-dlq", nil)
	q := h.createQueue(t, h.sqs, name, map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":2}`, dlq.arn),
	})
	// The function's role may consume the queue and send to it.
	role := h.createRole(t, h.account, name, identityPolicy("Allow", []string{"sqs:*"}, q.arn))
	h.createFunctionAs(t, h.lambda, role, name, consumerZip)
	h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name), BatchSize: aws.Int32(1),
	}, "Enabled")

	const body = `{"forward":true}`
	h.send(t, q, body)
	var dead []sqstypes.Message
	eventually(t, 2*time.Minute, "the looping message to reach the dead-letter queue", func() bool {
		out, err := h.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(dlq.url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 300})
		if err != nil {
			t.Fatal(err)
		}
		dead = append(dead, out.Messages...)
		return len(dead) > 0
	})
	h.drained(t, h.sqs, q, 30*time.Second)
	if len(dead) != 1 || aws.ToString(dead[0].Body) != body {
		t.Errorf("the dead-letter queue got %d messages, want the looping one: %+v", len(dead), dead)
	}

	calls := h.rec.of(name)
	var depths []int
	for i, c := range calls {
		if c.Err != nil || c.FuncErr != "" {
			t.Errorf("invocation %d failed: %v %s %s", i, c.Err, c.FuncErr, c.Response)
		}
		depths = append(depths, c.Depth)
	}
	want := make([]int, esm.MaxDepth+1)
	for i := range want {
		want[i] = i
	}
	// Recorded as they end: an invocation may end after the one its
	// message caused.
	slices.Sort(depths)
	if !slices.Equal(depths, want) {
		t.Errorf("invocation depths %v, want one invocation per depth from 0 to %d", depths, esm.MaxDepth)
	}
}
