package esm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/sqs"
	"github.com/cloister/cloister/internal/store"
)

// Store bucket names.
const (
	mappingsBucket = "lambda_esm"
	claimsBucket   = "lambda_esm_claims"
)

// MaxDepth is how many invocations a chain of invocations that cause each
// other may reach, as api.MaxDepth counts them: a message sent by a
// function serving an invocation of depth d has depth d+1, and a message
// deeper than MaxDepth does not invoke a function (Lambda's recursive loop
// detection).
const MaxDepth = 16

// Invocation is one synchronous invocation a mapping asks the data plane
// to run.
type Invocation struct {
	RequestID string
	Function  *functions.Function
	Payload   []byte
	// Depth is the highest depth of the batch's messages: how many
	// invocations led to this one (0 when a client sent them all).
	Depth int
}

// Result is what an invocation returned: the function's response, and
// FunctionError ("Unhandled") when the function failed.
type Result struct {
	Payload       []byte
	FunctionError string
}

// Config configures a Service.
type Config struct {
	Region    string
	Functions *functions.Service
	Queues    *sqs.Service
	// Invoke runs one synchronous invocation (the data plane; cmd wires it
	// to invoke.Service.Invoke). A TooManyRequestsException error means
	// the function is throttled.
	Invoke func(ctx context.Context, in Invocation) (Result, error)
	// AuthorizeRole decides whether a function's execution role may call
	// an action on a queue (cmd wires it to iam.Service.AuthorizeRole; it
	// returns an AccessDeniedException error to deny). A mapping is created
	// or enabled, and polls, only while its function's role may receive,
	// delete and read the attributes of the queue's messages.
	AuthorizeRole func(ctx context.Context, roleARN, sessionName, action, resource, resourceAccount string,
		resourcePolicy func(context.Context) (*policy.Policy, error)) error
	// MaxPollers caps the concurrent batches a mapping without
	// MaximumConcurrency runs on this server (default: four per CPU, at
	// least eight).
	MaxPollers int
	// PollWait is the long-poll wait of each receive (default and at most
	// 20 s, SQS's maximum).
	PollWait time.Duration
	Logger   *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Service is the event source mapping service of one server.
type Service struct {
	cfg      Config
	log      *slog.Logger
	mappings *store.Bucket
	claims   *store.Bucket

	mu      sync.Mutex
	index   map[string]indexEntry // by UUID: the newest record seen
	tomb    map[string]uint64     // revisions at which UUIDs were deleted
	runners map[string]*runner
	pending map[string]bool // UUIDs to reconcile
	kick    chan struct{}
	closed  bool
	ctx     context.Context // the runners' parent, set by Start

	stop    context.CancelFunc
	manager sync.WaitGroup // the manager goroutine
	workers sync.WaitGroup // every runner goroutine
}

type indexEntry struct {
	rec *record
	rev uint64
}

// Open opens (creating on first use) the buckets the service needs. Start
// runs its manager and pollers.
func Open(ctx context.Context, st *store.Store, cfg Config) (*Service, error) {
	if cfg.Region == "" || cfg.Functions == nil || cfg.Queues == nil || cfg.Invoke == nil || cfg.AuthorizeRole == nil {
		return nil, errors.New("esm: region, functions, queues, invoke and role authorization are required")
	}
	if cfg.MaxPollers <= 0 {
		cfg.MaxPollers = max(8, 4*runtime.NumCPU())
	}
	if cfg.PollWait <= 0 || cfg.PollWait > 20*time.Second {
		cfg.PollWait = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "esm"),
		index:   map[string]indexEntry{},
		tomb:    map[string]uint64{},
		runners: map[string]*runner{},
		pending: map[string]bool{},
		kick:    make(chan struct{}, 1),
	}
	var err error
	if s.mappings, err = st.Bucket(ctx, mappingsBucket); err != nil {
		return nil, err
	}
	if s.claims, err = st.Bucket(ctx, claimsBucket); err != nil {
		return nil, err
	}
	return s, nil
}

// Start loads every mapping, starts the pollers of enabled ones and keeps
// them in step with the store (on every server sharing it) until ctx ends
// or Close is called.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || s.stop != nil {
		s.mu.Unlock()
		return ErrClosed
	}
	ctx, s.stop = context.WithCancel(ctx)
	s.ctx = ctx
	s.mu.Unlock()
	updates, err := s.mappings.Watch(ctx, "")
	if err != nil {
		s.stop()
		return err
	}
	// Apply the initial values before returning, so that List and the
	// pollers reflect the store at once.
	for e := range updates {
		if e.Key == "" {
			break
		}
		s.apply(e)
	}
	s.mu.Lock()
	for uuid := range s.index {
		s.pending[uuid] = true
	}
	s.mu.Unlock()
	s.manager.Add(1)
	go func() {
		defer s.manager.Done()
		s.manage(ctx, updates)
	}()
	s.signal()
	return nil
}

// Close stops every poller and the manager, then waits until ctx ends for
// the batches in flight to finish (their messages are deleted or left
// according to their outcome). It returns ctx's error if some were still
// running; calling it again waits for them again. Close should run before
// the data plane stops: a batch whose invocation the data plane abandons
// fails, and its messages are retried after their visibility timeout.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	stop := s.stop
	runners := make([]*runner, 0, len(s.runners))
	for _, r := range s.runners {
		runners = append(runners, r)
	}
	clear(s.runners)
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	for _, r := range runners {
		r.cancel()
	}
	s.manager.Wait()
	done := make(chan struct{})
	go func() {
		s.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("esm: batches still in flight: %w", ctx.Err())
	}
}

// Pollers is the number of pollers (concurrent batches) a mapping runs on
// this server now: for tests and metrics.
func (s *Service) Pollers(uuid string) int {
	s.mu.Lock()
	r := s.runners[uuid]
	s.mu.Unlock()
	if r == nil {
		return 0
	}
	return r.count()
}

// signal wakes the manager.
func (s *Service) signal() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// manage applies changes from the watch and the server's own writes,
// reconciles the pollers with them and completes state transitions. It
// also re-examines every mapping periodically, so that a transition whose
// completion failed (a store error) is retried.
func (s *Service) manage(ctx context.Context, updates <-chan store.Entry) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	// After a new watch, seen collects the keys of its initial values:
	// mappings it does not mention were deleted while no watch ran.
	var seen map[string]bool
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-updates:
			if !ok {
				updates = s.rewatch(ctx)
				if updates == nil {
					return
				}
				seen = map[string]bool{}
				continue
			}
			if e.Key == "" {
				if seen != nil {
					s.prune(seen)
					seen = nil
				}
				continue
			}
			if seen != nil {
				seen[e.Key] = true
			}
			if s.apply(e) {
				s.reconcile(ctx, e.Key)
			}
		case <-s.kick:
		case <-tick.C:
			s.mu.Lock()
			for uuid := range s.index {
				s.pending[uuid] = true
			}
			s.mu.Unlock()
		}
		for {
			s.mu.Lock()
			var next string
			for uuid := range s.pending {
				next = uuid
				delete(s.pending, uuid)
				break
			}
			s.mu.Unlock()
			if next == "" {
				break
			}
			s.reconcile(ctx, next)
		}
	}
}

// rewatch re-establishes a watch that ended while the service runs (the
// connection to an external cluster was lost), retrying until ctx ends.
func (s *Service) rewatch(ctx context.Context) <-chan store.Entry {
	delay := 100 * time.Millisecond
	for {
		updates, err := s.mappings.Watch(ctx, "")
		if err == nil {
			return updates
		}
		s.log.Warn("watch event source mappings", "err", err)
		if !sleep(ctx, delay) {
			return nil
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// prune drops from the index the mappings a new watch did not mention.
func (s *Service) prune(seen map[string]bool) {
	s.mu.Lock()
	for uuid, e := range s.index {
		if !seen[uuid] {
			delete(s.index, uuid)
			s.tomb[uuid] = e.rev
			s.pending[uuid] = true
		}
	}
	s.mu.Unlock()
	s.signal()
}

// apply records an entry (from the watch or the server's own write) in
// the index unless the index already holds something newer. It reports
// whether the index changed.
func (s *Service) apply(e store.Entry) bool {
	var rec *record
	if e.Value != nil {
		rec = &record{}
		if err := json.Unmarshal(e.Value, rec); err != nil {
			s.log.Error("undecodable event source mapping record", "key", e.Key, "err", err)
			return false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.index[e.Key]; ok && cur.rev >= e.Revision {
		return false
	}
	if rev, ok := s.tomb[e.Key]; ok && rev >= e.Revision {
		return false
	}
	if rec == nil {
		delete(s.index, e.Key)
		s.tomb[e.Key] = e.Revision
		return true
	}
	delete(s.tomb, e.Key)
	s.index[e.Key] = indexEntry{rec: rec, rev: e.Revision}
	return true
}

// note records the server's own write and has the manager reconcile it.
func (s *Service) note(uuid string, data []byte, rev uint64) {
	if s.apply(store.Entry{Key: uuid, Value: data, Revision: rev}) {
		s.mu.Lock()
		s.pending[uuid] = true
		s.mu.Unlock()
		s.signal()
	}
}

// reconcile makes this server's pollers of one mapping match its record
// and completes a pending state transition.
func (s *Service) reconcile(ctx context.Context, uuid string) {
	s.mu.Lock()
	ent, ok := s.index[uuid]
	run := s.runners[uuid]
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	if !ok {
		if run != nil {
			s.stopRunner(uuid, run)
		}
		return
	}
	rec := ent.rec
	running := rec.Enabled && rec.State != StateDisabling && rec.State != StateDeleting
	if running {
		cfg, err := newRunConfig(rec)
		if err != nil {
			// Stored patterns were validated when written; a record that
			// fails now was not written by this package.
			s.log.Error("event source mapping with an invalid filter", "mapping", uuid, "err", err)
			running = false
		} else if run == nil {
			s.startRunner(uuid, rec, cfg)
		} else {
			run.update(cfg)
		}
	}
	if !running && run != nil {
		s.stopRunner(uuid, run)
	}
	switch rec.State {
	case StateCreating, StateEnabling, StateUpdating:
		target := StateDisabled
		if rec.Enabled {
			target = StateEnabled
		}
		s.transition(ctx, uuid, ent, target)
	case StateDisabling:
		s.transition(ctx, uuid, ent, StateDisabled)
	case StateDeleting:
		s.remove(ctx, uuid, ent)
	}
}

func (s *Service) startRunner(uuid string, rec *record, cfg *runConfig) {
	r := newRunner(s, uuid, rec, cfg)
	s.mu.Lock()
	if s.closed || s.ctx == nil {
		s.mu.Unlock()
		return
	}
	s.runners[uuid] = r
	r.begin(s.ctx)
	s.mu.Unlock()
}

func (s *Service) stopRunner(uuid string, r *runner) {
	s.mu.Lock()
	if s.runners[uuid] == r {
		delete(s.runners, uuid)
	}
	s.mu.Unlock()
	r.cancel()
}

// transition completes a state transition with a compare-and-set. Losing
// the race to another server (or to a caller's change) is fine: the watch
// brings the newer record.
func (s *Service) transition(ctx context.Context, uuid string, ent indexEntry, state string) {
	rec := *ent.rec
	rec.State = state
	rec.LastModified = s.now().UnixMilli()
	data, err := json.Marshal(&rec)
	if err != nil {
		s.log.Error("encode event source mapping", "mapping", uuid, "err", err)
		return
	}
	rev, err := s.mappings.Update(ctx, uuid, data, ent.rev)
	if err != nil {
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			s.log.Warn("complete event source mapping transition", "mapping", uuid, "state", state, "err", err)
		}
		return
	}
	s.note(uuid, data, rev)
}

// remove deletes a mapping in state Deleting, then its claim.
func (s *Service) remove(ctx context.Context, uuid string, ent indexEntry) {
	if err := s.mappings.Delete(ctx, uuid, ent.rev); err != nil {
		if !errors.Is(err, store.ErrConflict) && ctx.Err() == nil {
			s.log.Warn("delete event source mapping", "mapping", uuid, "err", err)
		}
		return
	}
	s.apply(store.Entry{Key: uuid, Revision: ent.rev + 1})
	s.release(ctx, ent.rec.Claim, uuid)
}

// release deletes a claim if it is still held by uuid.
func (s *Service) release(ctx context.Context, claim, uuid string) {
	if claim == "" {
		return
	}
	e, err := s.claims.Get(ctx, claim)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			s.log.Warn("read event source mapping claim", "mapping", uuid, "err", err)
		}
		return
	}
	if string(e.Value) != uuid {
		return
	}
	if err := s.claims.Delete(ctx, claim, e.Revision); err != nil && !errors.Is(err, store.ErrConflict) && ctx.Err() == nil {
		s.log.Warn("release event source mapping claim", "mapping", uuid, "err", err)
	}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sleep waits for d or until ctx ends; it reports whether the wait ran its
// course.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
