package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/api"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/store"
)

// Defaults of FunctionEventInvokeConfig.
const (
	defaultRetries = 2
	defaultMaxAge  = 6 * time.Hour
)

// settleTimeout bounds an acknowledgement or a publish while settling.
const settleTimeout = 30 * time.Second

// fetchLoop takes events from the queue as workers free up and runs each in
// its own goroutine, until ctx ends. Invocations run under work, which
// outlives ctx so that they can settle while the service stops.
func (s *Service) fetchLoop(ctx, work context.Context) {
	failures := 0
	for {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < cap(s.slots) {
			select {
			case s.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := s.dispatcher.Fetch(n, jetstream.FetchContext(fctx))
		if err == nil {
			for m := range batch.Messages() {
				if ctx.Err() != nil {
					// Stopping: hand it back at once.
					_ = m.Nak()
					continue
				}
				n--
				s.track(m)
				s.running.Add(1)
				go func() {
					defer func() {
						s.untrack(m)
						<-s.slots
						s.running.Done()
					}()
					s.process(work, m)
				}()
			}
			err = batch.Error()
		}
		cancel()
		for ; n > 0; n-- {
			<-s.slots
		}
		if err == nil || ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			failures = 0
			continue
		}
		failures++
		s.log.Warn("fetch events", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(time.Duration(failures)*100*time.Millisecond, 5*time.Second)):
		}
	}
}

// track and untrack maintain the set of messages the heartbeat keeps alive.
func (s *Service) track(m jetstream.Msg) {
	s.mu.Lock()
	s.inflight[m] = struct{}{}
	s.mu.Unlock()
}

func (s *Service) untrack(m jetstream.Msg) {
	s.mu.Lock()
	delete(s.inflight, m)
	s.mu.Unlock()
}

// heartbeatLoop tells the store, every third of AckWait, that the events
// being worked on are in progress, so that only a dispatcher that stopped
// (crashed) loses its events to another, and soon.
func (s *Service) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		msgs := make([]jetstream.Msg, 0, len(s.inflight))
		for m := range s.inflight {
			msgs = append(msgs, m)
		}
		s.mu.Unlock()
		for _, m := range msgs {
			if err := m.InProgress(); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
				// The event is redelivered when its AckWait runs out;
				// settling it will report the store's failure.
				s.log.Debug("heartbeat", "err", err)
			}
		}
	}
}

// process runs one delivery of an event.
func (s *Service) process(ctx context.Context, m jetstream.Msg) {
	ev, err := unmarshalEvent(m.Data())
	if err != nil {
		s.malformed(ctx, m, err)
		return
	}
	if wait := ev.NotBefore.Sub(s.now()); wait > 0 {
		if err := m.NakWithDelay(wait); err != nil {
			s.log.Warn("delay event", "request_id", ev.ID, "err", err)
		}
		return
	}
	log := s.log.With("request_id", ev.ID, "account", ev.Account, "function", ev.Function, "qualifier", ev.Qualifier)
	if err := s.handle(ctx, m, ev, log); err != nil {
		// Nothing was settled: the event comes back after a while.
		log.Warn("event returned to the queue", "err", err)
		if nerr := m.NakWithDelay(s.backoff(ev.Retries + 1)); nerr != nil {
			log.Warn("return event to the queue", "err", nerr)
		}
	}
}

// targets are where an event's outcome goes, and as whom.
type targets struct {
	onSuccess, onFailure, dlq string
	exec                      execRole
}

// handle runs an event and settles it: it is acknowledged after its
// outcome has been delivered, or replaced by its retry. An error means
// nothing was settled.
func (s *Service) handle(ctx context.Context, m jetstream.Msg, ev *event, log *slog.Logger) error {
	fns := s.cfg.Functions
	ref := functions.Ref{Account: ev.Account, Name: ev.Function, Qualifier: ev.Qualifier}
	fn, err := fns.Resolve(ctx, ref, pickVersion)
	if err == nil && ev.Incarnation != "" && fn.Incarnation != ev.Incarnation {
		err = awserr.New(awserr.ResourceNotFound, "Function not found")
	}
	if awserr.IsType(err, awserr.ResourceNotFound) {
		return s.drop(ctx, m, ev, log, "the function (or the version or alias invoked) was deleted")
	}
	if err != nil {
		return fmt.Errorf("resolve function: %w", err)
	}
	conf, err := fns.EventInvokeFor(ctx, ref)
	if err != nil {
		return fmt.Errorf("event invoke config: %w", err)
	}
	maxRetries, maxAge := defaultRetries, defaultMaxAge
	t := targets{exec: execRole{arn: fn.Config.Role, session: iam.LambdaSessionName(fn.Config.FunctionName)}}
	if conf != nil {
		if conf.MaximumRetryAttempts != nil {
			maxRetries = *conf.MaximumRetryAttempts
		}
		if conf.MaximumEventAgeInSeconds != nil {
			maxAge = time.Duration(*conf.MaximumEventAgeInSeconds) * time.Second
		}
		if dc := conf.DestinationConfig; dc != nil {
			if dc.OnSuccess != nil {
				t.onSuccess = dc.OnSuccess.Destination
			}
			if dc.OnFailure != nil {
				t.onFailure = dc.OnFailure.Destination
			}
		}
	}
	// Versions use the dead-letter queue of $LATEST, as in Lambda.
	latest := fn
	if fn.Config.Version != functions.LatestVersion {
		if latest, err = fns.Resolve(ctx, functions.Ref{Account: ev.Account, Name: ev.Function}, nil); err != nil {
			return fmt.Errorf("resolve $LATEST: %w", err)
		}
	}
	if d := latest.Config.DeadLetterConfig; d != nil {
		t.dlq = d.TargetArn
	}
	payload, err := s.payload(ctx, ev)
	if errors.Is(err, store.ErrNotFound) {
		return s.drop(ctx, m, ev, log, "its spilled payload is missing from the store")
	}
	if err != nil {
		return fmt.Errorf("load payload: %w", err)
	}

	now := s.now()
	expiry := ev.Enqueued.Add(maxAge)
	switch {
	case now.After(expiry):
		return s.fail(ctx, m, ev, payload, t, expiredOutcome(ev), log)
	case ev.Depth >= MaxDepth:
		log.Warn("recursive invocation loop stopped", "depth", ev.Depth, "functions", loopFunctions(ev.Lineage))
		return s.fail(ctx, m, ev, payload, t, recursionOutcome(ev), log)
	case fn.Config.State != functions.StateActive:
		return s.retryLater(ctx, m, ev, expiry, http503(fmt.Sprintf("The function is %s.", fn.Config.State)))
	case fn.Reserved != nil && *fn.Reserved == 0 && (t.onFailure != "" || t.dlq != ""):
		// As Lambda: with reserved concurrency zero, events go straight
		// to the failure targets, without retries.
		return s.fail(ctx, m, ev, payload, t, throttledOutcome(ev), log)
	}

	res, err := s.cfg.DataPlane.Invoke(ctx, &api.InvokeRequest{
		RequestID: ev.ID, Function: fn, Payload: payload, ClientContext: ev.ClientContext, Depth: ev.Depth,
	})
	if err != nil {
		if awserr.IsType(err, awserr.ResourceNotFound) {
			return s.drop(ctx, m, ev, log, "the function was deleted")
		}
		if s.stopping.Load() {
			return s.handBack(m, log)
		}
		e := awserr.As(err)
		if e.Type.Status() >= 500 {
			log.Warn("invocation failed; retrying", "err", err)
		}
		return s.retryLater(ctx, m, ev, expiry, failure{status: e.Type.Status(), payload: errorJSON(string(e.Type), e.Message)})
	}
	if res.FunctionError != "" {
		if s.stopping.Load() {
			// The data plane may have ended it while shutting down.
			return s.handBack(m, log)
		}
		attempt := ev.Attempt + 1
		if attempt > maxRetries {
			return s.fail(ctx, m, ev, payload, t, outcome{
				condition: condRetriesExhausted, invokeCount: attempt, status: 200, version: res.ExecutedVersion,
				functionError: res.FunctionError, response: res.Payload, errorMessage: errorMessageOf(res.Payload),
			}, log)
		}
		next := *ev
		next.Attempt = attempt
		next.NotBefore = capTime(s.now().Add(s.cfg.RetryDelays[min(attempt-1, len(s.cfg.RetryDelays)-1)]), expiry)
		next.LastStatus, next.LastVersion, next.LastFunctionError = 200, res.ExecutedVersion, res.FunctionError
		next.LastError = clipBytes(res.Payload, maxLastError)
		return s.requeue(ctx, m, &next)
	}
	if t.onSuccess != "" {
		o := outcome{condition: condSuccess, invokeCount: ev.Attempt + 1, status: 200, version: res.ExecutedVersion, response: res.Payload}
		if err := s.deliverRecord(ctx, ev, payload, t.onSuccess, kindOnSuccess, o, t.exec, log); err != nil {
			return err
		}
	}
	return s.finish(ctx, m, ev, log)
}

// failure is a try that did not run the function (a throttle, an internal
// error): its status and Lambda-style error payload.
type failure struct {
	status  int
	payload []byte
}

func http503(msg string) failure {
	return failure{status: 503, payload: errorJSON("ResourceNotReadyException", msg)}
}

// retryLater requeues an event that did not run, after a backoff that does
// not consume a retry attempt, no later than its expiry.
func (s *Service) retryLater(ctx context.Context, m jetstream.Msg, ev *event, expiry time.Time, f failure) error {
	next := *ev
	next.Retries++
	next.NotBefore = capTime(s.now().Add(s.backoff(next.Retries)), expiry)
	next.LastStatus, next.LastError = f.status, clipBytes(f.payload, maxLastError)
	return s.requeue(ctx, m, &next)
}

// requeue publishes an event's next try, then acknowledges this one. A
// crash between the two leaves both (the retry's message id keeps a second
// publish of it out): at least once, never lost.
func (s *Service) requeue(ctx context.Context, m jetstream.Msg, next *event) error {
	pctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if err := s.publish(pctx, next, fmt.Sprintf("%s/a%d/r%d", next.ID, next.Attempt, next.Retries)); err != nil {
		return err
	}
	if err := m.DoubleAck(pctx); err != nil {
		s.log.Warn("acknowledge retried event; it may run twice", "request_id", next.ID, "err", err)
	}
	return nil
}

// finish acknowledges a settled event and deletes its spilled payload.
func (s *Service) finish(ctx context.Context, m jetstream.Msg, ev *event, log *slog.Logger) error {
	actx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if err := m.DoubleAck(actx); err != nil {
		// Its outcome went out; the event may be processed again.
		log.Warn("acknowledge finished event; it may run again", "err", err)
		return nil
	}
	if ev.PayloadObject != "" {
		if err := s.payloads.Delete(actx, ev.PayloadObject); err != nil {
			log.Warn("delete spilled payload", "err", err)
		}
	}
	return nil
}

// handBack returns an event to the queue at once, attempt not counted.
func (s *Service) handBack(m jetstream.Msg, log *slog.Logger) error {
	if err := m.Nak(); err != nil {
		log.Warn("hand back event", "err", err)
	}
	return nil
}

// drop ends an event that cannot run: logged, and kept for operators.
func (s *Service) drop(ctx context.Context, m jetstream.Msg, ev *event, log *slog.Logger, reason string) error {
	log.Warn("asynchronous event dropped", "reason", reason)
	payload, err := s.payload(ctx, ev)
	if err != nil {
		payload = nil
	}
	if err := s.recordUndelivered(ctx, ev, kindDropped, "", "", reason, payload); err != nil {
		return err
	}
	return s.finish(ctx, m, ev, log)
}

// malformed ends a message that is not an event record, keeping its bytes
// for operators.
func (s *Service) malformed(ctx context.Context, m jetstream.Msg, cause error) {
	s.log.Error("malformed asynchronous event", "subject", m.Subject(), "err", cause)
	ev := &event{Account: accountOfSubject(m.Subject())}
	if err := s.recordUndelivered(ctx, ev, kindMalformed, "", "", cause.Error(), m.Data()); err != nil {
		s.log.Warn("record malformed event; it stays queued", "err", err)
		_ = m.NakWithDelay(s.cfg.MaxBackoff)
		return
	}
	actx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if err := m.DoubleAck(actx); err != nil {
		s.log.Warn("acknowledge malformed event", "err", err)
	}
}

// expiredOutcome is the outcome of an event older than its maximum age:
// what its last try answered, if it had one.
func expiredOutcome(ev *event) outcome {
	o := outcome{
		condition: condEventAgeExceeded, invokeCount: ev.Attempt, status: ev.LastStatus,
		version: ev.LastVersion, functionError: ev.LastFunctionError, response: ev.LastError,
	}
	if len(ev.LastError) > 0 {
		o.errorMessage = errorMessageOf(ev.LastError)
	} else {
		o.errorMessage = "Event age exceeded."
	}
	return o
}

func recursionOutcome(ev *event) outcome {
	msg := fmt.Sprintf("RequestId: %s Error: this invocation would be number %d of a chain of invocations that cause each other; Cloister stops such chains after %d as a recursive loop.",
		ev.ID, ev.Depth+1, MaxDepth)
	return outcome{condition: condRetriesExhausted, invokeCount: ev.Attempt, status: 400,
		response: errorJSON(string(awserr.RecursiveInvocation), msg), errorMessage: msg}
}

func throttledOutcome(ev *event) outcome {
	msg := "Rate Exceeded. The function's reserved concurrency is 0."
	return outcome{condition: condRetriesExhausted, invokeCount: ev.Attempt, status: 429,
		response: errorJSON(string(awserr.TooManyRequests), msg), errorMessage: msg}
}

// errorJSON is a Lambda-style error payload.
func errorJSON(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{typ, msg})
	return b
}

// backoff is the wait before the nth retry that does not consume an
// attempt: exponential from MinBackoff to MaxBackoff, with jitter.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// capTime returns t, or just after the expiry when t is later, so that an
// event due after its maximum age is taken then, and expires.
func capTime(t, expiry time.Time) time.Time {
	if limit := expiry.Add(time.Millisecond); t.After(limit) {
		return limit
	}
	return t
}

func clipBytes(b []byte, n int) []byte {
	if len(b) > n {
		b = b[:n]
	}
	return append([]byte(nil), b...)
}

// pickVersion chooses a version of a weighted alias, as the API does for
// synchronous invocations.
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

// accountOfSubject reads the account token of an event subject.
func accountOfSubject(subject string) string {
	if len(subject) > len(eventsSubject) {
		return subject[len(eventsSubject):]
	}
	return ""
}

// loopFunctions names the functions of a chain, each once, in order.
func loopFunctions(lineage []string) []string {
	var out []string
	for _, l := range lineage {
		arn, _, _ := strings.Cut(l, " ")
		if !slices.Contains(out, arn) {
			out = append(out, arn)
		}
	}
	return out
}
