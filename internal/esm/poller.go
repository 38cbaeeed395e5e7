package esm

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/sqs"
)

const (
	// maxPayload is the synchronous invocation payload limit (6 MB).
	maxPayload = 6291456
	// receiveMax is the most messages one receive returns.
	receiveMax = 10
	// deleteParallelism bounds concurrent deletes of one batch.
	deleteParallelism = 8
	// settleTimeout bounds deleting or releasing a batch's messages after
	// its invocation, which runs even when the mapping is being stopped.
	settleTimeout = 30 * time.Second
	// growInterval spaces out the addition of pollers.
	growInterval = 10 * time.Millisecond
	// accessRecheck is how often a poller re-evaluates whether the
	// function's execution role may consume the queue.
	accessRecheck = time.Minute
	// maxBackoff bounds the wait after a problem.
	maxBackoff = 30 * time.Second
)

// Results recorded in LastProcessingResult.
const resultOK = "OK"

// runConfig is what a mapping's pollers need, derived from its record.
type runConfig struct {
	rec     record
	filters filterSet
}

func newRunConfig(rec *record) (*runConfig, error) {
	fs, err := compileFilters(rec.Filters)
	if err != nil {
		return nil, err
	}
	return &runConfig{rec: *rec, filters: fs}, nil
}

// same reports whether two configurations poll alike (state and results
// aside).
func (c *runConfig) same(o *runConfig) bool {
	a, b := &c.rec, &o.rec
	return a.QueueARN == b.QueueARN && a.FunctionARN == b.FunctionARN && a.BatchSize == b.BatchSize &&
		a.Window == b.Window && a.ReportFailures == b.ReportFailures && a.MaxConcurrency == b.MaxConcurrency &&
		slices.Equal(a.Filters, b.Filters)
}

// runner is one mapping's pollers on this server.
type runner struct {
	s      *Service
	uuid   string
	cfg    atomic.Pointer[runConfig]
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	workers   int
	lastGrow  time.Time
	result    string    // the LastProcessingResult last written or seen
	accessAt  time.Time // when the execution role was last allowed the queue
	accessFor string    // the role and queue that check was for
}

func newRunner(s *Service, uuid string, rec *record, cfg *runConfig) *runner {
	r := &runner{s: s, uuid: uuid, result: rec.LastResult}
	r.cfg.Store(cfg)
	return r
}

// begin starts the first poller. Called with s.mu held.
func (r *runner) begin(parent context.Context) {
	r.ctx, r.cancel = context.WithCancel(parent)
	r.workers = 1
	r.s.workers.Add(1)
	go r.work()
}

// update installs a changed configuration; pollers use it from their next
// batch.
func (r *runner) update(cfg *runConfig) {
	if cur := r.cfg.Load(); cur.same(cfg) {
		return
	}
	r.cfg.Store(cfg)
}

func (r *runner) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.workers
}

// grow adds a poller when a batch came back full and the limit allows.
func (r *runner) grow(limit int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil || r.workers >= limit || time.Since(r.lastGrow) < growInterval {
		return
	}
	r.workers++
	r.lastGrow = time.Now()
	r.s.workers.Add(1)
	go r.work()
}

// shrink retires the calling poller unless it is the last one.
func (r *runner) shrink() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.workers <= 1 {
		return false
	}
	r.workers--
	return true
}

// over retires the calling poller when there are more than limit.
func (r *runner) over(limit int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.workers <= max(limit, 1) {
		return false
	}
	r.workers--
	return true
}

// pending is a received message not yet handed to the function.
type pending struct {
	msg sqs.Message
	rec []byte    // its encoded event record
	at  time.Time // when it was received (its visibility timeout runs)
}

// batch is what one poller gathered.
type batch struct {
	items []pending
	size  int
	// full: the batch reached BatchSize or the payload limit.
	full bool
	// receivedAt is when the batch's earliest message was received.
	receivedAt time.Time
}

// work is one poller: gather a batch, invoke, settle, repeat.
func (r *runner) work() {
	defer r.s.workers.Done()
	var carry []pending
	delay := time.Duration(0)
	backoff := func() bool {
		delay = min(max(2*delay, 100*time.Millisecond), maxBackoff)
		return sleep(r.ctx, delay)
	}
	for {
		if r.ctx.Err() != nil {
			r.releaseAll(carry)
			r.exit()
			return
		}
		cfg := r.cfg.Load()
		fn, ok := r.ready(cfg)
		if !ok {
			backoff()
			continue
		}
		limit := r.limit(cfg, fn)
		if limit == 0 {
			// Reserved concurrency 0: the function may not run at all.
			backoff()
			continue
		}
		if len(carry) == 0 && r.over(limit) {
			return
		}
		q, err := r.s.cfg.Queues.Queue(r.ctx, cfg.rec.QueueARN)
		if err != nil {
			r.queueProblem(err)
			backoff()
			continue
		}
		b, rest, err := r.gather(cfg, carry)
		carry = rest
		if err != nil {
			r.releaseAll(b.items)
			if r.ctx.Err() == nil {
				// A queue deleted under a receive can surface as a
				// transport error: ask the queue service again.
				if _, qerr := r.s.cfg.Queues.Queue(r.ctx, cfg.rec.QueueARN); qerr != nil {
					err = qerr
				}
				r.queueProblem(err)
				backoff()
			}
			continue
		}
		delay = 0
		if len(b.items) == 0 {
			if len(carry) == 0 && r.shrink() {
				return
			}
			continue
		}
		throttled := r.process(cfg, fn, q, b)
		if throttled {
			if len(carry) == 0 && r.shrink() {
				return
			}
			continue
		}
		if b.full {
			r.grow(limit)
		}
	}
}

// exit retires a poller of a stopped runner.
func (r *runner) exit() {
	r.mu.Lock()
	r.workers--
	r.mu.Unlock()
}

// ready resolves the mapping's function and checks that the mapping may
// run: the function exists and is active, and its execution role may
// still consume the queue. Problems are recorded in LastProcessingResult.
func (r *runner) ready(cfg *runConfig) (*functions.Function, bool) {
	fn, err := r.s.cfg.Functions.Resolve(r.ctx, cfg.rec.Function, pickVersion)
	if err != nil {
		if awserr.IsType(err, awserr.ResourceNotFound) {
			r.report("PROBLEM: Function not found: " + cfg.rec.FunctionARN)
		} else if r.ctx.Err() == nil {
			r.s.log.Warn("resolve mapped function", "mapping", r.uuid, "err", err)
		}
		return nil, false
	}
	switch fn.Config.State {
	case functions.StateActive:
	case functions.StatePending:
		return nil, false // being created: wait quietly
	default:
		r.report("PROBLEM: Function is not active (state " + fn.Config.State + "): " + cfg.rec.FunctionARN)
		return nil, false
	}
	key := fn.Config.Role + "\x00" + cfg.rec.QueueARN
	r.mu.Lock()
	checked := r.accessFor == key && time.Since(r.accessAt) < accessRecheck
	r.mu.Unlock()
	if !checked {
		q, err := r.s.cfg.Queues.Queue(r.ctx, cfg.rec.QueueARN)
		if err != nil {
			r.queueProblem(err)
			return nil, false
		}
		action, err := r.s.queueGrants(r.ctx, fn, q)
		if err != nil {
			r.queueProblem(err)
			return nil, false
		}
		if action != "" {
			r.report("PROBLEM: The function execution role does not have permissions to call " + action + " on SQS: " + cfg.rec.QueueARN)
			return nil, false
		}
		r.mu.Lock()
		r.accessAt, r.accessFor = time.Now(), key
		r.mu.Unlock()
	}
	return fn, true
}

// limit is how many pollers the mapping may run on this server.
func (r *runner) limit(cfg *runConfig, fn *functions.Function) int {
	n := r.s.cfg.MaxPollers
	if cfg.rec.MaxConcurrency > 0 {
		n = cfg.rec.MaxConcurrency
	}
	if fn.Reserved != nil && *fn.Reserved < n {
		n = max(*fn.Reserved, 0)
	}
	return n
}

// queueProblem records a receive failure.
func (r *runner) queueProblem(err error) {
	if r.ctx.Err() != nil {
		return
	}
	if awserr.IsType(err, awserr.SQSQueueDoesNotExist) {
		r.report("PROBLEM: Queue not found: " + r.cfg.Load().rec.QueueARN)
		return
	}
	r.s.log.Warn("receive from mapped queue", "mapping", r.uuid, "err", err)
}

// gather receives up to BatchSize messages (starting with carry, messages
// received before that did not fit the last batch), waiting up to the
// batching window for more once it has some. Messages no filter matches
// are deleted at once. It returns the batch and the messages that did not
// fit it.
func (r *runner) gather(cfg *runConfig, carry []pending) (batch, []pending, error) {
	var b batch
	window := time.Duration(cfg.rec.Window) * time.Second
	var deadline time.Time
	take := func(in []pending) []pending {
		for i, p := range in {
			if len(b.items) >= cfg.rec.BatchSize || b.size+len(p.rec)+1 > maxPayload-len(`{"Records":[]}`) {
				b.full = true
				return in[i:]
			}
			if len(b.items) == 0 || p.at.Before(b.receivedAt) {
				b.receivedAt = p.at
			}
			b.items = append(b.items, p)
			b.size += len(p.rec) + 1
		}
		return nil
	}
	rest := take(carry)
	if len(b.items) > 0 {
		deadline = time.Now().Add(window)
	}
	for rest == nil && len(b.items) < cfg.rec.BatchSize {
		wait := r.s.cfg.PollWait
		if len(b.items) > 0 {
			if window == 0 {
				break
			}
			wait = min(time.Until(deadline), wait)
			if wait <= 0 {
				break
			}
		}
		n := min(receiveMax, cfg.rec.BatchSize-len(b.items))
		msgs, err := r.s.cfg.Queues.Receive(r.ctx, cfg.rec.QueueARN, n, wait, 0)
		if err != nil {
			return b, nil, err
		}
		if len(msgs) == 0 {
			if len(b.items) == 0 {
				return b, nil, nil
			}
			continue
		}
		now := time.Now()
		if len(b.items) == 0 {
			deadline = now.Add(window)
		}
		got := make([]pending, 0, len(msgs))
		var drop []string
		loops, deepest := 0, 0
		for i := range msgs {
			m := &msgs[i]
			rec := newRecord(m, cfg.rec.QueueARN, r.s.cfg.Region)
			if !cfg.filters.match(&rec) {
				drop = append(drop, m.ReceiptHandle)
				continue
			}
			if m.Depth > MaxDepth {
				// A recursive loop: the message does not invoke the
				// function again. It stays in flight, becomes visible
				// after its visibility timeout and so reaches the
				// queue's dead-letter queue, if it has one, after
				// maxReceiveCount receives.
				loops, deepest = loops+1, max(deepest, m.Depth)
				continue
			}
			enc, err := encodeRecord(&rec)
			if err != nil {
				r.s.log.Error("encode event record", "mapping", r.uuid, "err", err)
				continue // left in flight: it becomes visible again
			}
			got = append(got, pending{msg: *m, rec: enc, at: now})
		}
		if len(drop) > 0 {
			r.deleteAll(cfg.rec.QueueARN, drop)
		}
		if loops > 0 {
			r.s.log.Warn("recursive loop stopped: messages sent by the chain of invocations they would continue are left to the queue's redrive policy",
				"mapping", r.uuid, "function", cfg.rec.FunctionARN, "queue", cfg.rec.QueueARN, "messages", loops, "depth", deepest, "max_depth", MaxDepth)
		}
		rest = take(got)
	}
	if len(b.items) >= cfg.rec.BatchSize {
		b.full = true
	}
	return b, rest, nil
}

// process invokes the function with a batch and deletes the messages that
// succeeded. It reports whether the function was throttled (the batch is
// then left to become visible again).
func (r *runner) process(cfg *runConfig, fn *functions.Function, q sqs.Queue, b batch) (throttled bool) {
	recs := make([][]byte, len(b.items))
	ids := make(map[string]bool, len(b.items))
	depth := 0
	for i, p := range b.items {
		recs[i] = p.rec
		ids[p.msg.MessageID] = true
		depth = max(depth, p.msg.Depth)
	}
	payload := event(recs)
	// Retry a throttled invocation while the messages stay invisible for
	// long enough to finish it.
	deadline := b.receivedAt.Add(q.VisibilityTimeout / 2)
	// The invocation and what follows run to completion even when the
	// mapping is being stopped, so that a batch's outcome is honoured.
	ctx := context.WithoutCancel(r.ctx)
	delay := 100 * time.Millisecond
	for {
		res, err := r.s.cfg.Invoke(ctx, Invocation{RequestID: newUUID(), Function: fn, Payload: payload, Depth: depth})
		if err == nil {
			r.settle(cfg, b, ids, res)
			return throttled
		}
		if !awserr.IsType(err, awserr.TooManyRequests) {
			r.invokeProblem(cfg, err)
			return false
		}
		throttled = true
		if r.ctx.Err() != nil || time.Now().Add(delay).After(deadline) || !sleep(r.ctx, jitter(delay)) {
			return true
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// settle deletes the messages of a batch that the invocation processed.
func (r *runner) settle(cfg *runConfig, b batch, ids map[string]bool, res Result) {
	r.report(resultOK)
	if res.FunctionError != "" {
		return // the whole batch failed
	}
	var failed map[string]bool
	if cfg.rec.ReportFailures {
		f, ok := failedItems(res.Payload, ids)
		if !ok {
			r.s.log.Debug("invalid partial batch response; the whole batch is retried", "mapping", r.uuid)
			return
		}
		failed = f
	}
	handles := make([]string, 0, len(b.items))
	for _, p := range b.items {
		if !failed[p.msg.MessageID] {
			handles = append(handles, p.msg.ReceiptHandle)
		}
	}
	r.deleteAll(cfg.rec.QueueARN, handles)
}

// invokeProblem records an invocation that failed outside the function.
func (r *runner) invokeProblem(cfg *runConfig, err error) {
	if r.ctx.Err() != nil {
		return // stopping: the data plane may be shutting down too
	}
	if awserr.IsType(err, awserr.ResourceNotFound) {
		r.report("PROBLEM: Function not found: " + cfg.rec.FunctionARN)
		return
	}
	r.s.log.Warn("invoke mapped function", "mapping", r.uuid, "err", err)
	r.report("PROBLEM: Function call failed")
}

// deleteAll deletes messages by receipt handle, a few at a time. Failures
// (a FIFO receipt that expired, say) leave the message to be received
// again: delivery is at least once.
func (r *runner) deleteAll(queueARN string, handles []string) {
	r.settleEach(handles, func(ctx context.Context, h string) error {
		return r.s.cfg.Queues.Delete(ctx, queueARN, h)
	}, "delete processed message")
}

// releaseAll makes received messages that will not be processed visible
// again at once.
func (r *runner) releaseAll(items []pending) {
	if len(items) == 0 {
		return
	}
	queueARN := r.cfg.Load().rec.QueueARN
	handles := make([]string, len(items))
	for i, p := range items {
		handles[i] = p.msg.ReceiptHandle
	}
	r.settleEach(handles, func(ctx context.Context, h string) error {
		return r.s.cfg.Queues.ChangeVisibility(ctx, queueARN, h, 0)
	}, "release unprocessed message")
}

func (r *runner) settleEach(handles []string, op func(ctx context.Context, h string) error, what string) {
	if len(handles) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), settleTimeout)
	defer cancel()
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		fails atomic.Int64
	)
	for range min(deleteParallelism, len(handles)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(handles) {
					return
				}
				if err := op(ctx, handles[i]); err != nil {
					fails.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := fails.Load(); n > 0 {
		r.s.log.Warn(what+" failed", "mapping", r.uuid, "messages", n)
	}
}

// report records a new LastProcessingResult (only when it changes).
func (r *runner) report(result string) {
	r.mu.Lock()
	if r.result == result {
		r.mu.Unlock()
		return
	}
	r.result = result
	r.mu.Unlock()
	r.s.setResult(context.WithoutCancel(r.ctx), r.uuid, result)
}

// setResult writes a mapping's LastProcessingResult.
func (s *Service) setResult(ctx context.Context, uuid, result string) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	for attempt := 0; attempt < 10; attempt++ {
		var rec record
		rev, err := s.mappings.GetJSON(ctx, uuid, &rec)
		if err != nil {
			return // gone, or the store is failing: nothing to record
		}
		if rec.State == StateDeleting || rec.LastResult == result {
			return
		}
		rec.LastResult = result
		rec.LastResultUpdate = s.now().UnixMilli()
		data, err := json.Marshal(&rec)
		if err != nil {
			return
		}
		nrev, err := s.mappings.Update(ctx, uuid, data, rev)
		if err == nil {
			s.note(uuid, data, nrev)
			return
		}
	}
}

// pickVersion implements an alias's weighted routing: each additional
// version receives its weight's share of invocations, the primary the rest.
func pickVersion(primary string, weights map[string]float64) string {
	x := rand.Float64()
	keys := make([]string, 0, len(weights))
	for k := range weights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if x < weights[k] {
			return k
		}
		x -= weights[k]
	}
	return primary
}

// jitter spreads retries of concurrent pollers: d plus up to 50%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/2+1))
}
