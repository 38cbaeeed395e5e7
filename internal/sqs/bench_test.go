package sqs_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/sqs"
)

// The benchmarks run on the embedded store, which fsyncs every accepted
// write: they measure durable enqueues, not memory copies.

// BenchmarkSendMessage: one message per durable enqueue.
func BenchmarkSendMessage(b *testing.B) {
	e := newEnv(b, embedded)
	q, err := e.svc.CreateQueue(context.Background(), account, "bench-send", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	body := strings.Repeat("x", 256)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.svc.Send(ctx, q.ARN, body, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSendMessageBatch: ten messages per request, written as one
// round of acknowledgements.
func BenchmarkSendMessageBatch(b *testing.B) {
	e := newEnv(b, embedded)
	ctx := context.Background()
	if _, err := e.svc.CreateQueue(ctx, account, "bench-batch", nil, nil); err != nil {
		b.Fatal(err)
	}
	entries := make([]sqs.BatchEntry, 10)
	for i := range entries {
		entries[i] = sqs.BatchEntry{ID: strconv.Itoa(i), Input: sqs.SendInput{Body: "batched message " + strconv.Itoa(i)}}
	}
	b.ResetTimer()
	for b.Loop() {
		res, err := e.svc.SendMessageBatch(ctx, account, "bench-batch", entries)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64(10*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReceiveDelete: receive one message and delete it, the round
// trip of a consumer (an event source mapping) per message.
func BenchmarkReceiveDelete(b *testing.B) {
	for _, fifo := range []bool{false, true} {
		b.Run(kind(fifo), func(b *testing.B) {
			e := newEnv(b, embedded)
			ctx := context.Background()
			name := "bench-recv"
			attrs := map[string]string{}
			if fifo {
				name += ".fifo"
				attrs[sqs.AttrFifoQueue] = "true"
			}
			q, err := e.svc.CreateQueue(ctx, account, name, attrs, nil)
			if err != nil {
				b.Fatal(err)
			}
			// Fill the queue in batches, untimed.
			entries := make([]sqs.BatchEntry, 10)
			for sent := 0; sent < b.N; sent += len(entries) {
				for i := range entries {
					in := sqs.SendInput{Body: "m"}
					if fifo {
						// Many groups, so that receives are not serialized
						// behind one group's in-flight message.
						in.GroupID = "g" + strconv.Itoa((sent+i)%64)
						in.DeduplicationID = strconv.Itoa(sent + i)
					}
					entries[i] = sqs.BatchEntry{ID: strconv.Itoa(i), Input: in}
				}
				if _, err := e.svc.SendMessageBatch(ctx, account, name, entries); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				msgs, err := e.svc.Receive(ctx, q.ARN, 1, time.Second, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if len(msgs) != 1 {
					b.Fatalf("receive %d returned %d messages", i, len(msgs))
				}
				if err := e.svc.Delete(ctx, q.ARN, msgs[0].ReceiptHandle); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
