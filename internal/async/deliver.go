package async

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/sqs"
	"github.com/cloister/cloister/internal/store"
)

// Kinds of undelivered records: which delivery failed, or why an event
// ended without one.
const (
	kindOnSuccess = "OnSuccess"
	kindOnFailure = "OnFailure"
	kindDLQ       = "DeadLetterQueue"
	kindDiscarded = "Discarded" // failed, and the function has no failure target
	kindDropped   = "Dropped"   // could not run: the function or its payload is gone
	kindMalformed = "Malformed" // not an event record
)

// errDelivery marks a delivery that cannot succeed (as opposed to a store
// that failed for a moment).
var errDelivery = errors.New("async: undeliverable")

func undeliverable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errDelivery, fmt.Sprintf(format, args...))
}

// fail delivers the outcome of an event that failed to its OnFailure
// destination and its dead-letter queue (both when both are set, as
// Lambda), then acknowledges it.
func (s *Service) fail(ctx context.Context, m jetstream.Msg, ev *event, payload []byte, t targets, o outcome, log *slog.Logger) error {
	if t.onFailure == "" && t.dlq == "" {
		log.Warn("asynchronous event discarded: it failed and its function has no OnFailure destination or dead-letter queue",
			"condition", o.condition, "invocations", o.invokeCount)
		if err := s.recordUndelivered(ctx, ev, kindDiscarded, "", o.condition, "no OnFailure destination or dead-letter queue is configured", payload); err != nil {
			return err
		}
		return s.finish(ctx, m, ev, log)
	}
	if t.onFailure != "" {
		if err := s.deliverRecord(ctx, ev, payload, t.onFailure, kindOnFailure, o, t.exec, log); err != nil {
			return err
		}
	}
	if t.dlq != "" {
		if err := s.deliverDLQ(ctx, ev, payload, t.dlq, o, t.exec, log); err != nil {
			return err
		}
	}
	return s.finish(ctx, m, ev, log)
}

// execRole is the execution role of the function an event invoked, as
// whose session Lambda delivers the event's outcome.
type execRole struct {
	arn, session string
}

// deliverRecord sends an outcome's invocation record to a destination. A
// delivery that cannot succeed (no such queue or function, too large,
// another account, not allowed to the execution role) is logged and
// recorded for operators; an error means the store failed (sending, or
// recording), and nothing is settled.
func (s *Service) deliverRecord(ctx context.Context, ev *event, payload []byte, target, kind string, o outcome, as execRole, log *slog.Logger) error {
	record := buildRecord(s.now(), ev.ID, s.functionARN(ev), payload, o)
	var err error
	switch arn.Service(target) {
	case "sqs":
		err = s.sendQueue(ctx, ev, target, string(record), nil, as)
	case "lambda":
		err = s.sendFunction(ctx, ev, target, kind, record, as)
	default:
		err = undeliverable("destination %s is not a queue or a function", target)
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, errDelivery) {
		// The store failed: nothing is settled, the event comes back.
		return fmt.Errorf("deliver %s record: %w", kind, err)
	}
	log.Warn("asynchronous invocation record not delivered", "destination", target, "kind", kind, "condition", o.condition, "err", err)
	return s.recordUndelivered(ctx, ev, kind, target, o.condition, err.Error(), record)
}

// deliverDLQ sends a failed event to the dead-letter queue as Lambda does:
// the event itself as the body, RequestID, ErrorCode and ErrorMessage as
// message attributes.
func (s *Service) deliverDLQ(ctx context.Context, ev *event, payload []byte, target string, o outcome, as execRole, log *slog.Logger) error {
	body := string(payload)
	if len(bytes.TrimSpace(payload)) == 0 {
		body = "{}"
	}
	msg := o.errorMessage
	if msg == "" {
		msg = o.condition
	}
	attrs := map[string]sqs.MessageAttribute{
		"RequestID":    {DataType: "String", StringValue: ev.ID},
		"ErrorCode":    {DataType: "Number", StringValue: dlqErrorCode(o.status)},
		"ErrorMessage": {DataType: "String", StringValue: queueText(msg)},
	}
	var err error
	if arn.Service(target) != "sqs" {
		err = undeliverable("dead-letter target %s is not a queue", target)
	} else {
		err = s.sendQueue(ctx, ev, target, body, attrs, as)
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, errDelivery) {
		return fmt.Errorf("deliver to the dead-letter queue: %w", err)
	}
	log.Warn("asynchronous event not delivered to its dead-letter queue", "queue", target, "condition", o.condition, "err", err)
	return s.recordUndelivered(ctx, ev, kindDLQ, target, o.condition, err.Error(), payload)
}

// sendQueue sends a message to a standard queue of the event's account,
// if the execution role may send to it. The message is one hop deeper than
// the event, so that a loop back to the function through an event source
// mapping is stopped. Transient store errors are retried a few times.
func (s *Service) sendQueue(ctx context.Context, ev *event, arn, body string, attrs map[string]sqs.MessageAttribute, as execRole) error {
	if s.cfg.Queues == nil {
		return undeliverable("this server has no queue service")
	}
	region, account, name, err := sqs.ParseARN(arn)
	if err != nil {
		return undeliverable("%s is not a queue ARN", arn)
	}
	if region != s.cfg.Region {
		return undeliverable("queue %s is in another region", arn)
	}
	if account != ev.Account {
		return undeliverable("queue %s belongs to another account; Cloister delivers only within the function's account", arn)
	}
	q, err := s.cfg.Queues.Queue(ctx, arn)
	if err != nil {
		if awserr.IsType(err, awserr.SQSQueueDoesNotExist) {
			return undeliverable("queue %s does not exist", arn)
		}
		return err
	}
	queuePolicy := func(ctx context.Context) (*policy.Policy, error) {
		p, err := s.cfg.Queues.QueuePolicy(ctx, arn)
		if awserr.IsType(err, awserr.SQSQueueDoesNotExist) {
			return nil, nil // deleted meanwhile: the send reports it
		}
		return p, err
	}
	if err := s.allowed(ctx, as, "sqs:SendMessage", arn, account, queuePolicy); err != nil {
		return err
	}
	if q.FIFO {
		return undeliverable("queue %s is a FIFO queue; only standard queues take asynchronous invocation records", arn)
	}
	size := len(body)
	for k, a := range attrs {
		size += len(k) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	if size > q.MaximumMessageSize {
		return undeliverable("the message (%d bytes) exceeds the queue's maximum message size (%d bytes)", size, q.MaximumMessageSize)
	}
	for try := 0; ; try++ {
		_, err = s.cfg.Queues.SendMessage(ctx, account, name, sqs.SendInput{Body: body, Attributes: attrs, SenderID: account, Depth: ev.Depth + 1})
		if err == nil {
			return nil
		}
		if e := (*awserr.Error)(nil); errors.As(err, &e) {
			// The queue refused it (deleted meanwhile, invalid contents).
			return undeliverable("queue %s refused the message: %s", arn, e.Message)
		}
		if try == 2 || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(try+1) * 200 * time.Millisecond):
		}
	}
}

// sendFunction invokes a destination function asynchronously with the
// record as its event, one hop deeper in the event's chain, if the
// execution role may invoke it.
func (s *Service) sendFunction(ctx context.Context, ev *event, arn, kind string, record []byte, as execRole) error {
	ref, err := functions.ParseFunctionARN(arn, s.cfg.Region)
	if err != nil {
		return undeliverable("%s is not a function ARN of this region", arn)
	}
	if ref.Account != ev.Account {
		return undeliverable("function %s belongs to another account; Cloister delivers only within the function's account", arn)
	}
	if ev.Depth >= MaxDepth {
		// The event was stopped as a recursive loop: invoking a function
		// with its record would continue the loop.
		return undeliverable("invoking %s would continue a recursive loop of %d invocations", arn, MaxDepth)
	}
	if len(record) > MaxPayload {
		return undeliverable("the invocation record (%d bytes) exceeds the %d-byte limit of an asynchronous invocation", len(record), MaxPayload)
	}
	target := ref
	functionPolicy := func(ctx context.Context) (*policy.Policy, error) {
		p, err := s.cfg.Functions.ResourcePolicy(ctx, target)
		if awserr.IsType(err, awserr.ResourceNotFound) {
			return nil, nil // deleted meanwhile: resolving reports it
		}
		return p, err
	}
	if err := s.allowed(ctx, as, "lambda:InvokeFunction", arn, ref.Account, functionPolicy); err != nil {
		return err
	}
	if ref.Qualifier == "" {
		ref.Qualifier = functions.LatestVersion
	}
	fn, err := s.cfg.Functions.Resolve(ctx, ref, nil)
	if awserr.IsType(err, awserr.ResourceNotFound) {
		return undeliverable("function %s does not exist", arn)
	}
	if err != nil {
		return err
	}
	lineage := append(append([]string(nil), ev.Lineage...), clip(s.functionARN(ev)+" "+ev.ID, maxLineageItem))
	if len(lineage) > MaxDepth {
		lineage = lineage[len(lineage)-MaxDepth:]
	}
	next := &event{
		ID: newRequestID(), Account: ref.Account, Function: ref.Name, Qualifier: ref.Qualifier,
		Incarnation: fn.Incarnation, Enqueued: s.now(), Depth: ev.Depth + 1, Lineage: lineage, Payload: record,
	}
	pctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	return s.publishNew(pctx, next, ev.ID+"/"+kind)
}

// allowed asks whether the execution role may perform action on a
// destination (resource, of resourceAccount, with its resource-based
// policy): a refusal is undeliverable, another error transient.
func (s *Service) allowed(ctx context.Context, as execRole, action, resource, resourceAccount string, resourcePolicy func(context.Context) (*policy.Policy, error)) error {
	err := s.cfg.AuthorizeRole(ctx, as.arn, as.session, action, resource, resourceAccount, resourcePolicy)
	if err == nil {
		return nil
	}
	if e := (*awserr.Error)(nil); errors.As(err, &e) && e.Type == awserr.AccessDenied {
		return undeliverable("the function's execution role %s is not allowed %s on %s: %s", as.arn, action, resource, e.Message)
	}
	return fmt.Errorf("authorize the execution role: %w", err)
}

// functionARN is the ARN an event invoked: the function's with the
// qualifier as invoked.
func (s *Service) functionARN(ev *event) string {
	return functions.QualifiedARN(s.cfg.Region, ev.Account, ev.Function, ev.Qualifier)
}

// Undelivered is an outcome of an asynchronous invocation that reached no
// destination: a record or event a destination or dead-letter queue did not
// take, a failed event of a function without failure targets, or an event
// that could not run. Cloister keeps them 14 days for operators.
type Undelivered struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"requestId"`
	Account   string    `json:"account"`
	Function  string    `json:"function"`
	Qualifier string    `json:"qualifier"`
	// Kind says what was not delivered: OnSuccess, OnFailure or
	// DeadLetterQueue (a delivery that failed), Discarded (a failed
	// event without failure targets), Dropped (an event that could not
	// run), Malformed (bytes that are not an event).
	Kind      string `json:"kind"`
	Target    string `json:"target,omitempty"`
	Condition string `json:"condition,omitempty"`
	Reason    string `json:"reason"`
	// Body is what was to be delivered: the invocation record, or the
	// event's payload.
	Body []byte `json:"body,omitempty"`
	// BodyObject names the stored body when it was too large to inline.
	BodyObject string `json:"bodyObject,omitempty"`
}

// recordUndelivered keeps an undelivered outcome for operators.
func (s *Service) recordUndelivered(ctx context.Context, ev *event, kind, target, condition, reason string, body []byte) error {
	u := Undelivered{
		Time: s.now().UTC(), RequestID: ev.ID, Account: ev.Account, Function: ev.Function, Qualifier: ev.Qualifier,
		Kind: kind, Target: target, Condition: condition, Reason: reason, Body: body,
	}
	pctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if len(body) > maxInline {
		u.BodyObject = "undelivered/" + newRequestID()
		if err := s.payloads.Put(pctx, u.BodyObject, bytes.NewReader(body)); err != nil {
			return fmt.Errorf("async: store undelivered body: %w", err)
		}
		u.Body = nil
	}
	data, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("async: encode undelivered record: %w", err)
	}
	account := ev.Account
	if account == "" || strings.ContainsAny(account, ".*> \t\r\n") {
		account = "unknown"
	}
	msg := &nats.Msg{Subject: undeliveredSubject + account, Data: data}
	opts := []jetstream.PublishOpt{jetstream.WithExpectStream(undeliveredStream)}
	if ev.ID != "" {
		opts = append(opts, jetstream.WithMsgID(ev.ID+"/"+kind+"/"+target))
	}
	if _, err := s.js.PublishMsg(pctx, msg, opts...); err != nil {
		return fmt.Errorf("async: record undelivered outcome: %w", err)
	}
	return nil
}

// Undelivered returns up to limit undelivered outcomes of account's
// asynchronous invocations, oldest first, with their bodies.
func (s *Service) Undelivered(ctx context.Context, account string, limit int) ([]Undelivered, error) {
	if limit <= 0 {
		return nil, nil
	}
	cons, err := s.undelivered.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{undeliveredSubject + account},
	})
	if err != nil {
		return nil, fmt.Errorf("async: read undelivered: %w", err)
	}
	var out []Undelivered
	for len(out) < limit {
		batch, err := cons.FetchNoWait(min(limit-len(out), 256))
		if err != nil {
			return nil, fmt.Errorf("async: read undelivered: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var u Undelivered
			if err := json.Unmarshal(m.Data(), &u); err != nil {
				return nil, fmt.Errorf("async: decode undelivered record: %w", err)
			}
			if u.BodyObject != "" {
				b, err := s.payloads.Get(ctx, u.BodyObject)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
				u.Body = b
			}
			out = append(out, u)
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("async: read undelivered: %w", err)
		}
		if got == 0 {
			break
		}
	}
	return out, nil
}
