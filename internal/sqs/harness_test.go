package sqs_test

// The harness runs the queue service on a real store: the embedded NATS
// server in a temporary directory, or an external JetStream server the
// test starts itself and reaches over TCP. Nothing is mocked.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/sqs"
	"github.com/cloister/cloister/internal/store"
)

const (
	region  = "us-east-1"
	account = "123456789012"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// env is one running queue service.
type env struct {
	t       testing.TB
	cfg     store.Config
	ns      *server.Server // external backend only
	nsOpts  *server.Options
	st      *store.Store
	svc     *sqs.Service
	cancel  context.CancelFunc
	stopped bool
	limit   int // sqs.Config.InFlightLimit, 0 for SQS's
}

// backend names a store kind.
type backend string

const (
	embedded backend = "embedded"
	external backend = "external"
)

var backends = []backend{embedded, external}

// forEachBackend runs f as a parallel subtest per backend, each with its
// own service.
func forEachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, b))
		})
	}
}

func newEnv(t testing.TB, b backend) *env {
	t.Helper()
	e := &env{t: t}
	switch b {
	case embedded:
		e.cfg = store.Config{DataDir: t.TempDir()}
	case external:
		e.nsOpts = &server.Options{
			Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
			StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		}
		e.startNATS()
		e.cfg = store.Config{URL: e.ns.ClientURL()}
	}
	e.start()
	t.Cleanup(func() {
		e.stop()
		if e.ns != nil {
			e.ns.Shutdown()
			e.ns.WaitForShutdown()
		}
	})
	return e
}

func (e *env) startNATS() {
	e.t.Helper()
	ns, err := server.NewServer(e.nsOpts)
	if err != nil {
		e.t.Fatalf("nats server: %v", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		e.t.Fatal("nats server did not become ready")
	}
	e.ns = ns
	// Restarts must find the server at the same address.
	e.nsOpts.Port = ns.Addr().(*net.TCPAddr).Port
}

func (e *env) start() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, e.cfg)
	if err != nil {
		e.t.Fatalf("store.Open: %v", err)
	}
	svc, err := sqs.Open(ctx, st, sqs.Config{Region: region, ReceiptKey: testKey, InFlightLimit: e.limit})
	if err != nil {
		st.Close()
		e.t.Fatalf("sqs.Open: %v", err)
	}
	workers, stop := context.WithCancel(context.Background())
	if err := svc.Start(workers); err != nil {
		stop()
		st.Close()
		e.t.Fatalf("Start: %v", err)
	}
	e.st, e.svc, e.cancel, e.stopped = st, svc, stop, false
}

func (e *env) stop() {
	if e.stopped {
		return
	}
	e.stopped = true
	e.cancel()
	e.svc.Close()
	if err := e.st.Close(); err != nil {
		e.t.Errorf("store Close: %v", err)
	}
}

// restart stops the service and its store (and an external server) and
// starts them again on the same state.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	if e.ns != nil {
		e.ns.Shutdown()
		e.ns.WaitForShutdown()
		e.startNATS()
	}
	e.start()
}

var queueSeq atomic.Int64

// queue creates a queue with a unique name (suffix ".fifo" for FIFO) and
// returns its ARN.
func (e *env) queue(t *testing.T, fifo bool, attrs map[string]string) string {
	t.Helper()
	name := fmt.Sprintf("q%d", queueSeq.Add(1))
	if fifo {
		name += ".fifo"
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs[sqs.AttrFifoQueue] = "true"
	}
	q, err := e.svc.CreateQueue(ctx(t), account, name, attrs, nil)
	if err != nil {
		t.Fatalf("CreateQueue(%s): %v", name, err)
	}
	return q.ARN
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func nameOf(t testing.TB, arn string) string {
	t.Helper()
	_, _, name, err := sqs.ParseARN(arn)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func (e *env) send(t *testing.T, arn, body string) sqs.SendResult {
	t.Helper()
	r, err := e.svc.Send(ctx(t), arn, body, nil)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return r
}

func (e *env) sendFIFO(t *testing.T, arn, group, dedup, body string) sqs.SendResult {
	t.Helper()
	r, err := e.svc.SendMessage(ctx(t), account, nameOf(t, arn), sqs.SendInput{Body: body, GroupID: group, DeduplicationID: dedup})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return r
}

// receive receives without waiting.
func (e *env) receive(t *testing.T, arn string, n int, vis time.Duration) []sqs.Message {
	t.Helper()
	msgs, err := e.svc.Receive(ctx(t), arn, n, 0, vis)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return msgs
}

// await long-polls (repeatedly, up to 20 s in all) until a receive returns
// messages, and fails the test if none come.
func (e *env) await(t *testing.T, arn string, n int, vis time.Duration) []sqs.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := e.svc.Receive(ctx(t), arn, n, 5*time.Second, vis)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(msgs) > 0 {
			return msgs
		}
	}
	t.Fatalf("no message arrived on %s", arn)
	return nil
}

func bodies(msgs []sqs.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	return out
}

// wantType fails unless err is an *awserr.Error of type typ.
func wantType(t *testing.T, err error, typ awserr.Type) {
	t.Helper()
	var ae *awserr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v, want %s", err, typ)
	}
	if ae.Type != typ {
		t.Fatalf("error type %s (%s), want %s", ae.Type, ae.Message, typ)
	}
}

// peer starts a second queue service on the same external server, as a
// second Cloister server sharing a NATS cluster would run.
func (e *env) peer(t *testing.T) *env {
	t.Helper()
	if e.ns == nil {
		t.Fatal("peer needs the external backend")
	}
	p := &env{t: t, cfg: e.cfg}
	p.start()
	t.Cleanup(p.stop)
	return p
}
