package sqs_test

import (
	"testing"
	"time"

	"github.com/cloister/cloister/internal/awserr"
)

// TestReceiveOnDeletedQueue deletes a queue under a long poll, on the
// server that runs it and on another sharing the cluster: the receive ends
// with QueueDoesNotExist, as every later operation on the queue does, not
// with the store's error about the stream or consumer it lost.
func TestReceiveOnDeletedQueue(t *testing.T) {
	t.Parallel()
	a := newEnv(t, external)
	b := a.peer(t)
	for _, tc := range []struct {
		name     string
		fifo     bool
		receiver *env
	}{
		{"standard, same server", false, a},
		{"standard, another server", false, b},
		{"fifo, same server", true, a},
		{"fifo, another server", true, b},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := a.queue(t, tc.fifo, nil)
			// A first receive makes the receiver hold the queue's stream
			// and consumer.
			if _, err := tc.receiver.svc.Receive(ctx(t), q, 1, 0, 0); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := tc.receiver.svc.Receive(ctx(t), q, 10, 20*time.Second, 0)
				done <- err
			}()
			// Give the long poll time to start waiting; if it has not, it
			// finds the queue gone, which is the same answer.
			time.Sleep(300 * time.Millisecond)
			if err := a.svc.DeleteQueue(ctx(t), account, nameOf(t, q)); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				wantType(t, err, awserr.SQSQueueDoesNotExist)
			case <-time.After(30 * time.Second):
				t.Fatal("the long poll did not end")
			}
			for _, e := range []*env{a, b} {
				_, err := e.svc.Receive(ctx(t), q, 1, 0, 0)
				wantType(t, err, awserr.SQSQueueDoesNotExist)
			}
		})
	}
}
