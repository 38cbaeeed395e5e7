package api_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

func TestSQSQueueLifecycle(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	name := sqsName("life")
	attrs := map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "2", "MessageRetentionPeriod": "3600"}
	out, err := h.client.CreateQueue(ctx, &awssqs.CreateQueueInput{
		QueueName: aws.String(name), Attributes: attrs, Tags: map[string]string{"team": "a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(out.QueueUrl)
	if want := h.srv.URL + "/" + h.account + "/" + name; url != want {
		t.Errorf("QueueUrl = %q, want %q", url, want)
	}

	t.Run("idempotent create", func(t *testing.T) {
		again, err := h.client.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil || aws.ToString(again.QueueUrl) != url {
			t.Errorf("CreateQueue again = %v, %v", again, err)
		}
		_, err = h.client.CreateQueue(ctx, &awssqs.CreateQueueInput{
			QueueName: aws.String(name), Attributes: map[string]string{"VisibilityTimeout": "46"},
		})
		errAs[*types.QueueNameExists](t, err)
		wantSQSErr(t, err, 400, "QueueAlreadyExists", "A queue already exists with the same name and a different value for attribute VisibilityTimeout")
	})

	t.Run("get url", func(t *testing.T) {
		got, err := h.client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil || aws.ToString(got.QueueUrl) != url {
			t.Errorf("GetQueueUrl = %v, %v", got, err)
		}
		_, err = h.client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("missing")})
		errAs[*types.QueueDoesNotExist](t, err)
		wantSQSErr(t, err, 400, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
	})

	t.Run("attributes", func(t *testing.T) {
		got, err := h.client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		a := got.Attributes
		created, _ := strconv.ParseInt(a["CreatedTimestamp"], 10, 64)
		if time.Since(time.Unix(created, 0)) > time.Hour {
			t.Errorf("CreatedTimestamp = %q", a["CreatedTimestamp"])
		}
		delete(a, "CreatedTimestamp")
		delete(a, "LastModifiedTimestamp")
		want := map[string]string{
			"QueueArn":                              "arn:aws:sqs:" + testRegion + ":" + h.account + ":" + name,
			"VisibilityTimeout":                     "45",
			"DelaySeconds":                          "2",
			"MessageRetentionPeriod":                "3600",
			"MaximumMessageSize":                    "262144",
			"ReceiveMessageWaitTimeSeconds":         "0",
			"ApproximateNumberOfMessages":           "0",
			"ApproximateNumberOfMessagesNotVisible": "0",
			"ApproximateNumberOfMessagesDelayed":    "0",
			"SqsManagedSseEnabled":                  "false",
		}
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("attributes (-want +got):\n%s", diff)
		}
		_, err = h.client.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{
			QueueUrl: aws.String(url), Attributes: map[string]string{"VisibilityTimeout": "60", "ReceiveMessageWaitTimeSeconds": "1"},
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err = h.client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"VisibilityTimeout", "ReceiveMessageWaitTimeSeconds"},
		})
		if err != nil || len(got.Attributes) != 2 || got.Attributes["VisibilityTimeout"] != "60" || got.Attributes["ReceiveMessageWaitTimeSeconds"] != "1" {
			t.Errorf("after SetQueueAttributes: %v, %v", got, err)
		}
	})

	t.Run("attribute errors", func(t *testing.T) {
		for _, tc := range []struct {
			attrs map[string]string
			code  string
			msg   string
		}{
			{map[string]string{"VisibilityTimeout": "43201"}, "InvalidAttributeValue", "Invalid value for the parameter VisibilityTimeout."},
			{map[string]string{"MessageRetentionPeriod": "59"}, "InvalidAttributeValue", "Invalid value for the parameter MessageRetentionPeriod."},
			{map[string]string{"DelaySeconds": "x"}, "InvalidAttributeValue", "Invalid value for the parameter DelaySeconds."},
			{map[string]string{"Bogus": "1"}, "InvalidAttributeName", "Unknown Attribute Bogus."},
			{map[string]string{"QueueArn": "x"}, "InvalidAttributeName", "Unknown Attribute QueueArn."},
			{map[string]string{"FifoQueue": "true"}, "InvalidAttributeName", "Unknown Attribute FifoQueue."},
			{map[string]string{"ContentBasedDeduplication": "true"}, "InvalidAttributeName", "Unknown Attribute ContentBasedDeduplication."},
			{map[string]string{"Policy": "{"}, "InvalidAttributeValue", "Invalid value for the parameter Policy..."},
			{map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:` + h.account + `:nope","maxReceiveCount":3}`},
				"InvalidParameterValue", "...Reason: Dead letter target does not exist."},
			{map[string]string{"SqsManagedSseEnabled": "true"}, "InvalidAttributeValue", "Invalid value for the parameter SqsManagedSseEnabled..."},
		} {
			_, err := h.client.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: tc.attrs})
			if strings.HasPrefix(tc.msg, "...") {
				wantSQSErr(t, err, 400, tc.code, "")
				if err != nil && !strings.HasSuffix(err.Error(), strings.TrimPrefix(tc.msg, "...")) {
					t.Errorf("%v: error %v, want it to end %q", tc.attrs, err, tc.msg)
				}
				continue
			}
			wantSQSErr(t, err, 400, tc.code, tc.msg)
		}
	})

	t.Run("tags", func(t *testing.T) {
		if _, err := h.client.TagQueue(ctx, &awssqs.TagQueueInput{QueueUrl: aws.String(url), Tags: map[string]string{"env": "test"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.client.UntagQueue(ctx, &awssqs.UntagQueueInput{QueueUrl: aws.String(url), TagKeys: []string{"team"}}); err != nil {
			t.Fatal(err)
		}
		got, err := h.client.ListQueueTags(ctx, &awssqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
		if err != nil || !cmp.Equal(got.Tags, map[string]string{"env": "test"}) {
			t.Errorf("ListQueueTags = %v, %v", got, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := h.client.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Fatal(err)
		}
		_, err := h.client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
		errAs[*types.QueueDoesNotExist](t, err)
		_, err = h.client.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: aws.String(url)})
		errAs[*types.QueueDoesNotExist](t, err)
	})
}

func TestSQSListQueues(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	var want []string
	for i := range 5 {
		want = append(want, h.createQueue(t, "list-"+strconv.Itoa(i), nil))
	}
	h.createQueue(t, "other", nil)
	var got []string
	pages := awssqs.NewListQueuesPaginator(h.client, &awssqs.ListQueuesInput{QueueNamePrefix: aws.String("list-"), MaxResults: aws.Int32(2)})
	n := 0
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n++
		got = append(got, p.QueueUrls...)
	}
	if !slices.Equal(got, want) || n != 3 {
		t.Errorf("paged ListQueues = %v in %d pages, want %v in 3", got, n, want)
	}
	all, err := h.client.ListQueues(ctx, &awssqs.ListQueuesInput{})
	if err != nil || len(all.QueueUrls) != 6 || all.NextToken != nil {
		t.Errorf("ListQueues = %v, %v", all, err)
	}
	_, err = h.client.ListQueues(ctx, &awssqs.ListQueuesInput{NextToken: aws.String("bogus")})
	wantSQSErr(t, err, 400, "InvalidParameterValue", "Invalid NextToken value.")
	_, err = h.client.ListQueues(ctx, &awssqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
	wantSQSErr(t, err, 400, "InvalidParameterValue", "...")
	// Another account sees only its own queues.
	_, other := h.otherAccount(t)
	theirs, err := other.ListQueues(ctx, &awssqs.ListQueuesInput{})
	if err != nil || len(theirs.QueueUrls) != 0 {
		t.Errorf("the other account lists %v, %v", theirs, err)
	}
}

// The example attributes and digests are those of a message AWS delivered
// to a Lambda function (an SQS event record).
var awsAttrs = map[string]types.MessageAttributeValue{
	"Quote":  {DataType: aws.String("String"), StringValue: aws.String("e5ue5u")},
	"Author": {DataType: aws.String("String"), StringValue: aws.String("e5ye5y")},
}

const awsAttrsMD5 = "4513b5d732f6a001659c757ee03a959f"

func TestSQSSendReceive(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	url := h.createQueue(t, sqsName("msgs"), nil)
	sent, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String("new quote"), MessageAttributes: awsAttrs,
	})
	if err != nil {
		t.Fatal(err) // the SDK checks MD5OfMessageBody itself
	}
	if got := aws.ToString(sent.MD5OfMessageAttributes); got != awsAttrsMD5 {
		t.Errorf("MD5OfMessageAttributes = %s, want %s", got, awsAttrsMD5)
	}
	if !uuidRe.MatchString(aws.ToString(sent.MessageId)) {
		t.Errorf("MessageId = %q", aws.ToString(sent.MessageId))
	}
	binary := map[string]types.MessageAttributeValue{
		"blob":  {DataType: aws.String("Binary.gzip"), BinaryValue: []byte{0, 1, 2, 0xff}},
		"count": {DataType: aws.String("Number"), StringValue: aws.String("-12.5e3")},
	}
	trace := map[string]types.MessageSystemAttributeValue{
		"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793")},
	}
	sent2, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String("line\r\nbreak\ttab \u00e9\U0001F600"), MessageAttributes: binary,
		MessageSystemAttributes: trace,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Binary attributes digest with transport byte 2 (computed by hand).
	if got := aws.ToString(sent2.MD5OfMessageAttributes); got != "a793ebfbdb6072ddc1c392a25ca11fcf" {
		t.Errorf("MD5OfMessageAttributes with a binary attribute = %s", got)
	}
	if sent2.MD5OfMessageSystemAttributes == nil {
		t.Error("no MD5OfMessageSystemAttributes for a message with AWSTraceHeader")
	}

	got, err := h.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err) // the SDK checks each MD5OfBody
	}
	for len(got.Messages) < 2 {
		more, err := h.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		got.Messages = append(got.Messages, more.Messages...)
	}
	byID := map[string]types.Message{}
	for _, m := range got.Messages {
		byID[aws.ToString(m.MessageId)] = m
	}
	m1, m2 := byID[aws.ToString(sent.MessageId)], byID[aws.ToString(sent2.MessageId)]
	if aws.ToString(m1.Body) != "new quote" || aws.ToString(m1.MD5OfMessageAttributes) != awsAttrsMD5 {
		t.Errorf("first message: %+v", m1)
	}
	if aws.ToString(m1.MessageAttributes["Quote"].StringValue) != "e5ue5u" {
		t.Errorf("first message attributes: %+v", m1.MessageAttributes)
	}
	a := m1.Attributes
	if a["ApproximateReceiveCount"] != "1" || a["SenderId"] != h.account || a["SentTimestamp"] == "" || a["ApproximateFirstReceiveTimestamp"] == "" {
		t.Errorf("system attributes %v", a)
	}
	if aws.ToString(m2.Body) != "line\r\nbreak\ttab \u00e9\U0001F600" {
		t.Errorf("second body %q", aws.ToString(m2.Body))
	}
	if b := m2.MessageAttributes["blob"]; !slices.Equal(b.BinaryValue, []byte{0, 1, 2, 0xff}) || aws.ToString(b.DataType) != "Binary.gzip" {
		t.Errorf("binary attribute came back as %+v", b)
	}
	if aws.ToString(m2.MD5OfMessageAttributes) != aws.ToString(sent2.MD5OfMessageAttributes) {
		t.Errorf("MD5OfMessageAttributes %s on receive, %s on send", aws.ToString(m2.MD5OfMessageAttributes), aws.ToString(sent2.MD5OfMessageAttributes))
	}
	if m2.Attributes["AWSTraceHeader"] != "Root=1-5759e988-bd862e3fe1be46a994272793" {
		t.Errorf("AWSTraceHeader = %q", m2.Attributes["AWSTraceHeader"])
	}

	// Visibility 0 makes the messages visible again; select one attribute.
	for _, m := range got.Messages {
		if _, err := h.client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		}); err != nil {
			t.Fatal(err)
		}
	}
	again := h.receiveAll(t, url, 2, &awssqs.ReceiveMessageInput{
		MessageAttributeNames:       []string{"Quote"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	for _, m := range again {
		if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) {
			if len(m.MessageAttributes) != 0 || m.MD5OfMessageAttributes != nil {
				t.Errorf("unselected attributes returned: %+v", m.MessageAttributes)
			}
			continue
		}
		if len(m.MessageAttributes) != 1 || m.Attributes["ApproximateReceiveCount"] != "2" || len(m.Attributes) != 1 {
			t.Errorf("selected attributes: %v, %v", m.MessageAttributes, m.Attributes)
		}
		// The digest covers the returned attribute only.
		if got := aws.ToString(m.MD5OfMessageAttributes); got != "93738f0297e017ea1187ebc1bb600156" {
			t.Errorf("MD5OfMessageAttributes of Quote alone = %s", got)
		}
		if _, err := h.client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
}

// receiveAll receives until n messages arrived (failing after 20 s).
func (h *sqsHarness) receiveAll(t testing.TB, url string, n int, base *awssqs.ReceiveMessageInput) []types.Message {
	t.Helper()
	var out []types.Message
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		in := *base
		in.QueueUrl, in.MaxNumberOfMessages, in.WaitTimeSeconds = aws.String(url), 10, 2
		got, err := h.client.ReceiveMessage(context.Background(), &in)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got.Messages...)
	}
	if len(out) < n {
		t.Fatalf("received %d messages, want %d", len(out), n)
	}
	return out
}

func TestSQSFIFO(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	url := h.createQueue(t, sqsName("orders")+".fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	var seqs []string
	for i := range 3 {
		out, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{
			QueueUrl: aws.String(url), MessageBody: aws.String("m" + strconv.Itoa(i)), MessageGroupId: aws.String("g"),
		})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	if !slices.IsSorted(seqs) || seqs[0] == seqs[1] {
		t.Errorf("sequence numbers %v do not increase", seqs)
	}
	// Older clients still name system attributes with AttributeNames.
	//lint:ignore SA1019 the deprecated member is what those clients send
	got := h.receiveAll(t, url, 3, &awssqs.ReceiveMessageInput{AttributeNames: []types.QueueAttributeName{"All"}})
	for i, m := range got {
		if aws.ToString(m.Body) != "m"+strconv.Itoa(i) || m.Attributes["MessageGroupId"] != "g" || m.Attributes["SequenceNumber"] != seqs[i] ||
			m.Attributes["MessageDeduplicationId"] == "" {
			t.Errorf("message %d: %s %v", i, aws.ToString(m.Body), m.Attributes)
		}
	}
	_, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
	wantSQSErr(t, err, 400, "MissingParameter", "The request must contain the parameter MessageGroupId.")
	_, err = h.client.SendMessage(ctx, &awssqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), DelaySeconds: 5,
	})
	wantSQSErr(t, err, 400, "InvalidParameterValue", "...")
	_, err = h.client.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("notfifo"), Attributes: map[string]string{"FifoQueue": "true"}})
	wantSQSErr(t, err, 400, "InvalidParameterValue", "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
}

// TestSQSDeadLetters sets a redrive policy through the API and sees a
// message move after maxReceiveCount receives.
func TestSQSDeadLetters(t *testing.T) {
	t.Parallel()
	h := newSQSHarness(t)
	ctx := context.Background()
	dlq := h.createQueue(t, sqsName("dlq"), map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"allowAll"}`})
	dlqARN := "arn:aws:sqs:" + testRegion + ":" + h.account + ":" + dlq[strings.LastIndex(dlq, "/")+1:]
	src := h.createQueue(t, sqsName("src"), map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":1}`,
	})
	got, err := h.client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl: aws.String(src), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil || got.Attributes["RedrivePolicy"] != `{"deadLetterTargetArn":"`+dlqARN+`","maxReceiveCount":1}` {
		t.Errorf("RedrivePolicy = %v, %v", got, err)
	}
	sources, err := h.client.ListDeadLetterSourceQueues(ctx, &awssqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlq)})
	if err != nil || !slices.Equal(sources.QueueUrls, []string{src}) {
		t.Errorf("ListDeadLetterSourceQueues = %v, %v", sources, err)
	}
	sent, err := h.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(src), MessageBody: aws.String("poison")})
	if err != nil {
		t.Fatal(err)
	}
	first := h.receiveAll(t, src, 1, &awssqs.ReceiveMessageInput{VisibilityTimeout: 1})
	if aws.ToString(first[0].MessageId) != aws.ToString(sent.MessageId) {
		t.Fatalf("received %+v", first)
	}
	// The move happens on the source's next receive, once the message is
	// visible again: that receive returns nothing.
	again, err := h.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(src), WaitTimeSeconds: 5})
	if err != nil || len(again.Messages) != 0 {
		t.Fatalf("a message over its maxReceiveCount was received again: %+v, %v", again, err)
	}
	moved := h.receiveAll(t, dlq, 1, &awssqs.ReceiveMessageInput{
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	m := moved[0]
	if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || m.Attributes["DeadLetterQueueSourceArn"] == "" {
		t.Errorf("dead-lettered message %+v", m)
	}
	// A queue that denies redrive cannot be a dead-letter queue.
	deny := h.createQueue(t, sqsName("deny"), map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`})
	denyARN := "arn:aws:sqs:" + testRegion + ":" + h.account + ":" + deny[strings.LastIndex(deny, "/")+1:]
	_, err = h.client.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: aws.String(src), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"` + denyARN + `","maxReceiveCount":3}`,
	}})
	wantSQSErr(t, err, 400, "InvalidParameterValue", "...")
}
