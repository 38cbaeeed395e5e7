package esm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/cloister/cloister/internal/sqs"
)

// sendMany sends bodies(i) for i in [0, n) with SendMessageBatch (the
// queue service's, without HTTP, so that the test measures the mapping
// rather than the API), from a few goroutines, and returns the message IDs
// by i.
func (h *harness) sendMany(t testing.TB, q queue, n int, body func(i int) string) []string {
	t.Helper()
	ids := make([]string, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	batches := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := range batches {
				var entries []sqs.BatchEntry
				for i := start; i < min(start+10, n); i++ {
					entries = append(entries, sqs.BatchEntry{ID: fmt.Sprint(i), Input: sqs.SendInput{Body: body(i), SenderID: h.account}})
				}
				res, err := h.queues.SendMessageBatch(context.Background(), h.account, q.name, entries)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for _, r := range res {
					if r.Err != nil && firstErr == nil {
						firstErr = r.Err
					}
					var i int
					fmt.Sscan(r.ID, &i)
					ids[i] = r.Result.MessageID
				}
				mu.Unlock()
			}
		}()
	}
	for start := 0; start < n; start += 10 {
		batches <- start
	}
	close(batches)
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("send: %v", firstErr)
	}
	return ids
}

// TestDrain is the definition of done: a mapping drains a queue of
// 10,000 messages, sent with SendMessageBatch, into a function that reports
// partial batch failures (every 97th message fails once). Every message is
// processed successfully at least once, the failed ones only after being
// redelivered, none reaches the dead-letter queue, and the queue ends up
// empty, within a bounded time.
func TestDrain(t *testing.T) {
	t.Parallel()
	h := getInvoking(t)
	const total = 10000
	name := uniqueName(t)
	h.createConsumer(t, name)
	dlq := h.createQueue(t, h.sqs, name+"-dlq", nil)
	q := h.createQueue(t, h.sqs, name, map[string]string{
		"VisibilityTimeout": "5",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":5}`, dlq.arn),
	})
	failing := func(i int) bool { return i%97 == 0 }
	ids := h.sendMany(t, q, total, func(i int) string {
		if failing(i) {
			return fmt.Sprintf(`{"i":%d,"fail":1}`, i)
		}
		return fmt.Sprintf(`{"i":%d}`, i)
	})
	start := time.Now()
	h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name),
		BatchSize: aws.Int32(100), MaximumBatchingWindowInSeconds: aws.Int32(1),
		FunctionResponseTypes: []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures},
	}, "Enabled")
	h.drained(t, h.sqs, q, 4*time.Minute)
	elapsed := time.Since(start)

	calls := h.rec.of(name)
	deliveries, successes := map[string]int{}, map[string]int{}
	for _, c := range calls {
		if c.Err != nil || c.FuncErr != "" {
			t.Fatalf("an invocation failed: %v %s %s", c.Err, c.FuncErr, c.Response)
		}
		var resp struct {
			BatchItemFailures []struct{ ItemIdentifier string } `json:"batchItemFailures"`
		}
		if err := json.Unmarshal(c.Response, &resp); err != nil {
			t.Fatalf("response %q: %v", c.Response, err)
		}
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, r := range c.records(t) {
			deliveries[r.MessageID]++
			if !failed[r.MessageID] {
				successes[r.MessageID]++
			}
		}
	}
	dups := 0
	for i, id := range ids {
		switch {
		case successes[id] < 1:
			t.Errorf("message %d (%s) was never processed successfully (%d deliveries)", i, id, deliveries[id])
		case failing(i) && deliveries[id] < 2:
			t.Errorf("message %d (%s) failed once but was delivered %d times", i, id, deliveries[id])
		}
		dups += successes[id] - 1
	}
	if got := dlqMessages(t, h, dlq); len(got) != 0 {
		t.Errorf("%d messages reached the dead-letter queue", len(got))
	}
	t.Logf("drained %d messages in %v (%.0f messages/s): %d invocations, %d duplicate successful deliveries",
		total, elapsed.Round(time.Millisecond), total/elapsed.Seconds(), len(calls), dups)
}

// BenchmarkQueueDrain measures how fast a mapping drains a queue into a
// function that succeeds (messages per second, from the mapping's creation
// until the queue is empty).
func BenchmarkQueueDrain(b *testing.B) {
	h := getInvoking(b)
	const total = 5000
	for _, bc := range []struct {
		name   string
		batch  int32
		window int32
	}{
		{"batch=10", 10, 0},
		{"batch=100", 100, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			name := uniqueName(b)
			h.createConsumer(b, name)
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				q := h.createQueue(b, h.sqs, fmt.Sprintf("%s-%d", name, i), nil)
				h.sendMany(b, q, total, func(i int) string { return fmt.Sprintf(`{"i":%d}`, i) })
				start := time.Now()
				out, err := h.lambda.CreateEventSourceMapping(context.Background(), &lambda.CreateEventSourceMappingInput{
					EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name),
					BatchSize: aws.Int32(bc.batch), MaximumBatchingWindowInSeconds: aws.Int32(bc.window),
				})
				if err != nil {
					b.Fatal(err)
				}
				h.drained(b, h.sqs, q, 5*time.Minute)
				elapsed += time.Since(start)
				if _, err := h.lambda.DeleteEventSourceMapping(context.Background(), &lambda.DeleteEventSourceMappingInput{UUID: out.UUID}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}
