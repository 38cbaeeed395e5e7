package sqs

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/store"
)

// Names of what the service keeps in the store.
const (
	queuesBucket = "sqs_queues"      // queue records, key ACCOUNT.NAME
	groupsBucket = "sqs_fifo_groups" // FIFO group state, key QUEUEID.GROUPKEY
	firstBucket  = "sqs_first_receive"
	delayStream  = "SQS_DELAY"
	moverName    = "mover"
	recvName     = "recv"
	streamPrefix = "SQS_"

	subjectRoot  = "cloister.sqs."      // + QUEUEID + ".m" | ".g.GROUPKEY"
	delaySubject = "cloister.sqsdelay." // + QUEUEID
	noteSubject  = "cloister.sqsnote."  // + QUEUEID (core NATS wake-ups)
)

// stateTTL bounds how long FIFO group state and first-receive records
// outlive their last update: longer than any message can live.
const stateTTL = 15 * 24 * time.Hour

// Config configures a Service.
type Config struct {
	// Region is the region queue ARNs name.
	Region string
	// ReceiptKey seals receipt handles. Every server sharing a store must
	// use the same key (at least 32 random bytes, kept in the store's meta
	// bucket), or handles from one are refused by another.
	ReceiptKey []byte
	// InFlightLimit is the most messages a standard queue may have in
	// flight (received and neither deleted nor visible again); a receive
	// that finds the queue at it fails with OverLimit. 0 means SQS's
	// 120,000. It is applied to a queue when the queue is created or its
	// visibility timeout changes.
	InFlightLimit int
	Logger        *slog.Logger
}

// sqsInFlightLimit is SQS's in-flight limit for standard queues.
const sqsInFlightLimit = 120000

// Service is Cloister's SQS-compatible queue service.
type Service struct {
	cfg    Config
	log    *slog.Logger
	js     jetstream.JetStream
	nc     *nats.Conn
	repl   int
	queues *store.Bucket
	groups jetstream.KeyValue
	first  jetstream.KeyValue
	delay  jetstream.Stream
	seal   *sealer
	seen   *firstSeen

	mu      sync.Mutex
	mirror  *store.Mirror
	runtime map[string]*queueRuntime // by queue id

	wg        sync.WaitGroup
	stop      context.CancelFunc
	moving    jetstream.ConsumeContext
	closeOnce sync.Once
}

// queueRuntime caches a queue's JetStream handles.
type queueRuntime struct {
	stream jetstream.Stream
	cons   jetstream.Consumer // standard queues
}

// Open opens (creating on first use) the buckets and streams the service
// needs. Start runs its background work.
func Open(ctx context.Context, st *store.Store, cfg Config) (*Service, error) {
	if cfg.Region == "" {
		return nil, errors.New("sqs: region is required")
	}
	seal, err := newSealer(cfg.ReceiptKey)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.InFlightLimit <= 0 {
		cfg.InFlightLimit = sqsInFlightLimit
	}
	js := st.JetStream()
	s := &Service{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "sqs"),
		js:      js,
		nc:      js.Conn(),
		repl:    st.Replicas(),
		seal:    seal,
		seen:    newFirstSeen(1 << 16),
		runtime: map[string]*queueRuntime{},
	}
	if s.queues, err = st.Bucket(ctx, queuesBucket); err != nil {
		return nil, err
	}
	if s.groups, err = s.stateBucket(ctx, groupsBucket); err != nil {
		return nil, err
	}
	if s.first, err = s.stateBucket(ctx, firstBucket); err != nil {
		return nil, err
	}
	s.delay, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        delayStream,
		Description: "Cloister SQS: delayed messages waiting to move to their queue",
		Subjects:    []string{delaySubject + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		MaxAge:      stateTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    s.repl,
		Duplicates:  2 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("sqs: delay stream: %w", err)
	}
	if _, err := s.delay.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       moverName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 1 << 20,
	}); err != nil {
		return nil, fmt.Errorf("sqs: delay consumer: %w", err)
	}
	return s, nil
}

func (s *Service) stateBucket(ctx context.Context, name string) (jetstream.KeyValue, error) {
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   name,
		History:  1,
		TTL:      stateTTL,
		Storage:  jetstream.FileStorage,
		Replicas: s.repl,
	})
	if err != nil {
		return nil, fmt.Errorf("sqs: bucket %s: %w", name, err)
	}
	return kv, nil
}

// Start runs the background work until ctx ends or Close is called: the
// in-memory mirror of queue records, the mover of delayed messages, and the
// collector of streams whose queue record is gone.
func (s *Service) Start(ctx context.Context) error {
	ctx, s.stop = context.WithCancel(ctx)
	m, err := s.queues.Mirror(ctx)
	if err != nil {
		s.stop()
		return err
	}
	s.mu.Lock()
	s.mirror = m
	s.mu.Unlock()
	if err := s.startMover(ctx); err != nil {
		s.stop()
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.collectLoop(ctx)
	}()
	return nil
}

// Close stops the background work and waits for it. It may be called more
// than once.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		if s.moving != nil {
			s.moving.Drain()
			<-s.moving.Closed()
		}
		s.wg.Wait()
	})
}

// Region is the region the service serves.
func (s *Service) Region() string { return s.cfg.Region }

// newID returns a fresh random queue incarnation id: 26 lower-case base32
// characters, usable in stream names, subjects and bucket keys.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func streamName(id string) string     { return streamPrefix + id }
func messageSubject(id string) string { return subjectRoot + id + ".m" }
func groupSubject(id, gk string) string {
	return subjectRoot + id + ".g." + gk
}

// handles returns the queue's cached JetStream handles, looking them up on
// first use.
func (s *Service) handles(ctx context.Context, rec *queueRecord) (*queueRuntime, error) {
	s.mu.Lock()
	rt, ok := s.runtime[rec.ID]
	s.mu.Unlock()
	if ok {
		return rt, nil
	}
	str, err := s.js.Stream(ctx, streamName(rec.ID))
	if err != nil {
		return nil, s.streamErr(err)
	}
	rt = &queueRuntime{stream: str}
	if !rec.FIFO {
		if rt.cons, err = str.Consumer(ctx, recvName); err != nil {
			return nil, s.streamErr(err)
		}
	}
	s.mu.Lock()
	s.runtime[rec.ID] = rt
	s.mu.Unlock()
	return rt, nil
}

// forget drops a queue's cached handles.
func (s *Service) forget(id string) {
	s.mu.Lock()
	delete(s.runtime, id)
	s.mu.Unlock()
}

// streamErr maps a missing stream or consumer (the queue was deleted under
// us, perhaps by another server, while a receive waited on it) to
// QueueDoesNotExist.
func (s *Service) streamErr(err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerDoesNotExist) ||
		errors.Is(err, nats.ErrNoResponders) {
		return queueNotFound()
	}
	return fmt.Errorf("sqs: %w", err)
}

// notify wakes long polls waiting on the queue (FIFO), on every server.
func (s *Service) notify(id string) {
	_ = s.nc.Publish(noteSubject+id, nil)
}

// collectLoop deletes, at start and then hourly, queue streams that no
// queue record names: leftovers of a crash between creating a stream and
// recording its queue, or between deleting a record and its stream.
func (s *Service) collectLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := s.collect(ctx, 10*time.Minute); err != nil && ctx.Err() == nil {
			s.log.Warn("collect orphaned queue streams", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// collect deletes queue streams older than grace that no queue record
// names.
func (s *Service) collect(ctx context.Context, grace time.Duration) error {
	keys, err := s.queues.Keys(ctx, "")
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, k := range keys {
		var rec queueRecord
		if _, err := s.queues.GetJSON(ctx, k, &rec); err == nil {
			live[rec.ID] = true
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	lister := s.js.ListStreams(ctx, jetstream.WithStreamListSubject(subjectRoot+">"))
	var orphans []string
	for info := range lister.Info() {
		name := info.Config.Name
		id, ok := strings.CutPrefix(name, streamPrefix)
		if !ok || name == delayStream || live[id] || time.Since(info.Created) < grace {
			continue
		}
		orphans = append(orphans, id)
	}
	if err := lister.Err(); err != nil {
		return err
	}
	for _, id := range orphans {
		// Re-check: the queue may have been recorded since the listing.
		if s.idLive(ctx, id) {
			continue
		}
		s.log.Info("deleting orphaned queue stream", "stream", streamName(id))
		s.dropQueueData(ctx, id)
	}
	return nil
}

func (s *Service) idLive(ctx context.Context, id string) bool {
	keys, err := s.queues.Keys(ctx, "")
	if err != nil {
		return true
	}
	for _, k := range keys {
		var rec queueRecord
		if _, err := s.queues.GetJSON(ctx, k, &rec); err == nil && rec.ID == id {
			return true
		}
	}
	return false
}

// dropQueueData deletes everything a queue incarnation stored: its stream,
// its delayed messages and its FIFO group state. Failures are logged; the
// collector retries what is left.
func (s *Service) dropQueueData(ctx context.Context, id string) {
	s.forget(id)
	if err := s.js.DeleteStream(ctx, streamName(id)); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		s.log.Warn("delete queue stream", "stream", streamName(id), "err", err)
	}
	// Long polls of a FIFO queue wait for a wake-up: they find the
	// stream gone and end (a standard queue's consumer ends its own).
	s.notify(id)
	if err := s.delay.Purge(ctx, jetstream.WithPurgeSubject(delaySubject+id)); err != nil {
		s.log.Warn("purge delayed messages", "queue_id", id, "err", err)
	}
	s.dropGroups(ctx, id)
}

// dropGroups deletes a queue's FIFO group state.
func (s *Service) dropGroups(ctx context.Context, id string) {
	lister, err := s.groups.ListKeysFiltered(ctx, id+".>")
	if err != nil {
		if !errors.Is(err, jetstream.ErrNoKeysFound) {
			s.log.Warn("list group state", "queue_id", id, "err", err)
		}
		return
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if err := s.groups.Purge(ctx, k); err != nil {
			s.log.Warn("delete group state", "queue_id", id, "err", err)
		}
	}
}

// firstSeen remembers when this server first delivered standard-queue
// messages (ApproximateFirstReceiveTimestamp), in two generations of
// bounded size so memory stays bounded whatever the traffic.
type firstSeen struct {
	mu        sync.Mutex
	limit     int
	cur, prev map[firstKey]int64
}

type firstKey struct {
	queue string
	seq   uint64
}

func newFirstSeen(limit int) *firstSeen {
	return &firstSeen{limit: limit, cur: map[firstKey]int64{}}
}

func (f *firstSeen) put(k firstKey, ms int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.cur) >= f.limit {
		f.prev, f.cur = f.cur, make(map[firstKey]int64, f.limit)
	}
	f.cur[k] = ms
}

func (f *firstSeen) get(k firstKey) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.cur[k]; ok {
		return v, true
	}
	v, ok := f.prev[k]
	return v, ok
}

func (f *firstSeen) drop(k firstKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.cur, k)
	delete(f.prev, k)
}
