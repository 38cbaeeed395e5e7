package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
)

// asyncApp is the Python function the asynchronous invocation tests run:
// it fails when its event says so, sleeps when asked, and answers with the
// event's id.
const asyncApp = `import time

def handler(event, context):
    if not isinstance(event, dict):
        return {"ok": True}
    if event.get("op") == "fail":
        raise Exception(event.get("arg", "failed"))
    if event.get("op") == "sleep":
        time.sleep(event.get("n", 0) / 1000.0)
    return {"ok": True, "id": event.get("id")}
`

// requireSandboxes skips a test that runs functions where sandboxes or the
// Python runtime cannot run (CI has both and runs as root), and fails it on
// CI without Python. It checks for the AWS CLI too.
func requireSandboxes(t *testing.T) {
	t.Helper()
	requireCLI(t)
	if os.Geteuid() != 0 {
		t.Skip("skipping: invoking runs sandboxes, which need root (CI runs as root)")
	}
	if _, err := os.Stat("/usr/bin/python3.11"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but /usr/bin/python3.11 is missing")
		}
		t.Skip("skipping: /usr/bin/python3.11 is not installed")
	}
}

// createAsyncApp creates the Python function name on srv with the SDK and
// waits until it is Active.
func createAsyncApp(t *testing.T, c *lambda.Client, srv *server, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(asyncApp), 0o644); err != nil {
		t.Fatal(err)
	}
	zipCmd := exec.Command(zipPath, "-q", "function.zip", "app.py")
	zipCmd.Dir = dir
	if out, err := zipCmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, out)
	}
	zip, err := os.ReadFile(filepath.Join(dir, "function.zip"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateFunction(t.Context(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: types.RuntimePython311, Handler: aws.String("app.handler"),
		Role: aws.String(roleARN(srv.account)), Code: &types.FunctionCode{ZipFile: zip},
	})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	waitSettled(t, c, name)
	// Lambda delivers outcomes as the execution role, which must be allowed to.
	srv.putRolePolicy(t, "deliver-outcomes",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","lambda:InvokeFunction"],"Resource":"*"}]}`)
	return aws.ToString(out.FunctionArn)
}

// createQueue creates a standard queue with the SDK and returns its URL and
// ARN.
func createQueue(t *testing.T, c *awssqs.Client, srv *server, name string) (string, string) {
	t.Helper()
	out, err := c.CreateQueue(t.Context(), &awssqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl), "arn:aws:sqs:" + region + ":" + srv.account + ":" + name
}

// invocationRecord is Lambda's record of an asynchronous invocation.
type invocationRecord struct {
	Version        string
	Timestamp      string
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

// TestAsyncCLI drives asynchronous invocations with the AWS CLI: an Event
// invoke that succeeds lands in the OnSuccess queue; one that fails lands,
// with its error, in the OnFailure queue and the dead-letter queue; the
// legacy invoke-async is queued too.
func TestAsyncCLI(t *testing.T) {
	t.Parallel()
	requireSandboxes(t)
	srv := startServer(t, serverOpts{})
	cli := newCLI(t, srv)
	sdk := newSDK(t, srv, 3)
	queues := sqsClient(t, srv)
	arn := createAsyncApp(t, sdk, srv, "async-cli")
	okURL, okARN := createQueue(t, queues, srv, "async-ok")
	failURL, failARN := createQueue(t, queues, srv, "async-failed")
	dlqURL, dlqARN := createQueue(t, queues, srv, "async-dlq")
	if _, err := sdk.UpdateFunctionConfiguration(t.Context(), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("async-cli"), DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String(dlqARN)}}); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, sdk, "async-cli")

	// No retries: Lambda waits a minute before the first, and the package
	// tests count retries with short delays.
	cli.ok(t, nil, "lambda", "put-function-event-invoke-config", "--function-name", "async-cli", "--maximum-retry-attempts", "0",
		"--destination-config", `{"OnSuccess":{"Destination":"`+okARN+`"},"OnFailure":{"Destination":"`+failARN+`"}}`)
	out := filepath.Join(t.TempDir(), "out.json")
	var inv struct{ StatusCode int }
	cli.ok(t, &inv, "lambda", "invoke", "--function-name", "async-cli", "--invocation-type", "Event",
		"--cli-binary-format", "raw-in-base64-out", "--payload", `{"id":"cli-ok"}`, out)
	if inv.StatusCode != 202 {
		t.Errorf("invoke --invocation-type Event: StatusCode %d, want 202", inv.StatusCode)
	}
	cli.ok(t, &inv, "lambda", "invoke", "--function-name", "async-cli", "--invocation-type", "Event",
		"--cli-binary-format", "raw-in-base64-out", "--payload", `{"id":"cli-fail","op":"fail","arg":"kaput"}`, out)
	if inv.StatusCode != 202 {
		t.Errorf("invoke --invocation-type Event: StatusCode %d, want 202", inv.StatusCode)
	}
	args := filepath.Join(t.TempDir(), "args.json")
	if err := os.WriteFile(args, []byte(`{"id":"cli-legacy"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var legacy struct{ Status int }
	cli.ok(t, &legacy, "lambda", "invoke-async", "--function-name", "async-cli", "--invoke-args", args)
	if legacy.Status != 202 {
		t.Errorf("invoke-async: Status %d, want 202", legacy.Status)
	}

	type message struct {
		Body              string
		MessageAttributes map[string]struct{ StringValue, DataType string }
	}
	receive := func(url string, n int) []message {
		t.Helper()
		var got []message
		deadline := time.Now().Add(2 * time.Minute)
		for len(got) < n && time.Now().Before(deadline) {
			var r struct{ Messages []message }
			cli.ok(t, &r, "sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "10",
				"--max-number-of-messages", "10", "--message-attribute-names", "All")
			got = append(got, r.Messages...)
		}
		if len(got) != n {
			t.Fatalf("%s: received %d messages, want %d", url, len(got), n)
		}
		return got
	}

	ids := map[string]bool{}
	for _, m := range receive(okURL, 2) {
		var r invocationRecord
		if err := json.Unmarshal([]byte(m.Body), &r); err != nil {
			t.Fatalf("OnSuccess message %q: %v", m.Body, err)
		}
		var p struct{ ID string }
		_ = json.Unmarshal(r.RequestPayload, &p)
		ids[p.ID] = true
		if r.Version != "1.0" || r.RequestContext.Condition != "Success" || r.RequestContext.FunctionArn != arn+":$LATEST" ||
			r.RequestContext.ApproximateInvokeCount != 1 || r.ResponseContext.StatusCode != 200 || r.ResponseContext.FunctionError != "" {
			t.Errorf("OnSuccess record: %s", m.Body)
		}
		var resp struct {
			OK bool
			ID string
		}
		if json.Unmarshal(r.ResponsePayload, &resp) != nil || !resp.OK || resp.ID != p.ID {
			t.Errorf("OnSuccess responsePayload %s, want the function's answer for %s", r.ResponsePayload, p.ID)
		}
	}
	if !ids["cli-ok"] || !ids["cli-legacy"] {
		t.Errorf("OnSuccess got events %v, want cli-ok and cli-legacy", ids)
	}

	failed := receive(failURL, 1)[0]
	var r invocationRecord
	if err := json.Unmarshal([]byte(failed.Body), &r); err != nil {
		t.Fatalf("OnFailure message %q: %v", failed.Body, err)
	}
	var fe struct{ ErrorMessage, ErrorType string }
	_ = json.Unmarshal(r.ResponsePayload, &fe)
	if r.RequestContext.Condition != "RetriesExhausted" || r.RequestContext.ApproximateInvokeCount != 1 ||
		r.ResponseContext.FunctionError != "Unhandled" || fe.ErrorMessage != "kaput" || fe.ErrorType != "Exception" {
		t.Errorf("OnFailure record: %s", failed.Body)
	}

	dead := receive(dlqURL, 1)[0]
	if dead.Body != `{"id":"cli-fail","op":"fail","arg":"kaput"}` || dead.MessageAttributes["RequestID"].StringValue != r.RequestContext.RequestID ||
		dead.MessageAttributes["ErrorCode"].StringValue != "200" || dead.MessageAttributes["ErrorCode"].DataType != "Number" ||
		dead.MessageAttributes["ErrorMessage"].StringValue != "kaput" {
		t.Errorf("dead-letter message %+v", dead)
	}
}
