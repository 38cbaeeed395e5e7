package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// esmConfig is the part of EventSourceMappingConfiguration the CLI test
// reads.
type esmConfig struct {
	UUID, EventSourceArn, FunctionArn, State, StateTransitionReason, LastProcessingResult string
	BatchSize                                                                             int
	FunctionResponseTypes                                                                 []string
	FilterCriteria                                                                        *struct{ Filters []struct{ Pattern string } }
}

// TestEventSourceMappingCLI maps a queue to a Python function with the AWS
// CLI v2 and watches it work: the mapping is refused until the execution
// role may consume the queue (granted with put-role-policy), the function
// reports a partial batch
// failure, the failing message is redriven to the dead-letter queue, a
// message the filter excludes is deleted without reaching the function,
// and the mapping is listed, disabled and deleted. Queues and the function
// are set up with the SDK (CLI calls are slow); the mapping is driven by
// the CLI.
func TestEventSourceMappingCLI(t *testing.T) {
	t.Parallel()
	requireSandboxes(t)
	srv := startServer(t, serverOpts{})
	cli := newCLI(t, srv)
	fns, queues := newSDK(t, srv, 1), sqsClient(t, srv)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	// A function that fails the messages whose body is "bad" or "skip".
	dir := t.TempDir()
	app := "def handler(event, context):\n" +
		"    failed = [r['messageId'] for r in event['Records'] if r['body'] in ('bad', 'skip')]\n" +
		"    return {'batchItemFailures': [{'itemIdentifier': i} for i in failed]}\n"
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	zip := exec.Command(zipPath, "-q", "function.zip", "app.py")
	zip.Dir = dir
	if out, err := zip.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, out)
	}
	code, err := os.ReadFile(filepath.Join(dir, "function.zip"))
	if err != nil {
		t.Fatal(err)
	}
	const name = "consumer"
	if _, err := fns.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: lambdatypes.RuntimePython311, Handler: aws.String("app.handler"),
		Role: aws.String(roleARN(srv.account)), Code: &lambdatypes.FunctionCode{ZipFile: code},
	}); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, fns, name)

	queue := func(name string, attrs map[string]string) (url, arn string) {
		out, err := queues.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		a, err := queues.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.QueueUrl), a.Attributes["QueueArn"]
	}
	dlqURL, dlqARN := queue("jobs-dlq", nil)
	qURL, qARN := queue("jobs", map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":2}`, dlqARN),
	})
	var entries []sqstypes.SendMessageBatchRequestEntry
	for i, body := range []string{"good-1", "good-2", "bad", "skip", "good-3"} {
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(body)})
	}
	if _, err := queues.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(qURL), Entries: entries}); err != nil {
		t.Fatal(err)
	}

	// Lambda polls as the function's execution role: until the role may
	// consume the queue, the mapping is refused.
	cli.failWith(t, "InvalidParameterValueException", "The function execution role does not have permissions to call ReceiveMessage on SQS",
		"lambda", "create-event-source-mapping", "--function-name", name, "--event-source-arn", qARN)
	consume := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"` + qARN + `"}]}`
	cli.ok(t, nil, "iam", "put-role-policy", "--role-name", "lambda-role", "--policy-name", "consume-jobs", "--policy-document", consume)

	filter := `{"Filters":[{"Pattern":"{\"body\":[{\"anything-but\":\"skip\"}]}"}]}`
	var created esmConfig
	cli.ok(t, &created, "lambda", "create-event-source-mapping", "--function-name", name, "--event-source-arn", qARN,
		"--batch-size", "10", "--function-response-types", "ReportBatchItemFailures", "--filter-criteria", filter)
	if created.UUID == "" || created.State != "Creating" || created.BatchSize != 10 || created.EventSourceArn != qARN ||
		created.FunctionArn != fnARN(srv, name) || len(created.FunctionResponseTypes) != 1 || created.FilterCriteria == nil {
		t.Errorf("create-event-source-mapping: %+v", created)
	}

	// The queue drains: the good messages are deleted after success, "skip"
	// without an invocation, and "bad" moves to the dead-letter queue.
	for {
		a, err := queues.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(qURL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatalf("the queue did not drain: %v", err)
		}
		if a.Attributes["ApproximateNumberOfMessages"] == "0" && a.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	dead, err := queues.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead.Messages) != 1 || aws.ToString(dead.Messages[0].Body) != "bad" {
		t.Errorf("the dead-letter queue holds %d messages, want just \"bad\": %+v", len(dead.Messages), dead.Messages)
	}

	var got esmConfig
	cli.ok(t, &got, "lambda", "get-event-source-mapping", "--uuid", created.UUID)
	if got.State != "Enabled" || got.LastProcessingResult != "OK" || got.StateTransitionReason != "USER_INITIATED" {
		t.Errorf("get-event-source-mapping: %+v", got)
	}
	var listed struct{ EventSourceMappings []esmConfig }
	cli.ok(t, &listed, "lambda", "list-event-source-mappings", "--function-name", name)
	if len(listed.EventSourceMappings) != 1 || listed.EventSourceMappings[0].UUID != created.UUID {
		t.Errorf("list-event-source-mappings: %+v", listed.EventSourceMappings)
	}
	cli.failWith(t, "ResourceConflictException",
		`An event source mapping with SQS arn (" `+qARN+` ") and function (" `+name+` ") already exists. Please update or delete the existing mapping with UUID `+created.UUID,
		"lambda", "create-event-source-mapping", "--function-name", name, "--event-source-arn", qARN)
	var updated esmConfig
	cli.ok(t, &updated, "lambda", "update-event-source-mapping", "--uuid", created.UUID, "--no-enabled", "--batch-size", "5")
	if updated.State != "Disabling" || updated.BatchSize != 5 {
		t.Errorf("update-event-source-mapping --no-enabled: %+v", updated)
	}
	var deleted esmConfig
	cli.ok(t, &deleted, "lambda", "delete-event-source-mapping", "--uuid", created.UUID)
	if deleted.State != "Deleting" {
		t.Errorf("delete-event-source-mapping: State %q, want Deleting", deleted.State)
	}
	for {
		_, err := fns.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(created.UUID)})
		var nf *lambdatypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the deleted mapping is still there: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
