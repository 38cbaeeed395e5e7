package sqs_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/sqs"
)

// TestTwoServers runs two services on one external JetStream server, as
// two Cloister servers sharing a cluster do: every queue, message, receipt
// handle and wake-up is shared through JetStream, none held by one server.
func TestTwoServers(t *testing.T) {
	t.Parallel()
	a := newEnv(t, external)
	b := a.peer(t)

	t.Run("standard", func(t *testing.T) {
		t.Parallel()
		q := a.queue(t, false, nil)
		sent := a.send(t, q, "across")
		m := b.await(t, q, 1, time.Hour)[0]
		if m.MessageID != sent.MessageID {
			t.Fatalf("B received %+v", m)
		}
		// B's receipt handle works on A.
		if err := a.svc.Delete(ctx(t), q, m.ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		if n := b.attrs(t, q, sqs.AttrApproxNotVisible)[sqs.AttrApproxNotVisible]; n != "0" {
			t.Errorf("B sees %s in flight after A deleted the message", n)
		}
	})
	t.Run("delayed once", func(t *testing.T) {
		t.Parallel()
		// Both servers run the delay mover; the message arrives once.
		q := a.queue(t, false, map[string]string{sqs.AttrDelaySeconds: "1"})
		a.send(t, q, "delayed")
		m := b.await(t, q, 10, time.Hour)
		if len(m) != 1 || m[0].ReceiveCount != 1 {
			t.Fatalf("received %+v", m)
		}
		got, err := a.svc.Receive(ctx(t), q, 10, 2*time.Second, 0)
		if err != nil || len(got) != 0 {
			t.Errorf("a second copy arrived: %v, %v", bodies(got), err)
		}
	})
	t.Run("fifo wake-up", func(t *testing.T) {
		t.Parallel()
		q := a.queue(t, true, nil)
		a.sendFIFO(t, q, "g", "1", "first")
		held := a.await(t, q, 1, time.Hour)[0]
		// B waits on the blocked group; A's delete must wake it.
		done := make(chan []sqs.Message, 1)
		go func() {
			msgs, _ := b.svc.Receive(ctx(t), q, 10, 20*time.Second, time.Hour)
			done <- msgs
		}()
		a.sendFIFO(t, q, "g", "2", "second")
		time.Sleep(200 * time.Millisecond)
		if err := a.svc.Delete(ctx(t), q, held.ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		if got := <-done; !slices.Equal(bodies(got), []string{"second"}) {
			t.Errorf("B's long poll returned %v", bodies(got))
		}
	})
}
