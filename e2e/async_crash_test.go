package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// asyncJournal is what the enqueuers saw before the crash: an event whose
// 202 arrived was accepted and must be processed; one whose answer never
// came may or may not have been.
type asyncJournal struct {
	mu       sync.Mutex
	accepted map[string]bool // id -> the event fails (goes to OnFailure)
	maybe    map[string]bool
	errors   map[string]int
}

func (j *asyncJournal) note(id string, fails bool, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err == nil {
		j.accepted[id] = fails
		return
	}
	j.maybe[id] = true
	code := "transport"
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	j.errors[code]++
}

func (j *asyncJournal) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.accepted)
}

// TestAsyncCrash kills the server with SIGKILL while thousands of
// asynchronous events are queued, running and being enqueued (by the SDK,
// and a few by the AWS CLI), restarts it on the same data, and proves that
// every event the server accepted (answered 202) was processed — its record
// reached the OnSuccess queue — or dead-lettered to the OnFailure queue,
// at least once.
func TestAsyncCrash(t *testing.T) {
	t.Parallel()
	requireSandboxes(t)
	const events = 3000
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, serverOpts{dataDir: dataDir})
	sdk := newSDK(t, srv, 1)
	queues := sqsClient(t, srv)
	createAsyncApp(t, newSDK(t, srv, 3), srv, "crash-async")
	okURL, okARN := createQueue(t, queues, srv, "crash-ok")
	failURL, failARN := createQueue(t, queues, srv, "crash-failed")
	if _, err := sdk.PutFunctionEventInvokeConfig(t.Context(), &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("crash-async"), MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &types.DestinationConfig{
			OnSuccess: &types.OnSuccess{Destination: aws.String(okARN)},
			OnFailure: &types.OnFailure{Destination: aws.String(failARN)},
		}}); err != nil {
		t.Fatal(err)
	}

	j := &asyncJournal{accepted: map[string]bool{}, maybe: map[string]bool{}, errors: map[string]int{}}
	ctx, stopWriters := context.WithCancel(t.Context())
	defer stopWriters()
	ids := make(chan int)
	var wg sync.WaitGroup
	go func() {
		defer close(ids)
		for i := range events {
			select {
			case ids <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	payload := func(id string, fails bool) string {
		if fails {
			return `{"id":"` + id + `","op":"fail","arg":"planned failure"}`
		}
		return `{"id":"` + id + `","op":"sleep","n":5}`
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				id, fails := "sdk-"+strconv.Itoa(i), i%10 == 0
				_, err := sdk.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("crash-async"),
					InvocationType: types.InvocationTypeEvent, Payload: []byte(payload(id, fails))})
				j.note(id, fails, err)
			}
		}()
	}
	// A few through the CLI, which must not retry: a retry could land
	// after the restart.
	cli := newCLI(t, srv, "AWS_MAX_ATTEMPTS=1")
	out := filepath.Join(t.TempDir(), "out.json")
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			id := "cli-" + strconv.Itoa(i)
			res, err := cli.runCtx(ctx, "lambda", "invoke", "--function-name", "crash-async", "--invocation-type", "Event",
				"--cli-binary-format", "raw-in-base64-out", "--payload", payload(id, i%2 == 1), out)
			if err == nil && res.code != 0 {
				err = fmt.Errorf("exit %d: %s", res.code, res.stderr)
			}
			if ctx.Err() == nil || err == nil {
				j.note(id, i%2 == 1, err)
			}
		}
	}()

	// Crash once two thirds of the events are in and some have been
	// processed.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if j.count() >= events*2/3 {
			attrs, err := queues.GetQueueAttributes(t.Context(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(okURL),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
			if err == nil && attrs.Attributes["ApproximateNumberOfMessages"] != "0" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("too little progress: %d events accepted", j.count())
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.kill()
	stopWriters()
	wg.Wait()
	t.Logf("crashed with %d events accepted, %d unanswered; errors by code: %v", len(j.accepted), len(j.maybe), j.errors)

	srv2 := startServer(t, serverOpts{dataDir: dataDir})
	queues2 := sqsClient(t, srv2)
	seen := map[string]string{} // id -> the queue its record reached
	records, failures := 0, 0
	drain := func(url, want string) int {
		out, err := queues2.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10})
		if err != nil {
			// The SDK now and then fails to read a ReceiveMessage
			// response ("use of closed network connection"; reported to
			// the SQS API's owner). Its messages come back after their
			// visibility timeout.
			if failures++; failures > 20 {
				t.Fatalf("receive from %s: %v", want, err)
			}
			t.Logf("receive from %s: %v", want, err)
			return 0
		}
		failures = 0
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			var r invocationRecord
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &r); err != nil {
				t.Fatalf("record %q: %v", aws.ToString(m.Body), err)
			}
			var p struct{ ID string }
			_ = json.Unmarshal(r.RequestPayload, &p)
			if prev, ok := seen[p.ID]; ok && prev != want {
				t.Errorf("%s reached both %s and %s", p.ID, prev, want)
			}
			seen[p.ID] = want
			records++
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if len(del) > 0 {
			if _, err := queues2.DeleteMessageBatch(t.Context(), &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del}); err != nil {
				t.Fatalf("delete from %s: %v", want, err)
			}
		}
		return len(out.Messages)
	}
	missing := func() []string {
		var out []string
		for id := range j.accepted {
			if _, ok := seen[id]; !ok {
				out = append(out, id)
			}
		}
		return out
	}
	deadline = time.Now().Add(5 * time.Minute)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		if drain(okURL, "OnSuccess")+drain(failURL, "OnFailure") == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Take what else is queued (duplicates of the crash) for the count.
	for drain(okURL, "OnSuccess")+drain(failURL, "OnFailure") > 0 {
	}
	if m := missing(); len(m) > 0 {
		t.Fatalf("%d accepted events were neither processed nor dead-lettered, e.g. %v", len(m), m[:min(len(m), 10)])
	}
	for id, fails := range j.accepted {
		want := "OnSuccess"
		if fails {
			want = "OnFailure"
		}
		if seen[id] != want {
			t.Errorf("%s reached %s, want %s", id, seen[id], want)
		}
	}
	t.Logf("%d accepted events, %d records (%d duplicates from the crash), %d unanswered events of which %d ran",
		len(j.accepted), records, records-len(seen), len(j.maybe), len(seen)-len(j.accepted))
}
