package sqs_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/sqs"
)

// Visibility timeouts here are short (a few hundred milliseconds) through
// the Go API, which takes durations; waits are long polls that return as
// soon as a message is visible, never sleeps that assume a speed.

func TestVisibilityExpiryRedelivers(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, fifo := range []bool{false, true} {
			t.Run(kind(fifo), func(t *testing.T) {
				t.Parallel()
				q := e.queue(t, fifo, nil)
				var sent sqs.SendResult
				if fifo {
					sent = e.sendFIFO(t, q, "g", "d1", "hello")
				} else {
					sent = e.send(t, q, "hello")
				}
				first := e.await(t, q, 1, 300*time.Millisecond)
				if len(first) != 1 || first[0].Body != "hello" || first[0].ReceiveCount != 1 || first[0].MessageID != sent.MessageID {
					t.Fatalf("first receive: %+v", first)
				}
				second := e.await(t, q, 1, time.Hour)
				m := second[0]
				if m.MessageID != sent.MessageID || m.ReceiveCount != 2 {
					t.Errorf("redelivery: id %s count %d, want %s and 2", m.MessageID, m.ReceiveCount, sent.MessageID)
				}
				if m.ReceiptHandle == first[0].ReceiptHandle {
					t.Error("the redelivery has the first receive's receipt handle")
				}
				if !m.FirstReceiveTimestamp.Equal(first[0].FirstReceiveTimestamp) {
					t.Errorf("ApproximateFirstReceiveTimestamp moved from %v to %v", first[0].FirstReceiveTimestamp, m.FirstReceiveTimestamp)
				}
				if got := e.receive(t, q, 10, 0); len(got) != 0 {
					t.Errorf("an in-flight message was received again: %v", bodies(got))
				}
			})
		}
	})
}

func TestChangeVisibility(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) { testChangeVisibility(t, e) })
}

func testChangeVisibility(t *testing.T, e *env) {
	for _, fifo := range []bool{false, true} {
		t.Run(kind(fifo), func(t *testing.T) {
			t.Parallel()
			q := e.queue(t, fifo, nil)
			if fifo {
				e.sendFIFO(t, q, "g", "d", "m")
			} else {
				e.send(t, q, "m")
			}
			// To zero: visible again at once.
			h := e.await(t, q, 1, time.Hour)[0].ReceiptHandle
			if err := e.svc.ChangeVisibility(ctx(t), q, h, 0); err != nil {
				t.Fatalf("ChangeVisibility(0): %v", err)
			}
			m := e.await(t, q, 1, 500*time.Millisecond)[0]
			if m.ReceiveCount != 2 {
				t.Errorf("receive count %d after a visibility change to 0, want 2", m.ReceiveCount)
			}
			// To longer: the receive's own short timeout no longer applies.
			if err := e.svc.ChangeVisibility(ctx(t), q, m.ReceiptHandle, time.Hour); err != nil {
				t.Fatalf("ChangeVisibility(1h): %v", err)
			}
			got, err := e.svc.Receive(ctx(t), q, 1, 2*time.Second, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("message visible again although its timeout was extended: %v", bodies(got))
			}
			// Beyond 12 hours since the receive.
			err = e.svc.ChangeVisibility(ctx(t), q, m.ReceiptHandle, 12*time.Hour)
			wantType(t, err, awserr.InvalidParameterValue)
			err = e.svc.ChangeVisibility(ctx(t), q, m.ReceiptHandle, -time.Second)
			wantType(t, err, awserr.InvalidParameterValue)
			// A deleted message's visibility cannot change.
			if err := e.svc.Delete(ctx(t), q, m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
			err = e.svc.ChangeVisibility(ctx(t), q, m.ReceiptHandle, time.Minute)
			wantType(t, err, awserr.InvalidParameterValue)
		})
	}
}

func TestStaleReceiptHandles(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) { testStaleReceiptHandles(t, e) })
}

func testStaleReceiptHandles(t *testing.T, e *env) {
	t.Run("standard", func(t *testing.T) {
		t.Parallel()
		q := e.queue(t, false, nil)
		e.send(t, q, "m")
		old := e.await(t, q, 1, 200*time.Millisecond)[0].ReceiptHandle
		current := e.await(t, q, 1, time.Hour)[0].ReceiptHandle
		// SQS: a delete with an earlier receipt handle succeeds, and the
		// message goes even while another reader holds it.
		if err := e.svc.Delete(ctx(t), q, old); err != nil {
			t.Fatalf("Delete(old handle): %v", err)
		}
		attrs := e.attrs(t, q, sqs.AttrApproxMessages, sqs.AttrApproxNotVisible)
		if attrs[sqs.AttrApproxMessages] != "0" || attrs[sqs.AttrApproxNotVisible] != "0" {
			t.Errorf("after the delete the queue reports %v", attrs)
		}
		// Deleting again, with either handle, is not an error.
		for _, h := range []string{current, old} {
			if err := e.svc.Delete(ctx(t), q, h); err != nil {
				t.Errorf("Delete of a deleted message: %v", err)
			}
		}
	})
	t.Run("fifo", func(t *testing.T) {
		t.Parallel()
		q := e.queue(t, true, nil)
		e.sendFIFO(t, q, "g", "d", "m")
		old := e.await(t, q, 1, 200*time.Millisecond)[0].ReceiptHandle
		current := e.await(t, q, 1, time.Hour)[0].ReceiptHandle
		wantType(t, e.svc.Delete(ctx(t), q, old), awserr.SQSReceiptHandleIsInvalid)
		wantType(t, e.svc.ChangeVisibility(ctx(t), q, old, 0), awserr.SQSReceiptHandleIsInvalid)
		if err := e.svc.Delete(ctx(t), q, current); err != nil {
			t.Fatalf("Delete(current handle): %v", err)
		}
		if err := e.svc.Delete(ctx(t), q, current); err != nil {
			t.Errorf("second Delete: %v", err)
		}
		if got := e.receive(t, q, 10, 0); len(got) != 0 {
			t.Errorf("deleted message received: %v", bodies(got))
		}
	})
	t.Run("forged", func(t *testing.T) {
		t.Parallel()
		q := e.queue(t, false, nil)
		other := e.queue(t, false, nil)
		e.send(t, other, "x")
		h := e.await(t, other, 1, time.Hour)[0].ReceiptHandle
		tampered := []byte(h)
		tampered[len(tampered)/2] ^= 1
		for name, handle := range map[string]string{
			"empty": "", "garbage": "not-a-handle", "other queue": h, "tampered": string(tampered),
			"too long": string(make([]byte, 2000)),
		} {
			t.Run(name, func(t *testing.T) {
				wantType(t, e.svc.Delete(ctx(t), q, handle), awserr.SQSReceiptHandleIsInvalid)
				wantType(t, e.svc.ChangeVisibility(ctx(t), q, handle, 0), awserr.SQSReceiptHandleIsInvalid)
			})
		}
		// A handle of a queue that was deleted and created again under the
		// same name is refused.
		name := nameOf(t, other)
		if err := e.svc.DeleteQueue(ctx(t), account, name); err != nil {
			t.Fatal(err)
		}
		again, err := e.svc.CreateQueue(ctx(t), account, name, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantType(t, e.svc.Delete(ctx(t), again.ARN, h), awserr.SQSReceiptHandleIsInvalid)
	})
}

// TestRestartKeepsState: messages, in-flight state, receive counts and
// first-receive times survive closing and reopening the store.
func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			std := e.queue(t, false, nil)
			fifo := e.queue(t, true, nil)
			e.send(t, std, "s")
			e.sendFIFO(t, fifo, "g", "d", "f")
			firsts := map[string]time.Time{}
			handles := map[string]string{}
			for _, q := range []string{std, fifo} {
				m := e.await(t, q, 1, 200*time.Millisecond)[0]
				firsts[q] = m.FirstReceiveTimestamp
				e.await(t, q, 1, 200*time.Millisecond)
				m = e.await(t, q, 1, time.Hour)[0]
				if m.ReceiveCount != 3 {
					t.Fatalf("%s: receive count %d, want 3", q, m.ReceiveCount)
				}
				handles[q] = m.ReceiptHandle
			}
			e.send(t, std, "waiting")
			e.restart()
			// In flight before the restart, in flight after it.
			if got := e.receive(t, fifo, 10, 0); len(got) != 0 {
				t.Errorf("FIFO: in-flight message visible after restart: %v", bodies(got))
			}
			if got := e.receive(t, std, 10, time.Hour); len(got) != 1 || got[0].Body != "waiting" || got[0].ReceiveCount != 1 {
				t.Errorf("standard: after restart received %+v, want only the waiting message", got)
			}
			for _, q := range []string{std, fifo} {
				// Receipt handles outlive the restart.
				if err := e.svc.ChangeVisibility(ctx(t), q, handles[q], 0); err != nil {
					t.Fatalf("%s: ChangeVisibility after restart: %v", q, err)
				}
				m := e.await(t, q, 1, time.Hour)[0]
				if m.ReceiveCount != 4 {
					t.Errorf("%s: receive count %d after restart, want 4", q, m.ReceiveCount)
				}
				if !m.FirstReceiveTimestamp.Equal(firsts[q]) {
					t.Errorf("%s: first receive %v after restart, want %v", q, m.FirstReceiveTimestamp, firsts[q])
				}
			}
		})
	}
}

func TestRedriveAtMaxReceiveCount(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, fifo := range []bool{false, true} {
			t.Run(kind(fifo), func(t *testing.T) {
				t.Parallel()
				dlq := e.queue(t, fifo, nil)
				src := e.queue(t, fifo, map[string]string{
					sqs.AttrRedrivePolicy: `{"deadLetterTargetArn":"` + dlq + `","maxReceiveCount":"2"}`,
				})
				in := sqs.SendInput{Body: "poison", SenderID: "AIDASENDER", Attributes: map[string]sqs.MessageAttribute{
					"k": {DataType: "String", StringValue: "v"},
				}}
				if fifo {
					in.GroupID, in.DeduplicationID = "g", "d"
				}
				sent, err := e.svc.SendMessage(ctx(t), account, nameOf(t, src), in)
				if err != nil {
					t.Fatal(err)
				}
				for i := 1; i <= 2; i++ {
					m := e.await(t, src, 1, 200*time.Millisecond)[0]
					if m.ReceiveCount != i {
						t.Fatalf("receive %d: count %d", i, m.ReceiveCount)
					}
				}
				// The third receive finds the message over its limit and
				// moves it.
				got, err := e.svc.Receive(ctx(t), src, 10, 3*time.Second, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 0 {
					t.Fatalf("received %d times although maxReceiveCount is 2", 3)
				}
				moved := e.await(t, dlq, 1, time.Hour)[0]
				if moved.MessageID != sent.MessageID || moved.Body != "poison" || moved.Attributes["k"].StringValue != "v" ||
					moved.SenderID != "AIDASENDER" || moved.DeadLetterSourceARN != src || moved.ReceiveCount != 1 {
					t.Errorf("dead-lettered message: %+v", moved)
				}
				if fifo && moved.GroupID != "g" {
					t.Errorf("dead-lettered FIFO message lost its group: %q", moved.GroupID)
				}
				attrs := e.attrs(t, src, sqs.AttrApproxMessages, sqs.AttrApproxNotVisible)
				if attrs[sqs.AttrApproxMessages] != "0" || attrs[sqs.AttrApproxNotVisible] != "0" {
					t.Errorf("source queue after the move: %v", attrs)
				}
				sources, _, err := e.svc.ListDeadLetterSourceQueues(ctx(t), account, nameOf(t, dlq), 0, "")
				if err != nil || !slices.Equal(sources, []string{nameOf(t, src)}) {
					t.Errorf("ListDeadLetterSourceQueues = %v, %v", sources, err)
				}
			})
		}
	})
}

func TestDelayedMessages(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		t.Run("per message", func(t *testing.T) {
			t.Parallel()
			q := e.queue(t, false, nil)
			one := 1
			sent, err := e.svc.SendMessage(ctx(t), account, nameOf(t, q), sqs.SendInput{Body: "later", DelaySeconds: &one})
			if err != nil {
				t.Fatal(err)
			}
			m := e.await(t, q, 1, time.Hour)[0]
			if m.Body != "later" || m.MessageID != sent.MessageID || m.ReceiveCount != 1 {
				t.Errorf("delayed message arrived as %+v", m)
			}
			if m.FirstReceiveTimestamp.Sub(m.SentTimestamp) < time.Second {
				t.Errorf("received %v after sending, before its 1 s delay", m.FirstReceiveTimestamp.Sub(m.SentTimestamp))
			}
		})
		t.Run("queue default", func(t *testing.T) {
			t.Parallel()
			q := e.queue(t, false, map[string]string{sqs.AttrDelaySeconds: "900"})
			e.send(t, q, "much later")
			if got := e.receive(t, q, 10, 0); len(got) != 0 {
				t.Errorf("a message delayed 15 minutes was received: %v", bodies(got))
			}
			if n := e.attrs(t, q, sqs.AttrApproxDelayed)[sqs.AttrApproxDelayed]; n != "1" {
				t.Errorf("ApproximateNumberOfMessagesDelayed = %s, want 1", n)
			}
			if err := e.svc.PurgeQueue(ctx(t), account, nameOf(t, q)); err != nil {
				t.Fatal(err)
			}
			if n := e.attrs(t, q, sqs.AttrApproxDelayed)[sqs.AttrApproxDelayed]; n != "0" {
				t.Errorf("ApproximateNumberOfMessagesDelayed after purge = %s, want 0", n)
			}
		})
		t.Run("fifo", func(t *testing.T) {
			t.Parallel()
			q := e.queue(t, true, map[string]string{sqs.AttrDelaySeconds: "1"})
			e.sendFIFO(t, q, "g", "a", "first")
			e.sendFIFO(t, q, "g", "b", "second")
			for _, want := range []string{"first", "second"} {
				m := e.await(t, q, 10, time.Hour)
				if m[0].Body != want {
					t.Fatalf("delayed FIFO messages arrived as %v, want %s first", bodies(m), want)
				}
				if d := m[0].FirstReceiveTimestamp.Sub(m[0].SentTimestamp); d < time.Second {
					t.Errorf("received %v after sending, before the queue's 1 s delay", d)
				}
				for _, r := range m {
					if err := e.svc.Delete(ctx(t), q, r.ReceiptHandle); err != nil {
						t.Fatal(err)
					}
				}
				if len(m) == 2 {
					break
				}
			}
			one := 1
			_, err := e.svc.SendMessage(ctx(t), account, nameOf(t, q), sqs.SendInput{Body: "x", GroupID: "g", DeduplicationID: "c", DelaySeconds: &one})
			wantType(t, err, awserr.InvalidParameterValue)
		})
	})
}

func TestFIFOGroupBlocking(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		q := e.queue(t, true, nil)
		for i, g := range []string{"A", "A", "B", "A", "B"} {
			e.sendFIFO(t, q, g, string(rune('a'+i)), g+string(rune('1'+i)))
		}
		byGroup := func(msgs []sqs.Message) map[string][]string {
			out := map[string][]string{}
			for _, m := range msgs {
				out[m.GroupID] = append(out[m.GroupID], m.Body)
			}
			return out
		}
		all := e.receive(t, q, 10, time.Hour)
		groups := byGroup(all)
		if !slices.Equal(groups["A"], []string{"A1", "A2", "A4"}) || !slices.Equal(groups["B"], []string{"B3", "B5"}) {
			t.Fatalf("received %v, want each group whole and in order", groups)
		}
		handles := map[string]string{}
		for _, m := range all {
			handles[m.Body] = m.ReceiptHandle
		}
		if got := e.receive(t, q, 10, 0); len(got) != 0 {
			t.Fatalf("received %v while every group is in flight", bodies(got))
		}
		for _, b := range []string{"A1", "A2"} {
			if err := e.svc.Delete(ctx(t), q, handles[b]); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.receive(t, q, 10, 0); len(got) != 0 {
			t.Errorf("group A yielded %v while A4 is in flight", bodies(got))
		}
		// B3 visible again, B5 still in flight: group B stays blocked.
		if err := e.svc.ChangeVisibility(ctx(t), q, handles["B3"], 0); err != nil {
			t.Fatal(err)
		}
		if got := e.receive(t, q, 10, 0); len(got) != 0 {
			t.Errorf("group B yielded %v while B5 is in flight", bodies(got))
		}
		if err := e.svc.ChangeVisibility(ctx(t), q, handles["B5"], 0); err != nil {
			t.Fatal(err)
		}
		again := e.receive(t, q, 1, time.Hour)
		if len(again) != 1 || again[0].Body != "B3" || again[0].ReceiveCount != 2 {
			t.Fatalf("after group B reopened received %+v, want B3 (its second receive) first", again)
		}
		if err := e.svc.Delete(ctx(t), q, again[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		next := e.receive(t, q, 10, time.Hour)
		if len(next) != 1 || next[0].Body != "B5" || next[0].ReceiveCount != 2 {
			t.Fatalf("then received %+v, want B5 (its second receive)", next)
		}
		// A4's handle is still the latest for A4.
		if err := e.svc.Delete(ctx(t), q, handles["A4"]); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Delete(ctx(t), q, next[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		attrs := e.attrs(t, q, sqs.AttrApproxMessages, sqs.AttrApproxNotVisible)
		if attrs[sqs.AttrApproxMessages] != "0" || attrs[sqs.AttrApproxNotVisible] != "0" {
			t.Errorf("emptied queue reports %v", attrs)
		}
	})
}

func TestFIFODeduplication(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) { testFIFODeduplication(t, e) })
}

func testFIFODeduplication(t *testing.T, e *env) {
	t.Run("explicit", func(t *testing.T) {
		t.Parallel()
		q := e.queue(t, true, nil)
		a := e.sendFIFO(t, q, "g", "same", "one")
		b := e.sendFIFO(t, q, "g", "same", "two")
		if a.MessageID != b.MessageID || a.SequenceNumber != b.SequenceNumber {
			t.Errorf("duplicate send returned %+v, original %+v", b, a)
		}
		if got := e.receive(t, q, 10, time.Hour); !slices.Equal(bodies(got), []string{"one"}) {
			t.Errorf("received %v, want only the first", bodies(got))
		}
	})
	t.Run("content based", func(t *testing.T) {
		t.Parallel()
		q := e.queue(t, true, map[string]string{sqs.AttrContentBasedDedup: "true"})
		e.sendFIFO(t, q, "g", "", "same body")
		e.sendFIFO(t, q, "h", "", "same body")
		e.sendFIFO(t, q, "g", "", "other body")
		if got := e.receive(t, q, 10, time.Hour); len(got) != 2 {
			t.Errorf("received %v, want the two distinct bodies", bodies(got))
		}
	})
	t.Run("per group", func(t *testing.T) {
		t.Parallel()
		q := e.queue(t, true, map[string]string{sqs.AttrDeduplicationScope: "messageGroup"})
		e.sendFIFO(t, q, "g", "same", "one")
		e.sendFIFO(t, q, "h", "same", "two")
		e.sendFIFO(t, q, "g", "same", "three")
		if got := e.receive(t, q, 10, time.Hour); len(got) != 2 {
			t.Errorf("received %v, want one per group", bodies(got))
		}
	})
	t.Run("required", func(t *testing.T) {
		t.Parallel()
		q := e.queue(t, true, nil)
		_, err := e.svc.SendMessage(ctx(t), account, nameOf(t, q), sqs.SendInput{Body: "x", GroupID: "g"})
		wantType(t, err, awserr.InvalidParameterValue)
		_, err = e.svc.SendMessage(ctx(t), account, nameOf(t, q), sqs.SendInput{Body: "x", DeduplicationID: "d"})
		wantType(t, err, awserr.SQSMissingParameter)
	})
}

func TestPurge(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, fifo := range []bool{false, true} {
			t.Run(kind(fifo), func(t *testing.T) {
				t.Parallel()
				q := e.queue(t, fifo, nil)
				for i := range 3 {
					if fifo {
						e.sendFIFO(t, q, "g"+string(rune('0'+i)), string(rune('a'+i)), "m")
					} else {
						e.send(t, q, "m")
					}
				}
				inFlight := e.receive(t, q, 1, time.Hour)
				if len(inFlight) != 1 {
					t.Fatalf("received %d, want 1", len(inFlight))
				}
				if err := e.svc.PurgeQueue(ctx(t), account, nameOf(t, q)); err != nil {
					t.Fatal(err)
				}
				attrs := e.attrs(t, q, sqs.AttrApproxMessages, sqs.AttrApproxNotVisible)
				if attrs[sqs.AttrApproxMessages] != "0" || attrs[sqs.AttrApproxNotVisible] != "0" {
					t.Errorf("purged queue reports %v", attrs)
				}
				if got := e.receive(t, q, 10, 0); len(got) != 0 {
					t.Errorf("purged messages received: %v", bodies(got))
				}
				if fifo {
					e.sendFIFO(t, q, "g0", "new", "after")
				} else {
					e.send(t, q, "after")
				}
				if got := e.receive(t, q, 10, time.Hour); !slices.Equal(bodies(got), []string{"after"}) {
					t.Errorf("after the purge received %v", bodies(got))
				}
				wantType(t, e.svc.PurgeQueue(ctx(t), account, nameOf(t, q)), awserr.SQSPurgeQueueInProgress)
			})
		}
	})
}

// TestShortPollSeesSentMessage: a short poll right after SendMessage
// returned receives the message. The server acknowledges a publish before
// the queue's consumer has counted it; a receive that trusted that count
// alone missed about one message in two hundred.
func TestShortPollSeesSentMessage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		q := e.queue(t, false, nil)
		for i := range 200 {
			body := strconv.Itoa(i)
			e.send(t, q, body)
			got := e.receive(t, q, 10, 0)
			if !slices.Equal(bodies(got), []string{body}) {
				t.Fatalf("short poll %d after its send received %v", i, bodies(got))
			}
			if err := e.svc.Delete(ctx(t), q, got[0].ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.receive(t, q, 10, 0); len(got) != 0 {
			t.Errorf("empty queue returned %v", bodies(got))
		}
	})
}

// TestLongPollWakesOnSend: a waiting receive returns a message sent while
// it waits (a short poll would return nothing).
func TestLongPollWakesOnSend(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, fifo := range []bool{false, true} {
			t.Run(kind(fifo), func(t *testing.T) {
				t.Parallel()
				q := e.queue(t, fifo, nil)
				done := make(chan []sqs.Message, 1)
				errs := make(chan error, 1)
				started := make(chan struct{})
				go func() {
					close(started)
					msgs, err := e.svc.Receive(ctx(t), q, 10, 20*time.Second, 0)
					errs <- err
					done <- msgs
				}()
				<-started
				time.Sleep(200 * time.Millisecond)
				if fifo {
					e.sendFIFO(t, q, "g", "d", "wake")
				} else {
					e.send(t, q, "wake")
				}
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
				if got := <-done; !slices.Equal(bodies(got), []string{"wake"}) {
					t.Errorf("long poll returned %v", bodies(got))
				}
			})
		}
	})
}

func kind(fifo bool) string {
	if fifo {
		return "fifo"
	}
	return "standard"
}

func (e *env) attrs(t *testing.T, arn string, names ...string) map[string]string {
	t.Helper()
	a, err := e.svc.GetQueueAttributes(ctx(t), account, nameOf(t, arn), names)
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return a
}

// TestInFlightLimit: a standard queue with as many messages in flight as
// its limit refuses receives with OverLimit, short and long polls alike,
// at once; deleting one makes room again.
func TestInFlightLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.limit = 3
		e.restart()
		q := e.queue(t, false, nil)
		for i := 0; i < 5; i++ {
			e.send(t, q, "m"+strconv.Itoa(i))
		}
		var held []sqs.Message
		for len(held) < 3 {
			held = append(held, e.await(t, q, 3-len(held), time.Minute)...)
		}
		_, err := e.svc.Receive(ctx(t), q, 1, 0, time.Minute)
		wantType(t, err, awserr.SQSOverLimit)
		began := time.Now()
		_, err = e.svc.Receive(ctx(t), q, 1, 5*time.Second, time.Minute)
		wantType(t, err, awserr.SQSOverLimit)
		if waited := time.Since(began); waited > 2*time.Second {
			t.Errorf("a long poll at the limit answered after %v, want at once", waited)
		}
		if err := e.svc.Delete(ctx(t), q, held[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		if got := e.await(t, q, 1, time.Minute); len(got) != 1 {
			t.Fatalf("after a delete, received %d messages, want 1", len(got))
		}
	})
}
