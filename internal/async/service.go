package async

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/sqs"
	"github.com/cloister/cloister/internal/store"
)

// Limits, as Lambda has them.
const (
	// MaxPayload is the largest payload of an asynchronous invocation.
	MaxPayload = 1048576
	// MaxDepth is how many invocations a chain of invocations that cause
	// each other (a function destination, a function calling Invoke) may
	// run before it is stopped as a recursive loop.
	MaxDepth = 16
)

// Names of what the service keeps in the store.
const (
	eventsStream       = "LAMBDA_ASYNC"
	eventsSubject      = "cloister.async.events." // + ACCOUNT
	dispatcherName     = "dispatch"
	undeliveredStream  = "LAMBDA_ASYNC_UNDELIVERED"
	undeliveredSubject = "cloister.async.undelivered." // + ACCOUNT
	payloadObjects     = "lambda_async_payloads"
)

const (
	// maxInline is the largest payload kept in the event record itself;
	// larger ones go to the object store, so that every message stays
	// well under an external cluster's default 1 MiB limit.
	maxInline = 512 << 10
	// dedupWindow is how long JetStream remembers message ids: a retry or
	// destination event published twice (a crash between publishing it
	// and acknowledging its cause) is stored once.
	dedupWindow = 10 * time.Minute
	// undeliveredRetention is how long records of undeliverable outcomes
	// are kept for operators.
	undeliveredRetention = 14 * 24 * time.Hour
	// undeliveredMaxBytes bounds that stream; the oldest records go first.
	undeliveredMaxBytes = 1 << 30
	// fetchWait bounds one pull request.
	fetchWait = 5 * time.Second
)

// DataPlane runs synchronous invocations (package invoke).
type DataPlane interface {
	Invoke(ctx context.Context, req *api.InvokeRequest) (*api.InvokeResult, error)
}

// Config configures a Service.
type Config struct {
	Region    string
	Functions *functions.Service
	DataPlane DataPlane
	// Queues delivers to SQS destinations and dead-letter queues; without
	// it those deliveries fail (and are recorded as undelivered).
	Queues *sqs.Service
	// AuthorizeRole decides whether a function's execution role may call
	// an action on a resource (cmd wires it to iam.Service.AuthorizeRole;
	// it returns an AccessDeniedException error to deny). Outcomes go to a
	// destination or dead-letter queue only when the role of the function
	// the event invoked may send to it (sqs:SendMessage) or invoke it
	// (lambda:InvokeFunction), as in Lambda.
	AuthorizeRole func(ctx context.Context, roleARN, sessionName, action, resource, resourceAccount string,
		resourcePolicy func(context.Context) (*policy.Policy, error)) error
	// Workers bounds the invocations the dispatcher runs at once
	// (default 32).
	Workers int
	// AckWait is how long an event taken by a dispatcher that stopped
	// sending heartbeats (it crashed) waits before another takes it
	// (default 30 s; heartbeats go every third of it).
	AckWait time.Duration
	// RetryDelays are the waits before the retries of a function error:
	// the first, the second, ... (the last repeats); default 1 and 2
	// minutes, as Lambda.
	RetryDelays []time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff of retries
	// after throttles and internal errors (default 1 s and 5 minutes, as
	// Lambda).
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock (tests); time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service queues asynchronous invocations and runs them. It is also the
// API's Invoker: synchronous invocations pass through to the data plane.
type Service struct {
	cfg         Config
	log         *slog.Logger
	js          jetstream.JetStream
	events      jetstream.Stream
	dispatcher  jetstream.Consumer
	undelivered jetstream.Stream
	payloads    *store.Objects

	started   atomic.Bool
	stopping  atomic.Bool
	stopFetch context.CancelFunc
	stopAll   context.CancelFunc
	slots     chan struct{}
	fetching  sync.WaitGroup // the fetch loop, which starts invocations
	running   sync.WaitGroup // invocations
	loops     sync.WaitGroup // heartbeat and collection loops
	closeOnce sync.Once

	mu       sync.Mutex
	inflight map[jetstream.Msg]struct{} // messages being worked on: heartbeats
}

// Open creates (or opens) the event stream, its dispatcher consumer, the
// stream of undeliverable outcomes and the payload store. Start runs the
// dispatcher; Enqueue works as soon as Open returns.
func Open(ctx context.Context, st *store.Store, cfg Config) (*Service, error) {
	if cfg.Region == "" || cfg.Functions == nil || cfg.DataPlane == nil || cfg.AuthorizeRole == nil {
		return nil, errors.New("async: region, functions, data plane and role authorization are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if len(cfg.RetryDelays) == 0 {
		cfg.RetryDelays = []time.Duration{time.Minute, 2 * time.Minute}
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Minute, cfg.MinBackoff)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "async"),
		js:       st.JetStream(),
		slots:    make(chan struct{}, cfg.Workers),
		inflight: map[jetstream.Msg]struct{}{},
	}
	var err error
	s.events, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        eventsStream,
		Description: "Cloister: asynchronous Lambda invocations waiting to run",
		Subjects:    []string{eventsSubject + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		// No age or size limit: an event leaves only when it has been
		// processed or dead-lettered. A full disk refuses new events
		// (the client is told) instead of dropping old ones.
		Discard:    jetstream.DiscardNew,
		Storage:    jetstream.FileStorage,
		Replicas:   st.Replicas(),
		Duplicates: dedupWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("async: event stream: %w", err)
	}
	s.dispatcher, err = s.events.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       dispatcherName,
		Description:   "Cloister: the dispatchers of asynchronous invocations",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 1 << 20, // delayed retries wait as pending messages
	})
	if err != nil {
		return nil, fmt.Errorf("async: dispatcher consumer: %w", err)
	}
	s.undelivered, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        undeliveredStream,
		Description: "Cloister: outcomes of asynchronous invocations that could not be delivered, for operators",
		Subjects:    []string{undeliveredSubject + ">"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      undeliveredRetention,
		MaxBytes:    undeliveredMaxBytes,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    st.Replicas(),
		Duplicates:  dedupWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("async: undelivered stream: %w", err)
	}
	if s.payloads, err = st.Objects(ctx, payloadObjects); err != nil {
		return nil, fmt.Errorf("async: %w", err)
	}
	return s, nil
}

// Start runs the dispatcher until Close: a fetch loop taking events as
// workers free up, a heartbeat for the events being worked on, and the
// collector of spilled payloads nothing refers to any more.
func (s *Service) Start(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("async: already started")
	}
	all, stopAll := context.WithCancel(ctx)
	fetch, stopFetch := context.WithCancel(all)
	s.stopAll, s.stopFetch = stopAll, stopFetch
	s.fetching.Add(1)
	go func() {
		defer s.fetching.Done()
		s.fetchLoop(fetch, all)
	}()
	s.loops.Add(2)
	go func() {
		defer s.loops.Done()
		s.heartbeatLoop(all)
	}()
	go func() {
		defer s.loops.Done()
		s.collectLoop(all)
	}()
	return nil
}

// Stop makes the dispatcher take no more events, and hands back to the
// queue, without counting an attempt, every event whose invocation fails
// from now on: the data plane is about to be shut down, which ends running
// invocations with errors that are not the function's. It does not wait.
func (s *Service) Stop() {
	s.stopping.Store(true)
	if s.stopFetch != nil {
		s.stopFetch()
	}
}

// Close stops the dispatcher and waits for its invocations to end and its
// goroutines to exit. Call Stop, then close the data plane (which ends the
// invocations), then Close. It may be called more than once.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		s.Stop()
		s.fetching.Wait()
		s.running.Wait()
		if s.stopAll != nil {
			s.stopAll()
		}
		s.loops.Wait()
	})
}

// Invoke runs a synchronous invocation on the data plane.
func (s *Service) Invoke(ctx context.Context, req *api.InvokeRequest) (*api.InvokeResult, error) {
	return s.cfg.DataPlane.Invoke(ctx, req)
}

// Enqueue durably queues an asynchronous invocation of req.Function. It
// returns once the event is stored (after the store's fsync, or its
// replication on a cluster): an accepted event is never lost.
func (s *Service) Enqueue(ctx context.Context, req *api.InvokeRequest) error {
	fn := req.Function
	if fn == nil {
		return errors.New("async: enqueue: no function")
	}
	if len(req.Payload) > MaxPayload {
		return awserr.New(awserr.RequestEntityTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", MaxPayload)
	}
	if len(req.ClientContext) > maxClientCtx {
		return awserr.New(awserr.InvalidRequestContent, "Client context must be smaller than 3583 bytes.")
	}
	id := req.RequestID
	if id == "" {
		id = newRequestID()
	}
	q := fn.Alias
	if q == "" {
		q = fn.Config.Version
	}
	if q == "" {
		q = functions.LatestVersion
	}
	ev := &event{
		ID: id, Account: arn.Account(fn.Config.FunctionArn), Function: fn.Config.FunctionName, Qualifier: q,
		Incarnation: fn.Incarnation, ClientContext: req.ClientContext, Enqueued: s.now(),
		Depth: max(req.Depth, 0), Payload: req.Payload,
	}
	if ev.Account == "" || ev.Function == "" {
		return fmt.Errorf("async: enqueue: function %q has no account", fn.Config.FunctionArn)
	}
	return s.publishNew(ctx, ev, id)
}

// publishNew stores a new event, spilling a large payload first. The
// message id makes a second publish of the same event a no-op.
func (s *Service) publishNew(ctx context.Context, ev *event, msgID string) error {
	spilled := ""
	if len(ev.Payload) > maxInline {
		spilled = "payload/" + newRequestID()
		if err := s.payloads.Put(ctx, spilled, bytes.NewReader(ev.Payload)); err != nil {
			return fmt.Errorf("async: spill payload: %w", err)
		}
		ev.PayloadObject, ev.PayloadSize, ev.Payload = spilled, len(ev.Payload), nil
	}
	if err := s.publish(ctx, ev, msgID); err != nil {
		if spilled != "" {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if derr := s.payloads.Delete(dctx, spilled); derr != nil {
				s.log.Warn("delete spilled payload of a failed enqueue", "request_id", ev.ID, "err", derr)
			}
			cancel()
		}
		return err
	}
	return nil
}

// publish stores an event record and waits for the store's
// acknowledgement.
func (s *Service) publish(ctx context.Context, ev *event, msgID string) error {
	msg := &nats.Msg{Subject: eventsSubject + ev.Account, Data: ev.marshal()}
	if _, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID), jetstream.WithExpectStream(eventsStream)); err != nil {
		return fmt.Errorf("async: publish event %s: %w", ev.ID, err)
	}
	return nil
}

// payload returns an event's payload, reading it from the object store
// when it was spilled.
func (s *Service) payload(ctx context.Context, ev *event) ([]byte, error) {
	if ev.PayloadObject == "" {
		return ev.Payload, nil
	}
	b, err := s.payloads.Get(ctx, ev.PayloadObject)
	if err != nil {
		return nil, err
	}
	if len(b) != ev.PayloadSize {
		return nil, fmt.Errorf("async: payload %s has %d bytes, want %d", ev.PayloadObject, len(b), ev.PayloadSize)
	}
	return b, nil
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// collectLoop deletes, hourly, stored payloads and undelivered bodies older
// than any record that may refer to them: leftovers of crashes between
// finishing an event and deleting its payload.
func (s *Service) collectLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.collect(ctx, undeliveredRetention+24*time.Hour); err != nil && ctx.Err() == nil {
			s.log.Warn("collect stored payloads", "err", err)
		}
	}
}

func (s *Service) collect(ctx context.Context, olderThan time.Duration) error {
	infos, err := s.payloads.List(ctx)
	if err != nil {
		return err
	}
	cutoff := time.Now().Add(-olderThan)
	for _, i := range infos {
		if i.ModTime.Before(cutoff) {
			if err := s.payloads.Delete(ctx, i.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// newRequestID returns a random UUID (version 4), Lambda's request id
// format.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
