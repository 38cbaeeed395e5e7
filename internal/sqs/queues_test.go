package sqs_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/sqs"
)

// TestQueueDefaults: a receive without its own timeouts takes the queue's
// VisibilityTimeout (0 included) and ReceiveMessageWaitTimeSeconds, and
// changing them applies to later receives.
func TestQueueDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, embedded)
	q := e.queue(t, false, map[string]string{sqs.AttrVisibilityTimeout: "0", sqs.AttrReceiveWaitTime: "20"})
	name := nameOf(t, q)
	done := make(chan []sqs.Message, 1)
	go func() {
		msgs, err := e.svc.ReceiveMessage(ctx(t), account, name, sqs.ReceiveInput{})
		if err != nil {
			t.Error(err)
		}
		done <- msgs
	}()
	time.Sleep(200 * time.Millisecond)
	e.send(t, q, "m")
	if got := <-done; len(got) != 1 || got[0].ReceiveCount != 1 {
		t.Fatalf("a receive waiting by the queue's default got %+v", got)
	}
	// Visibility 0: visible again at once.
	zero := time.Duration(0)
	got, err := e.svc.ReceiveMessage(ctx(t), account, name, sqs.ReceiveInput{WaitTime: &zero})
	if err != nil || len(got) != 1 || got[0].ReceiveCount != 2 {
		t.Fatalf("with a zero visibility timeout the next receive got %+v, %v", got, err)
	}
	if err := e.svc.SetQueueAttributes(ctx(t), account, name, map[string]string{sqs.AttrVisibilityTimeout: "3600"}); err != nil {
		t.Fatal(err)
	}
	if got, err = e.svc.ReceiveMessage(ctx(t), account, name, sqs.ReceiveInput{WaitTime: &zero}); err != nil || len(got) != 1 {
		t.Fatalf("receive after the change: %+v, %v", got, err)
	}
	if got, err = e.svc.ReceiveMessage(ctx(t), account, name, sqs.ReceiveInput{WaitTime: &zero}); err != nil || len(got) != 0 {
		t.Errorf("message visible again under a one-hour timeout: %+v, %v", got, err)
	}
}

// TestQueueLifecycle covers creating (idempotently), finding, listing and
// deleting queues through the Go API.
func TestQueueLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, embedded)
	c := ctx(t)
	attrs := map[string]string{sqs.AttrVisibilityTimeout: "10"}
	q, err := e.svc.CreateQueue(c, account, "life", attrs, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if q.ARN != "arn:aws:sqs:"+region+":"+account+":life" || q.VisibilityTimeout != 10*time.Second || q.FIFO {
		t.Errorf("CreateQueue = %+v", q)
	}
	if again, err := e.svc.CreateQueue(c, account, "life", attrs, nil); err != nil || again.ARN != q.ARN {
		t.Errorf("idempotent CreateQueue = %+v, %v", again, err)
	}
	_, err = e.svc.CreateQueue(c, account, "life", map[string]string{sqs.AttrDelaySeconds: "5"}, nil)
	wantType(t, err, awserr.SQSQueueNameExists)
	got, err := e.svc.Queue(c, q.ARN)
	if err != nil || got.Name != "life" {
		t.Errorf("Queue(%s) = %+v, %v", q.ARN, got, err)
	}
	_, err = e.svc.Queue(c, "arn:aws:sqs:eu-west-1:"+account+":life")
	wantType(t, err, awserr.SQSQueueDoesNotExist)
	_, err = e.svc.Queue(c, "not an arn")
	wantType(t, err, awserr.SQSQueueDoesNotExist)
	names, next, err := e.svc.ListQueues(c, account, "li", 0, "")
	if err != nil || !slices.Equal(names, []string{"life"}) || next != "" {
		t.Errorf("ListQueues = %v %q %v", names, next, err)
	}
	if names, _, _ := e.svc.ListQueues(c, "210987654321", "", 0, ""); len(names) != 0 {
		t.Errorf("another account lists %v", names)
	}
	if err := e.svc.DeleteQueue(c, account, "life"); err != nil {
		t.Fatal(err)
	}
	wantType(t, e.svc.DeleteQueue(c, account, "life"), awserr.SQSQueueDoesNotExist)
	_, err = e.svc.Send(c, q.ARN, "x", nil)
	wantType(t, err, awserr.SQSQueueDoesNotExist)
	_, err = e.svc.Receive(c, q.ARN, 1, 0, 0)
	wantType(t, err, awserr.SQSQueueDoesNotExist)
}

// TestQueuePolicy: the Policy attribute is validated as a resource-based
// policy and handed to the authorizer parsed.
func TestQueuePolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, embedded)
	c := ctx(t)
	q := e.queue(t, false, nil)
	if p, err := e.svc.QueuePolicy(c, q); err != nil || p != nil {
		t.Fatalf("QueuePolicy of a queue without one = %v, %v", p, err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},` +
		`"Action":"sqs:SendMessage","Resource":"` + q + `"}]}`
	if err := e.svc.SetQueueAttributes(c, account, nameOf(t, q), map[string]string{sqs.AttrPolicy: doc}); err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.QueuePolicy(c, q)
	if err != nil || p == nil || p.Len() != 1 {
		t.Fatalf("QueuePolicy = %v, %v", p, err)
	}
	if got := e.attrs(t, q, sqs.AttrPolicy)[sqs.AttrPolicy]; got != doc {
		t.Errorf("Policy attribute = %s", got)
	}
	// An identity policy (no Principal) is not a queue policy.
	bad := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}`
	err = e.svc.SetQueueAttributes(c, account, nameOf(t, q), map[string]string{sqs.AttrPolicy: bad})
	wantType(t, err, awserr.SQSInvalidAttributeValue)
	if err := e.svc.SetQueueAttributes(c, account, nameOf(t, q), map[string]string{sqs.AttrPolicy: ""}); err != nil {
		t.Fatal(err)
	}
	if p, err := e.svc.QueuePolicy(c, q); err != nil || p != nil {
		t.Errorf("QueuePolicy after removing it = %v, %v", p, err)
	}
	_, err = e.svc.QueuePolicy(c, "arn:aws:sqs:"+region+":"+account+":missing")
	wantType(t, err, awserr.SQSQueueDoesNotExist)
}

// TestSentinels: Go callers can tell a missing queue and a bad receipt
// handle apart with errors.Is.
func TestSentinels(t *testing.T) {
	t.Parallel()
	e := newEnv(t, embedded)
	q := e.queue(t, false, nil)
	_, err := e.svc.Send(ctx(t), "arn:aws:sqs:"+region+":"+account+":nope", "x", nil)
	if !errors.Is(err, sqs.ErrQueueNotFound) {
		t.Errorf("Send to a missing queue: %v", err)
	}
	if _, err := e.svc.Queue(ctx(t), "garbage"); !errors.Is(err, sqs.ErrQueueNotFound) {
		t.Errorf("Queue(garbage): %v", err)
	}
	if err := e.svc.Delete(ctx(t), q, "forged"); !errors.Is(err, sqs.ErrInvalidReceipt) {
		t.Errorf("Delete(forged): %v", err)
	}
}
