package esm_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cloister/cloister/internal/esm"
)

// drained waits until a queue has no messages, visible or in flight.
func (h *harness) drained(t testing.TB, c *awssqs.Client, q queue, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "queue "+q.arn+" to drain", func() bool {
		v, f := h.counts(t, c, q)
		return v == 0 && f == 0
	})
}

// TestBatchesReachFunction maps a queue to the consumer and checks the
// events it receives: Lambda's SQS record format, as aws-lambda-go decodes
// it, every message once, and an empty queue afterwards.
func TestBatchesReachFunction(t *testing.T) {
	t.Parallel()
	h := getInvoking(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.createConsumer(t, name)
	q := h.createQueue(t, h.sqs, name, nil)
	sent, err := h.sqs.SendMessage(ctx, &awssqs.SendMessageInput{
		QueueUrl: aws.String(q.url), MessageBody: aws.String(`{"hello":"world"}`),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"Author": {DataType: aws.String("String"), StringValue: aws.String("John Grisham")},
			"Weeks":  {DataType: aws.String("Number"), StringValue: aws.String("6")},
			"Blob":   {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for i := range 24 {
		bodies = append(bodies, fmt.Sprintf(`{"n":%d}`, i))
	}
	ids := append([]string{aws.ToString(sent.MessageId)}, h.send(t, q, bodies...)...)
	m := h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name), BatchSize: aws.Int32(10), MaximumBatchingWindowInSeconds: aws.Int32(1),
	}, "Enabled")
	h.drained(t, h.sqs, q, time.Minute)

	calls := h.rec.of(name)
	n := delivered(t, calls)
	for _, id := range ids {
		if n[id] != 1 {
			t.Errorf("message %s was delivered %d times, want once", id, n[id])
		}
	}
	for _, c := range calls {
		if c.Err != nil || c.FuncErr != "" {
			t.Fatalf("invocation failed: %v %s %s", c.Err, c.FuncErr, c.Response)
		}
		if len(c.records(t)) > 10 {
			t.Errorf("a batch of %d records, want at most 10", len(c.records(t)))
		}
		var ev events.SQSEvent
		if err := json.Unmarshal(c.Payload, &ev); err != nil {
			t.Fatalf("aws-lambda-go cannot decode the event: %v", err)
		}
		for _, r := range c.records(t) {
			sum := md5.Sum([]byte(r.Body))
			if r.MD5OfBody != hex.EncodeToString(sum[:]) || r.EventSource != "aws:sqs" || r.EventSourceARN != q.arn || r.AWSRegion != region {
				t.Errorf("record %+v", r)
			}
			for _, a := range []string{"ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp"} {
				if _, err := strconv.ParseInt(r.Attributes[a], 10, 64); err != nil {
					t.Errorf("record attribute %s = %q", a, r.Attributes[a])
				}
			}
			if r.Attributes["ApproximateReceiveCount"] != "1" {
				t.Errorf("ApproximateReceiveCount %q, want 1", r.Attributes["ApproximateReceiveCount"])
			}
			if r.MessageID != ids[0] {
				if len(r.MessageAttributes) != 0 || r.MD5OfMessageAttributes != nil {
					t.Errorf("a message without attributes has %v, %v", r.MessageAttributes, r.MD5OfMessageAttributes)
				}
				continue
			}
			author, weeks, blob := r.MessageAttributes["Author"], r.MessageAttributes["Weeks"], r.MessageAttributes["Blob"]
			if aws.ToString(author.StringValue) != "John Grisham" || author.DataType != "String" || author.StringListValues == nil ||
				aws.ToString(weeks.StringValue) != "6" || weeks.DataType != "Number" ||
				string(blob.BinaryValue) != "\x00\x01\x02\xff" || blob.DataType != "Binary" || blob.StringValue != nil {
				t.Errorf("message attributes %+v", r.MessageAttributes)
			}
			if aws.ToString(r.MD5OfMessageAttributes) != aws.ToString(sent.MD5OfMessageAttributes) {
				t.Errorf("md5OfMessageAttributes %q, want %q", aws.ToString(r.MD5OfMessageAttributes), aws.ToString(sent.MD5OfMessageAttributes))
			}
		}
	}
	got, err := h.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil {
		t.Fatal(err)
	}
	if r := aws.ToString(got.LastProcessingResult); r != "OK" {
		t.Errorf("LastProcessingResult %q, want OK", r)
	}
}

// TestPartialBatchFailures checks ReportBatchItemFailures: items the
// function reports are redelivered (and only they), an item that keeps
// failing is redriven to the dead-letter queue after maxReceiveCount
// receives, and an invalid response fails the whole batch.
func TestPartialBatchFailures(t *testing.T) {
	t.Parallel()
	h := getInvoking(t)
	name := uniqueName(t)
	h.createConsumer(t, name)
	dlq := h.createQueue(t, h.sqs, name+"-dlq", nil)
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":2}`, dlq.arn)
	q := h.createQueue(t, h.sqs, name, map[string]string{"VisibilityTimeout": "1", "RedrivePolicy": redrive})

	ok := h.send(t, q, `{"n":1}`, `{"n":2}`, `{"n":3}`, `plain text`)
	once := h.send(t, q, `{"fail":1}`, `{"fail":1}`)
	always := h.send(t, q, `{"fail":99}`)
	h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name), BatchSize: aws.Int32(10),
		FunctionResponseTypes: []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures},
	}, "Enabled")
	h.drained(t, h.sqs, q, time.Minute)

	n := delivered(t, h.rec.of(name))
	for _, id := range ok {
		if n[id] != 1 {
			t.Errorf("succeeding message %s delivered %d times, want 1", id, n[id])
		}
	}
	for _, id := range once {
		if n[id] != 2 {
			t.Errorf("message %s that fails once delivered %d times, want 2", id, n[id])
		}
	}
	if n[always[0]] != 2 {
		t.Errorf("message that always fails delivered %d times, want maxReceiveCount (2)", n[always[0]])
	}
	if got := dlqMessages(t, h, dlq); !slices.Equal(got, always) {
		t.Errorf("dead-letter queue holds %v, want %v", got, always)
	}

	t.Run("invalid response fails the whole batch", func(t *testing.T) {
		t.Parallel()
		name := uniqueName(t)
		h.createConsumer(t, name)
		dlq := h.createQueue(t, h.sqs, name+"-dlq", nil)
		redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, dlq.arn)
		q := h.createQueue(t, h.sqs, name, map[string]string{"VisibilityTimeout": "1", "RedrivePolicy": redrive})
		// Both are in the queue before the mapping's first receive, which
		// takes them together.
		ids := h.send(t, q, `{"respond":"bogus"}`, `{"n":1}`)
		h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
			EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name),
			FunctionResponseTypes: []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures},
		}, "Enabled")
		h.drained(t, h.sqs, q, time.Minute)
		if got := dlqMessages(t, h, dlq); !slices.Equal(sorted(got), sorted(ids)) {
			t.Errorf("dead-letter queue holds %v, want both %v", got, ids)
		}
	})

	t.Run("function error fails the whole batch", func(t *testing.T) {
		t.Parallel()
		name := uniqueName(t)
		h.createConsumer(t, name)
		q := h.createQueue(t, h.sqs, name, map[string]string{"VisibilityTimeout": "1"})
		ids := h.send(t, q, `{"crash":1}`, `{"n":1}`)
		h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
			EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name),
		}, "Enabled")
		h.drained(t, h.sqs, q, time.Minute)
		n := delivered(t, h.rec.of(name))
		if n[ids[0]] != 2 || n[ids[1]] != 2 {
			t.Errorf("deliveries %v, want both messages twice (the first batch failed)", n)
		}
	})
}

// dlqMessages receives every message of a dead-letter queue and returns
// their IDs, sorted.
func dlqMessages(t testing.TB, h *harness, q queue) []string {
	t.Helper()
	var ids []string
	for {
		out, err := h.sqs.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(q.url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			slices.Sort(ids)
			return ids
		}
		for _, m := range out.Messages {
			ids = append(ids, aws.ToString(m.MessageId))
		}
	}
}

// TestFilterCriteria checks that only messages a filter matches reach the
// function, and that the others are deleted without invoking it.
func TestFilterCriteria(t *testing.T) {
	t.Parallel()
	h := getInvoking(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.createConsumer(t, name)
	q := h.createQueue(t, h.sqs, name, nil)
	keep := h.send(t, q, `{"kind":"keep","n":1}`, `{"kind":"keep","n":2}`, `{"kind":"other","size":150}`, `urgent: disk full`)
	drop := h.send(t, q, `{"kind":"other","size":50}`, `{"kind":"drop"}`, `not urgent`, `{"kind":["keeps"]}`)
	tagged, err := h.sqs.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(`{"kind":"drop"}`),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"team": {DataType: aws.String("String"), StringValue: aws.String("Blue")}}})
	if err != nil {
		t.Fatal(err)
	}
	keep = append(keep, aws.ToString(tagged.MessageId))
	filters := []string{
		`{"body":{"kind":["keep"]}}`,
		`{"body":{"size":[{"numeric":[">",100]}]}}`,
		`{"body":[{"prefix":"urgent"}]}`,
		`{"messageAttributes":{"team":{"stringValue":[{"equals-ignore-case":"blue"}]}}}`,
	}
	fc := &lambdatypes.FilterCriteria{}
	for _, f := range filters {
		fc.Filters = append(fc.Filters, lambdatypes.Filter{Pattern: aws.String(f)})
	}
	h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name), FilterCriteria: fc,
	}, "Enabled")
	h.drained(t, h.sqs, q, time.Minute)
	n := delivered(t, h.rec.of(name))
	for _, id := range keep {
		if n[id] != 1 {
			t.Errorf("matching message %s delivered %d times, want 1", id, n[id])
		}
	}
	for _, id := range drop {
		if n[id] != 0 {
			t.Errorf("message %s that no filter matches was delivered", id)
		}
	}
}

// TestDisableEnable checks that a disabled mapping stops polling (a
// message sent then stays in the queue) and resumes when enabled.
func TestDisableEnable(t *testing.T) {
	t.Parallel()
	h := getInvoking(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.createConsumer(t, name)
	q := h.createQueue(t, h.sqs, name, nil)
	m := h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name)}, "Enabled")
	first := h.send(t, q, `{"n":1}`)
	h.drained(t, h.sqs, q, time.Minute)

	if _, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, h.lambda, aws.ToString(m.UUID), "Disabled")
	eventually(t, 10*time.Second, "the disabled mapping's pollers to stop", func() bool { return h.mappings.Pollers(aws.ToString(m.UUID)) == 0 })
	second := h.send(t, q, `{"n":2}`)
	// Nothing polls the queue: the message is there for us.
	out, err := h.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(q.url), WaitTimeSeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].MessageId) != second[0] {
		t.Fatalf("received %+v from the queue of a disabled mapping, want message %s", out.Messages, second[0])
	}
	if _, err := h.sqs.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}

	if _, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, h.lambda, aws.ToString(m.UUID), "Enabled")
	h.drained(t, h.sqs, q, time.Minute)
	n := delivered(t, h.rec.of(name))
	if n[first[0]] != 1 || n[second[0]] != 1 {
		t.Errorf("deliveries %v, want each message once", n)
	}
}

// TestMaximumConcurrency observes concurrent invocations: they never
// exceed MaximumConcurrency (nor the function's reserved concurrency), and
// the mapping scales up to the cap while batches come back full.
func TestMaximumConcurrency(t *testing.T) {
	t.Parallel()
	h := getInvoking(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		cap      int32
		reserved int32 // 0: none
		want     int
	}{
		{"scaling config", 2, 0, 2},
		{"reserved concurrency", 5, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := uniqueName(t)
			t.Parallel()
			h.createConsumer(t, name)
			if tc.reserved > 0 {
				if _, err := h.lambda.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
					FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(tc.reserved)}); err != nil {
					t.Fatal(err)
				}
			}
			q := h.createQueue(t, h.sqs, name, map[string]string{"VisibilityTimeout": "60"})
			var bodies []string
			for range 12 {
				bodies = append(bodies, `{"sleep":250}`)
			}
			ids := h.send(t, q, bodies...)
			h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
				EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name), BatchSize: aws.Int32(1),
				ScalingConfig: &lambdatypes.ScalingConfig{MaximumConcurrency: aws.Int32(tc.cap)},
			}, "Enabled")
			h.drained(t, h.sqs, q, time.Minute)
			if got := h.rec.peakOf(name); got != tc.want {
				t.Errorf("peak concurrent invocations %d, want %d", got, tc.want)
			}
			n := delivered(t, h.rec.of(name))
			for _, id := range ids {
				if n[id] < 1 {
					t.Errorf("message %s never delivered", id)
				}
			}
		})
	}
}

// TestProblems checks LastProcessingResult when the function or the queue
// of a mapping goes away, and that the mapping stays (as in Lambda) and
// does not spend the queue's receive counts meanwhile.
func TestProblems(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	result := func(uuid *string) string {
		out, err := h.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: uuid})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.LastProcessingResult)
	}
	t.Run("function deleted", func(t *testing.T) {
		t.Parallel()
		name := uniqueName(t)
		fnARN := h.createFunction(t, h.lambda, h.account, name)
		q := h.createQueue(t, h.sqs, name, nil)
		m := h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name)}, "Enabled")
		if _, err := h.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		want := "PROBLEM: Function not found: " + fnARN
		eventually(t, 20*time.Second, "LastProcessingResult "+want, func() bool { return result(m.UUID) == want })
		h.send(t, q, `{"n":1}`)
		out, err := h.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(q.url), WaitTimeSeconds: 5,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 || out.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
			t.Errorf("a mapping without its function received the queue's message: %+v", out.Messages)
		}
	})
	t.Run("queue deleted", func(t *testing.T) {
		t.Parallel()
		name := uniqueName(t)
		h.createFunction(t, h.lambda, h.account, name)
		q := h.createQueue(t, h.sqs, name, nil)
		m := h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name)}, "Enabled")
		if _, err := h.sqs.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: aws.String(q.url)}); err != nil {
			t.Fatal(err)
		}
		want := "PROBLEM: Queue not found: " + q.arn
		eventually(t, 20*time.Second, "LastProcessingResult "+want, func() bool { return result(m.UUID) == want })
		got, err := h.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.State) != "Enabled" {
			t.Errorf("State %q, want the mapping still Enabled", aws.ToString(got.State))
		}
	})
}

// TestTwoServers runs a second mapping service on the same store, as a
// second server sharing an external cluster would: it picks up a mapping
// created through the first, polls it too (every message is still
// processed, and deleted once), and follows it when it is disabled and
// deleted.
func TestTwoServers(t *testing.T) {
	t.Parallel()
	h := getInvoking(t)
	ctx := context.Background()
	second, err := esm.Open(ctx, h.st, h.services.MappingConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Close(context.Background()) })

	name := uniqueName(t)
	h.createConsumer(t, name)
	q := h.createQueue(t, h.sqs, name, nil)
	m := h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name), BatchSize: aws.Int32(1),
	}, "Enabled")
	uuid := aws.ToString(m.UUID)
	eventually(t, 10*time.Second, "the second server to poll the mapping", func() bool { return second.Pollers(uuid) > 0 })
	var bodies []string
	for i := range 40 {
		bodies = append(bodies, fmt.Sprintf(`{"n":%d}`, i))
	}
	ids := h.send(t, q, bodies...)
	h.drained(t, h.sqs, q, time.Minute)
	n := delivered(t, h.rec.of(name))
	for _, id := range ids {
		if n[id] < 1 {
			t.Errorf("message %s never delivered", id)
		}
	}

	if _, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, h.lambda, uuid, "Disabled")
	eventually(t, 10*time.Second, "both servers to stop polling", func() bool {
		return h.mappings.Pollers(uuid) == 0 && second.Pollers(uuid) == 0
	})
	if _, err := h.lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the second server to forget the mapping", func() bool {
		page, err := second.List(ctx, h.account, esm.ListInput{EventSourceArn: q.arn})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.EventSourceMappings) == 0
	})
}
