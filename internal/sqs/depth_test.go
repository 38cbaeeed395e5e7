package sqs_test

import (
	"testing"
	"time"

	"github.com/cloister/cloister/internal/sqs"
)

// TestMessageDepth checks the depth a message carries (how many
// invocations led to it): it is stored with the message, received with
// it, kept when the message is delayed or dead-lettered, and shown to no
// client (no system attribute, no digest).
func TestMessageDepth(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, fifo := range []bool{false, true} {
			t.Run(kind(fifo), func(t *testing.T) {
				t.Parallel()
				dlq := e.queue(t, fifo, nil)
				attrs := map[string]string{sqs.AttrRedrivePolicy: `{"deadLetterTargetArn":"` + dlq + `","maxReceiveCount":"1"}`}
				if !fifo {
					attrs[sqs.AttrDelaySeconds] = "1" // through the delay stream
				}
				src := e.queue(t, fifo, attrs)
				in := func(body string, depth int) sqs.SendInput {
					in := sqs.SendInput{Body: body, Depth: depth}
					if fifo {
						in.GroupID, in.DeduplicationID = body, body
					}
					return in
				}
				one, err := e.svc.SendMessage(ctx(t), account, nameOf(t, src), in("one", 5))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.svc.SendMessage(ctx(t), account, nameOf(t, src), in("plain", 0)); err != nil {
					t.Fatal(err)
				}
				if one.MD5OfSystemAttributes != "" || one.MD5OfBody != sqs.MD5OfBody("one") {
					t.Errorf("the depth shows in the send result: %+v", one)
				}
				batch, err := e.svc.SendMessageBatch(ctx(t), account, nameOf(t, src), []sqs.BatchEntry{
					{ID: "a", Input: in("batch-a", 17)}, {ID: "b", Input: in("batch-b", -3)},
				})
				if err != nil || batch[0].Err != nil || batch[1].Err != nil {
					t.Fatalf("SendMessageBatch: %+v, %v", batch, err)
				}
				want := map[string]int{"one": 5, "plain": 0, "batch-a": 17, "batch-b": 0}
				got := map[string]int{}
				deadline := time.Now().Add(20 * time.Second)
				for len(got) < len(want) && time.Now().Before(deadline) {
					msgs, err := e.svc.Receive(ctx(t), src, 10, 2*time.Second, 200*time.Millisecond)
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range msgs {
						got[m.Body] = m.Depth
						for k := range m.SystemAttributeValues() {
							if k != sqs.SysSenderID && k != sqs.SysSentTimestamp && k != sqs.SysReceiveCount &&
								k != sqs.SysFirstReceiveTimestamp && k != sqs.SysGroupID && k != sqs.SysDeduplicationID && k != sqs.SysSequenceNumber {
								t.Errorf("message %s has system attribute %s", m.Body, k)
							}
						}
					}
				}
				for body, d := range want {
					if g, ok := got[body]; !ok || g != d {
						t.Errorf("received %q with depth %d (received: %v), want %d", body, g, ok, d)
					}
				}
				// Received once, each is dead-lettered on the next receive,
				// depth and all.
				moved := map[string]int{}
				deadline = time.Now().Add(20 * time.Second)
				for len(moved) < len(want) && time.Now().Before(deadline) {
					if _, err := e.svc.Receive(ctx(t), src, 10, 0, 0); err != nil {
						t.Fatal(err)
					}
					msgs, err := e.svc.Receive(ctx(t), dlq, 10, time.Second, time.Hour)
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range msgs {
						moved[m.Body] = m.Depth
					}
				}
				for body, d := range want {
					if g, ok := moved[body]; !ok || g != d {
						t.Errorf("dead-lettered %q with depth %d (moved: %v), want %d", body, g, ok, d)
					}
				}
			})
		}
	})
}
