package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestSQSCLI drives the queue service with the AWS CLI v2 (whose SQS model
// is the Query protocol, answered in XML) and, when one is installed, the
// v1 CLI (AWS JSON 1.0), then restarts the server and finds the queue's
// messages and in-flight state intact.
func TestSQSCLI(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	srv := startServer(t, serverOpts{})
	cli := newCLI(t, srv)

	var created struct{ QueueUrl string }
	cli.ok(t, &created, "sqs", "create-queue", "--queue-name", "e2e-cli", "--attributes", "VisibilityTimeout=60")
	if want := srv.endpoint + "/" + srv.account + "/e2e-cli"; created.QueueUrl != want {
		t.Fatalf("create-queue: QueueUrl %q, want %q", created.QueueUrl, want)
	}
	q := created.QueueUrl

	var sent struct{ MessageId, MD5OfMessageBody, MD5OfMessageAttributes string }
	t.Run("concurrently", func(t *testing.T) {
		t.Run("send", func(t *testing.T) {
			t.Parallel()
			cli.ok(t, &sent, "sqs", "send-message", "--queue-url", q, "--message-body", "hello from the CLI",
				"--message-attributes", `{"Quote":{"DataType":"String","StringValue":"e5ue5u"},"Author":{"DataType":"String","StringValue":"e5ye5y"}}`)
		})
		t.Run("missing queue", func(t *testing.T) {
			t.Parallel()
			wantSQSFailure(t, cli, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.",
				"sqs", "get-queue-url", "--queue-name", "no-such-queue")
		})
		t.Run("v1", func(t *testing.T) {
			t.Parallel()
			path := findCLIv1(t)
			if path == "" {
				t.Skip("skipping: no AWS CLI v1 installed")
			}
			v1 := newCLIAt(t, path, 1, srv.endpoint,
				"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(srv.dataDir, "credentials"), "AWS_DEFAULT_REGION="+region)
			var out struct{ MessageId string }
			v1.ok(t, &out, "sqs", "send-message", "--queue-url", q, "--message-body", "hello from the v1 CLI")
			if out.MessageId == "" {
				t.Error("v1 send-message returned no MessageId")
			}
		})
	})
	// The digests are those AWS computes for this body and these attributes.
	if sent.MD5OfMessageBody != "59da6b08ceb7b6dcb24f80ac24fb822e" || sent.MD5OfMessageAttributes != "4513b5d732f6a001659c757ee03a959f" {
		t.Errorf("send-message: %+v", sent)
	}

	var got struct {
		Messages []struct {
			MessageId, ReceiptHandle, Body string
			Attributes                     map[string]string
			MessageAttributes              map[string]struct{ StringValue, DataType string }
		}
	}
	cli.ok(t, &got, "sqs", "receive-message", "--queue-url", q, "--max-number-of-messages", "10", "--wait-time-seconds", "2",
		"--attribute-names", "All", "--message-attribute-names", "All")
	var handle string
	for _, m := range got.Messages {
		if m.MessageId == sent.MessageId {
			handle = m.ReceiptHandle
			if m.Body != "hello from the CLI" || m.MessageAttributes["Quote"].StringValue != "e5ue5u" || m.Attributes["ApproximateReceiveCount"] != "1" {
				t.Errorf("receive-message: %+v", m)
			}
		}
	}
	if handle == "" {
		t.Fatalf("receive-message did not return the message sent: %+v", got)
	}
	cli.ok(t, nil, "sqs", "delete-message", "--queue-url", q, "--receipt-handle", handle)
	cli.failWith(t, "ReceiptHandleIsInvalid", `The input receipt handle "forged" is not a valid receipt handle.`,
		"sqs", "delete-message", "--queue-url", q, "--receipt-handle", "forged")

	// Across a restart of the server: a message in flight stays in flight
	// (and its receipt handle works), a waiting one waits, and receive
	// counts carry on.
	sdk := sqsClient(t, srv)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rq, err := sdk.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("e2e-restart"),
		Attributes: map[string]string{"VisibilityTimeout": "3600"}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(c *awssqs.Client, body string) {
		if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: rq.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	receive := func(c *awssqs.Client) []types.Message {
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: rq.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Messages
	}
	send(sdk, "in flight")
	first := receive(sdk)
	if len(first) != 1 {
		t.Fatalf("received %d messages, want 1", len(first))
	}
	send(sdk, "waiting")
	srv.stop()
	again := startServer(t, serverOpts{dataDir: srv.dataDir})
	sdk = sqsClient(t, again)
	after := receive(sdk)
	if len(after) != 1 || aws.ToString(after[0].Body) != "waiting" || after[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("after the restart received %+v, want only the waiting message", after)
	}
	if _, err := sdk.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
		QueueUrl: rq.QueueUrl, ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0,
	}); err != nil {
		t.Fatalf("ChangeMessageVisibility with a handle from before the restart: %v", err)
	}
	back := receive(sdk)
	if len(back) != 1 || aws.ToString(back[0].Body) != "in flight" || back[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Errorf("the message in flight across the restart came back as %+v", back)
	}
}

// wantSQSFailure runs a CLI command that must fail with an SQS error of the
// given code (SQS's legacy codes contain dots) and message.
func wantSQSFailure(t *testing.T, cli *awsCLI, code, msg string, args ...string) {
	t.Helper()
	res := cli.run(t, args...)
	want := "An error occurred (" + code + ") when calling the "
	if res.code == 0 || !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, ": "+msg) {
		t.Errorf("aws %s: exit %d, stderr:\n%s\nwant the error %s: %s", strings.Join(args, " "), res.code, res.stderr, code, msg)
	}
}

// sqsClient is an SDK SQS client for srv with its root credentials, retries
// off.
func sqsClient(t *testing.T, srv *server) *awssqs.Client {
	t.Helper()
	creds := loadProfile(t, filepath.Join(srv.dataDir, "credentials"), "default")
	return awssqs.New(awssqs.Options{
		Region:           region,
		BaseEndpoint:     aws.String(srv.endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		RetryMaxAttempts: 1,
	})
}
