package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestSQSBatches(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	url := h.createQueue(t, sqsName("batch"), nil)

	sent, err := h.client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")},
		{Id: aws.String("b"), MessageBody: aws.String("two"), MessageAttributes: awsAttrs},
		{Id: aws.String("bad"), MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
			"k": {DataType: aws.String("Foo"), StringValue: aws.String("v")},
		}},
		{Id: aws.String("ctl"), MessageBody: aws.String("bell\x07")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Successful) != 2 || len(sent.Failed) != 2 {
		t.Fatalf("SendMessageBatch: %d successful, %d failed: %+v", len(sent.Successful), len(sent.Failed), sent.Failed)
	}
	failed := map[string]types.BatchResultErrorEntry{}
	for _, f := range sent.Failed {
		failed[aws.ToString(f.Id)] = f
	}
	if f := failed["bad"]; aws.ToString(f.Code) != "InvalidParameterValue" || !f.SenderFault {
		t.Errorf("bad entry failed as %+v", f)
	}
	if f := failed["ctl"]; aws.ToString(f.Code) != "InvalidMessageContents" {
		t.Errorf("entry with a control character failed as %+v", f)
	}
	for _, s := range sent.Successful {
		if aws.ToString(s.Id) == "b" && aws.ToString(s.MD5OfMessageAttributes) != awsAttrsMD5 {
			t.Errorf("entry b: MD5OfMessageAttributes %s", aws.ToString(s.MD5OfMessageAttributes))
		}
	}

	msgs := h.receiveAll(t, url, 2, &awssqs.ReceiveMessageInput{})
	vis, err := h.client.ChangeMessageVisibilityBatch(ctx, &awssqs.ChangeMessageVisibilityBatchInput{
		QueueUrl: aws.String(url), Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("x"), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 600},
			{Id: aws.String("y"), ReceiptHandle: aws.String("forged"), VisibilityTimeout: 600},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vis.Successful) != 1 || len(vis.Failed) != 1 || aws.ToString(vis.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Errorf("ChangeMessageVisibilityBatch: %+v", vis)
	}
	del, err := h.client.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("1"), ReceiptHandle: msgs[0].ReceiptHandle},
		{Id: aws.String("2"), ReceiptHandle: msgs[1].ReceiptHandle},
		{Id: aws.String("3"), ReceiptHandle: aws.String("forged")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Successful) != 2 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Id) != "3" ||
		aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" || !del.Failed[0].SenderFault {
		t.Errorf("DeleteMessageBatch: %+v", del)
	}

	entries := func(n int, id func(i int) string) []types.SendMessageBatchRequestEntry {
		var out []types.SendMessageBatchRequestEntry
		for i := range n {
			out = append(out, types.SendMessageBatchRequestEntry{Id: aws.String(id(i)), MessageBody: aws.String("m")})
		}
		return out
	}
	seq := func(i int) string { return "e" + strconv.Itoa(i) }
	big := strings.Repeat("x", 200<<10)
	for _, tc := range []struct {
		name    string
		entries []types.SendMessageBatchRequestEntry
		code    string
	}{
		{"empty", []types.SendMessageBatchRequestEntry{}, "AWS.SimpleQueueService.EmptyBatchRequest"},
		{"eleven", entries(11, seq), "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
		{"repeated id", entries(2, func(int) string { return "same" }), "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		{"bad id", entries(1, func(int) string { return "no spaces" }), "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{"too long", []types.SendMessageBatchRequestEntry{
			{Id: aws.String("a"), MessageBody: aws.String(big)}, {Id: aws.String("b"), MessageBody: aws.String(big)},
		}, "AWS.SimpleQueueService.BatchRequestTooLong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: tc.entries})
			wantSQSErr(t, err, 400, tc.code, "")
		})
	}
	_, err = h.client.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{}})
	errAs[*types.EmptyBatchRequest](t, err)
	wantSQSErr(t, err, 400, "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one DeleteMessageBatchRequestEntry in the request.")
}

func TestSQSErrors(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	url := h.createQueue(t, sqsName("errs"), nil)
	missing := h.srv.URL + "/" + h.account + "/missing"
	fifo := h.createQueue(t, sqsName("errs")+".fifo", map[string]string{"FifoQueue": "true"})
	otherAccount, other := h.otherAccount(t)

	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		code   string
		msg    string
	}{
		{"send to a missing queue", func() error {
			_, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(missing), MessageBody: aws.String("x")})
			return err
		}, 400, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."},
		{"malformed queue URL", func() error {
			_, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String("not a url"), MessageBody: aws.String("x")})
			return err
		}, 404, "InvalidAddress", "The address not a url is not valid for this endpoint."},
		{"body with a control character", func() error {
			_, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("a\x00b")})
			return err
		}, 400, "InvalidMessageContents", "Invalid binary character '#x0' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"},
		{"message too large", func() error {
			_, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strings.Repeat("x", 262145))})
			return err
		}, 400, "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes."},
		{"reserved attribute name", func() error {
			_, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
				MessageAttributes: map[string]types.MessageAttributeValue{"AWS.x": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
			return err
		}, 400, "InvalidParameterValue", "..."},
		{"delay out of range", func() error {
			_, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), DelaySeconds: 901})
			return err
		}, 400, "InvalidParameterValue", "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."},
		{"dedup id on a standard queue", func() error {
			_, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")})
			return err
		}, 400, "InvalidParameterValue", "..."},
		{"receive eleven", func() error {
			_, err := h.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11})
			return err
		}, 400, "InvalidParameterValue", "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."},
		{"wait too long", func() error {
			_, err := h.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 21})
			return err
		}, 400, "InvalidParameterValue", "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."},
		{"forged receipt handle", func() error {
			_, err := h.client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("forged")})
			return err
		}, 400, "ReceiptHandleIsInvalid", `The input receipt handle "forged" is not a valid receipt handle.`},
		{"visibility of a forged handle", func() error {
			_, err := h.client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(fifo), ReceiptHandle: aws.String("x"), VisibilityTimeout: 5})
			return err
		}, 400, "ReceiptHandleIsInvalid", "..."},
		{"unsupported operation", func() error {
			_, err := h.client.AddPermission(ctx, &awssqs.AddPermissionInput{QueueUrl: aws.String(url), Label: aws.String("l"),
				AWSAccountIds: []string{otherAccount}, Actions: []string{"SendMessage"}})
			return err
		}, 400, "AWS.SimpleQueueService.UnsupportedOperation", "Cloister does not support AddPermission."},
		{"another account's queue", func() error {
			_, err := other.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
			return err
		}, 403, "AccessDenied", "..."},
		{"bad queue name", func() error {
			_, err := h.client.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("has space")})
			return err
		}, 400, "InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantSQSErr(t, tc.call(), tc.status, tc.code, tc.msg)
		})
	}

	t.Run("purge twice", func(t *testing.T) {
		if _, err := h.client.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Fatal(err)
		}
		_, err := h.client.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(url)})
		errAs[*types.PurgeQueueInProgress](t, err)
		wantSQSErr(t, err, 403, "AWS.SimpleQueueService.PurgeQueueInProgress", "...")
	})
}

// TestSQSWire checks the JSON protocol's error shape and the audit record
// of SQS requests, including unauthenticated and unknown ones.
func TestSQSWire(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	url := h.createQueue(t, sqsName("wire"), nil)

	sent, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("audited")})
	if err != nil {
		t.Fatal(err)
	}
	_ = sent
	found := false
	h.audit.mu.Lock()
	for _, e := range h.audit.events {
		if e.Action == "sqs:SendMessage" && strings.HasSuffix(e.Resource, ":"+h.account+":"+url[strings.LastIndex(url, "/")+1:]) && e.Status == 200 {
			found = true
		}
	}
	h.audit.mu.Unlock()
	if !found {
		t.Error("no audit record of the SendMessage call")
	}

	// Unsigned, a JSON request is refused in SQS's JSON error shape.
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/", strings.NewReader(`{"QueueUrl":"`+url+`"}`))
	req.Header.Set("X-Amz-Target", "AmazonSQS.GetQueueAttributes")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("x-amzn-query-error") != "MissingAuthenticationToken;Sender" {
		t.Errorf("unsigned request: status %d, x-amzn-query-error %q", resp.StatusCode, resp.Header.Get("x-amzn-query-error"))
	}
	if e, ok := h.audit.find(resp.Header.Get("X-Amzn-RequestId")); !ok || e.Status != 403 {
		t.Errorf("unsigned request audited as %+v, %v", e, ok)
	}
}
