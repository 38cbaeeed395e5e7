package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/store"
)

// queueRecord is everything about a queue that changes together, stored
// under ACCOUNT.NAME.
type queueRecord struct {
	// ID names this incarnation of the queue: its stream, subjects and
	// state. A queue deleted and created again gets a new one, so nothing
	// of the old queue (messages, receipt handles) reaches the new.
	ID       string            `json:"id"`
	Account  string            `json:"account"`
	Name     string            `json:"name"`
	FIFO     bool              `json:"fifo,omitempty"`
	Created  int64             `json:"created"`  // unix seconds
	Modified int64             `json:"modified"` // unix seconds
	Attrs    queueAttrs        `json:"attrs"`
	Tags     map[string]string `json:"tags,omitempty"`
	Purged   int64             `json:"purged,omitempty"` // unix ms of the last PurgeQueue
}

func queueKey(account, name string) string { return account + "." + name }

// Queue describes a queue.
type Queue struct {
	ARN     string
	Account string
	Name    string
	FIFO    bool
	// VisibilityTimeout, DelaySeconds and WaitTime are the queue's
	// defaults for receives and sends.
	VisibilityTimeout  time.Duration
	Delay              time.Duration
	WaitTime           time.Duration
	MaximumMessageSize int
	Retention          time.Duration
	// Redrive is the queue's dead-letter policy, nil when it has none.
	Redrive *RedrivePolicy
	Created time.Time
}

func (s *Service) describe(rec *queueRecord) Queue {
	q := Queue{
		ARN: ARN(s.cfg.Region, rec.Account, rec.Name), Account: rec.Account, Name: rec.Name, FIFO: rec.FIFO,
		VisibilityTimeout:  time.Duration(rec.Attrs.VisibilityTimeout) * time.Second,
		Delay:              time.Duration(rec.Attrs.DelaySeconds) * time.Second,
		WaitTime:           time.Duration(rec.Attrs.WaitTimeSeconds) * time.Second,
		MaximumMessageSize: rec.Attrs.MaximumMessageSize,
		Retention:          time.Duration(rec.Attrs.RetentionPeriod) * time.Second,
		Created:            time.Unix(rec.Created, 0),
	}
	if rec.Attrs.Redrive != nil {
		r := *rec.Attrs.Redrive
		q.Redrive = &r
	}
	return q
}

// lookup returns a queue's record, from the in-memory mirror when it has
// the queue, else from the store (another server may have just created
// it).
func (s *Service) lookup(ctx context.Context, account, name string) (*queueRecord, error) {
	if !validAccount(account) || !validName(name) {
		return nil, queueNotFound()
	}
	key := queueKey(account, name)
	s.mu.Lock()
	m := s.mirror
	s.mu.Unlock()
	if m != nil {
		if e, ok := m.Get(key); ok {
			var rec queueRecord
			if err := json.Unmarshal(e.Value, &rec); err != nil {
				return nil, fmt.Errorf("sqs: decode queue %s: %w", key, err)
			}
			return &rec, nil
		}
	}
	rec, _, err := s.load(ctx, key)
	return rec, err
}

// load reads a queue record and its revision from the store.
func (s *Service) load(ctx context.Context, key string) (*queueRecord, uint64, error) {
	var rec queueRecord
	rev, err := s.queues.GetJSON(ctx, key, &rec)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, queueNotFound()
	}
	if err != nil {
		return nil, 0, err
	}
	return &rec, rev, nil
}

// lookupARN returns the record of the queue an ARN names.
func (s *Service) lookupARN(ctx context.Context, arn string) (*queueRecord, error) {
	region, account, name, err := ParseARN(arn)
	if err != nil {
		return nil, awserr.Wrap(awserr.SQSQueueDoesNotExist, fmt.Errorf("%w: %w", ErrQueueNotFound, err), "The specified queue does not exist.")
	}
	if region != s.cfg.Region {
		return nil, queueNotFound()
	}
	return s.lookup(ctx, account, name)
}

// note records a write in the mirror so this server reads it back at once.
func (s *Service) note(key string, value []byte, rev uint64) {
	s.mu.Lock()
	m := s.mirror
	s.mu.Unlock()
	if m != nil {
		m.Note(key, value, rev)
	}
}

// update changes a queue record with optimistic concurrency: f edits a
// fresh copy (and may apply side effects, which must be idempotent) until
// the write wins.
func (s *Service) update(ctx context.Context, account, name string, f func(rec *queueRecord) error) (*queueRecord, error) {
	if !validAccount(account) || !validName(name) {
		return nil, queueNotFound()
	}
	key := queueKey(account, name)
	for range 16 {
		rec, rev, err := s.load(ctx, key)
		if err != nil {
			return nil, err
		}
		if err := f(rec); err != nil {
			return nil, err
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("sqs: encode queue: %w", err)
		}
		nrev, err := s.queues.Update(ctx, key, data, rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.note(key, data, nrev)
		return rec, nil
	}
	return nil, awserr.New(awserr.SQSRequestThrottled, "Too many concurrent changes to the queue; retry.")
}

// CreateQueue creates a queue in account, or returns the existing queue of
// that name when every attribute given has the value it already has.
func (s *Service) CreateQueue(ctx context.Context, account, name string, attrs, tags map[string]string) (Queue, error) {
	fifo := strings.EqualFold(attrs[AttrFifoQueue], "true")
	if !validName(name) || isFIFOName(name) != fifo {
		return Queue{}, invalidName(fifo)
	}
	if !validAccount(account) {
		return Queue{}, awserr.New(awserr.InvalidParameterValue, "Invalid account id.")
	}
	if err := checkTags(tags, 0); err != nil {
		return Queue{}, err
	}
	key := queueKey(account, name)
	dlq := s.dlqResolver(ctx)
	for range 4 {
		if existing, _, err := s.load(ctx, key); err == nil {
			return s.sameQueue(existing, attrs, dlq)
		} else if !awserr.IsType(err, awserr.SQSQueueDoesNotExist) {
			return Queue{}, err
		}
		now := time.Now()
		rec := &queueRecord{
			ID: newID(), Account: account, Name: name, FIFO: fifo,
			Created: now.Unix(), Modified: now.Unix(), Attrs: defaultAttrs(fifo),
		}
		if err := applyAttrs(&rec.Attrs, rec, s.cfg.Region, attrs, true, dlq); err != nil {
			return Queue{}, err
		}
		if len(tags) > 0 {
			rec.Tags = copyTags(tags)
		}
		if err := s.createStream(ctx, rec); err != nil {
			return Queue{}, err
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return Queue{}, fmt.Errorf("sqs: encode queue: %w", err)
		}
		rev, err := s.queues.Create(ctx, key, data)
		if errors.Is(err, store.ErrExists) {
			// Another request created it first: ours is an orphan.
			s.dropQueueData(ctx, rec.ID)
			continue
		}
		if err != nil {
			s.dropQueueData(ctx, rec.ID)
			return Queue{}, err
		}
		s.note(key, data, rev)
		return s.describe(rec), nil
	}
	return Queue{}, awserr.New(awserr.SQSRequestThrottled, "Too many concurrent changes to the queue; retry.")
}

// sameQueue returns an existing queue if attrs would not change it, and
// QueueNameExists otherwise.
func (s *Service) sameQueue(existing *queueRecord, attrs map[string]string, dlq func(string) *queueRecord) (Queue, error) {
	want := *existing
	if err := applyAttrs(&want.Attrs, &want, s.cfg.Region, attrs, true, dlq); err != nil {
		return Queue{}, err
	}
	have, got := settableAttrs(existing), settableAttrs(&want)
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if have[n] != got[n] {
			return Queue{}, awserr.New(awserr.SQSQueueNameExists,
				"A queue already exists with the same name and a different value for attribute %s", n)
		}
	}
	for n := range have {
		if _, ok := got[n]; !ok {
			return Queue{}, awserr.New(awserr.SQSQueueNameExists,
				"A queue already exists with the same name and a different value for attribute %s", n)
		}
	}
	return s.describe(existing), nil
}

// dlqResolver resolves dead-letter target ARNs to queue records.
func (s *Service) dlqResolver(ctx context.Context) func(string) *queueRecord {
	return func(arn string) *queueRecord {
		rec, err := s.lookupARN(ctx, arn)
		if err != nil {
			return nil
		}
		return rec
	}
}

// createStream creates a queue incarnation's stream (and, for a standard
// queue, its consumer).
func (s *Service) createStream(ctx context.Context, rec *queueRecord) error {
	cfg := jetstream.StreamConfig{
		Name:        streamName(rec.ID),
		Description: "Cloister SQS queue " + ARN(s.cfg.Region, rec.Account, rec.Name),
		Subjects:    []string{subjectRoot + rec.ID + ".>"},
		MaxAge:      time.Duration(rec.Attrs.RetentionPeriod) * time.Second,
		Storage:     jetstream.FileStorage,
		Replicas:    s.repl,
		Discard:     jetstream.DiscardOld,
	}
	if rec.FIFO {
		// FIFO messages are deleted one by one when the group state says
		// so; duplicates within the 5-minute window are dropped.
		cfg.Retention = jetstream.LimitsPolicy
		cfg.Duplicates = 5 * time.Minute
	} else {
		// An acknowledged (deleted) message leaves the stream.
		cfg.Retention = jetstream.WorkQueuePolicy
		cfg.Duplicates = 2 * time.Minute
	}
	str, err := s.js.CreateStream(ctx, cfg)
	if err != nil {
		return fmt.Errorf("sqs: create queue stream: %w", err)
	}
	rt := &queueRuntime{stream: str}
	if !rec.FIFO {
		if rt.cons, err = str.CreateOrUpdateConsumer(ctx, s.consumerConfig(rec)); err != nil {
			_ = s.js.DeleteStream(ctx, cfg.Name)
			return fmt.Errorf("sqs: create queue consumer: %w", err)
		}
	}
	s.mu.Lock()
	s.runtime[rec.ID] = rt
	s.mu.Unlock()
	return nil
}

// consumerConfig is a standard queue's consumer: the queue's visibility
// timeout is its AckWait, and every delivery counts as a receive.
func (s *Service) consumerConfig(rec *queueRecord) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       recvName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait(rec),
		MaxDeliver:    -1,
		FilterSubject: messageSubject(rec.ID),
		MaxAckPending: s.cfg.InFlightLimit,
		MaxWaiting:    1024,
	}
}

// ackWait is the consumer AckWait for a queue: its visibility timeout, at
// least a second (a zero timeout is applied per receive).
func ackWait(rec *queueRecord) time.Duration {
	return max(time.Duration(rec.Attrs.VisibilityTimeout)*time.Second, time.Second)
}

// DeleteQueue deletes a queue and all its messages.
func (s *Service) DeleteQueue(ctx context.Context, account, name string) error {
	if !validAccount(account) || !validName(name) {
		return queueNotFound()
	}
	key := queueKey(account, name)
	rec, rev, err := s.load(ctx, key)
	if err != nil {
		return err
	}
	if err := s.queues.Delete(ctx, key, rev); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return awserr.New(awserr.SQSRequestThrottled, "The queue changed while it was being deleted; retry.")
		}
		return err
	}
	s.note(key, nil, rev+1)
	s.dropQueueData(ctx, rec.ID)
	return nil
}

// GetQueue describes a queue (GetQueueUrl's existence check).
func (s *Service) GetQueue(ctx context.Context, account, name string) (Queue, error) {
	rec, err := s.lookup(ctx, account, name)
	if err != nil {
		return Queue{}, err
	}
	return s.describe(rec), nil
}

// Queue describes the queue an ARN names.
func (s *Service) Queue(ctx context.Context, queueARN string) (Queue, error) {
	rec, err := s.lookupARN(ctx, queueARN)
	if err != nil {
		return Queue{}, err
	}
	return s.describe(rec), nil
}

// maxListResults is the most queues ListQueues returns at once.
const maxListResults = 1000

// ListQueues returns the names of account's queues that start with prefix,
// in order, at most max of them (1..1000; 0 means 1000 and no paging)
// after the position next names; the returned token is "" on the last
// page.
func (s *Service) ListQueues(ctx context.Context, account, prefix string, maxResults int, next string) ([]string, string, error) {
	if maxResults < 0 || maxResults > maxListResults {
		return nil, "", awserr.New(awserr.InvalidParameterValue,
			"Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", maxResults)
	}
	if len(prefix) > maxNameLength {
		return nil, "", awserr.New(awserr.InvalidParameterValue, "Value %s for parameter QueueNamePrefix is invalid.", truncate(prefix, 128))
	}
	after, err := decodeToken(next)
	if err != nil {
		return nil, "", err
	}
	names, err := s.names(ctx, account)
	if err != nil {
		return nil, "", err
	}
	out := make([]string, 0, min(len(names), maxListResults))
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && n > after {
			out = append(out, n)
		}
	}
	limit := maxResults
	if limit == 0 {
		limit = maxListResults
	}
	token := ""
	if len(out) > limit {
		out = out[:limit]
		if maxResults > 0 {
			token = encodeToken(out[len(out)-1])
		}
	}
	return out, token, nil
}

// names lists the names of account's queues in order.
func (s *Service) names(ctx context.Context, account string) ([]string, error) {
	if !validAccount(account) {
		return nil, nil
	}
	keys, err := s.queues.Keys(ctx, account+".>")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		if n, ok := strings.CutPrefix(k, account+"."); ok && validName(n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

func encodeToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("q1:" + after))
}

func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	after, ok := strings.CutPrefix(string(b), "q1:")
	if err != nil || !ok || !validName(after) {
		return "", awserr.New(awserr.InvalidParameterValue, "Invalid NextToken value.")
	}
	return after, nil
}

// ListDeadLetterSourceQueues lists the names of account's queues whose
// RedrivePolicy targets the named queue, paged like ListQueues.
func (s *Service) ListDeadLetterSourceQueues(ctx context.Context, account, name string, maxResults int, next string) ([]string, string, error) {
	rec, err := s.lookup(ctx, account, name)
	if err != nil {
		return nil, "", err
	}
	target := ARN(s.cfg.Region, rec.Account, rec.Name)
	all, _, err := s.ListQueues(ctx, account, "", 0, "")
	if err != nil {
		return nil, "", err
	}
	var sources []string
	for _, n := range all {
		src, err := s.lookup(ctx, account, n)
		if err != nil {
			continue
		}
		if src.Attrs.Redrive != nil && src.Attrs.Redrive.DeadLetterTargetARN == target {
			sources = append(sources, n)
		}
	}
	if maxResults < 0 || maxResults > maxListResults {
		return nil, "", awserr.New(awserr.InvalidParameterValue,
			"Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", maxResults)
	}
	after, err := decodeToken(next)
	if err != nil {
		return nil, "", err
	}
	var out []string
	for _, n := range sources {
		if n > after {
			out = append(out, n)
		}
	}
	token := ""
	if maxResults > 0 && len(out) > maxResults {
		out = out[:maxResults]
		token = encodeToken(out[len(out)-1])
	}
	return out, token, nil
}

// GetQueueAttributes returns the named attributes ("All" for every one).
func (s *Service) GetQueueAttributes(ctx context.Context, account, name string, names []string) (map[string]string, error) {
	rec, err := s.lookup(ctx, account, name)
	if err != nil {
		return nil, err
	}
	settable := settableAttrs(rec)
	all := slices.Contains(names, AttrAll)
	want := map[string]bool{}
	for _, n := range names {
		if n == AttrAll {
			continue
		}
		_, known := settable[n]
		switch {
		case known, slices.Contains(readOnlyAttrs, n):
		case n == AttrPolicy || n == AttrRedrivePolicy || n == AttrRedriveAllowPolicy:
		case n == AttrFifoQueue || n == AttrContentBasedDedup || n == AttrDeduplicationScope || n == AttrFifoThroughputLimit:
			if !rec.FIFO {
				return nil, unknownAttr(n)
			}
		case n == AttrKmsMasterKeyID || n == AttrKmsDataKeyReusePeriod:
		default:
			return nil, unknownAttr(n)
		}
		want[n] = true
	}
	out := map[string]string{}
	for n, v := range settable {
		if all || want[n] {
			out[n] = v
		}
	}
	if all || want[AttrQueueArn] {
		out[AttrQueueArn] = ARN(s.cfg.Region, rec.Account, rec.Name)
	}
	if all || want[AttrCreatedTimestamp] {
		out[AttrCreatedTimestamp] = strconv.FormatInt(rec.Created, 10)
	}
	if all || want[AttrLastModifiedTimestamp] {
		out[AttrLastModifiedTimestamp] = strconv.FormatInt(rec.Modified, 10)
	}
	if all || want[AttrApproxMessages] || want[AttrApproxNotVisible] || want[AttrApproxDelayed] {
		c, err := s.counts(ctx, rec)
		if err != nil {
			return nil, err
		}
		if all || want[AttrApproxMessages] {
			out[AttrApproxMessages] = strconv.FormatInt(c.visible, 10)
		}
		if all || want[AttrApproxNotVisible] {
			out[AttrApproxNotVisible] = strconv.FormatInt(c.inFlight, 10)
		}
		if all || want[AttrApproxDelayed] {
			out[AttrApproxDelayed] = strconv.FormatInt(c.delayed, 10)
		}
	}
	return out, nil
}

// SetQueueAttributes changes queue attributes.
func (s *Service) SetQueueAttributes(ctx context.Context, account, name string, attrs map[string]string) error {
	if len(attrs) == 0 {
		return awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter Attribute.Name.")
	}
	dlq := s.dlqResolver(ctx)
	_, err := s.update(ctx, account, name, func(rec *queueRecord) error {
		old := rec.Attrs
		if err := applyAttrs(&rec.Attrs, rec, s.cfg.Region, attrs, false, dlq); err != nil {
			return err
		}
		rec.Modified = time.Now().Unix()
		return s.reconfigure(ctx, rec, old)
	})
	return err
}

// reconfigure brings a queue's stream and consumer in line with changed
// attributes (idempotent: it may run again if the record write loses a
// race).
func (s *Service) reconfigure(ctx context.Context, rec *queueRecord, old queueAttrs) error {
	rt, err := s.handles(ctx, rec)
	if err != nil {
		return err
	}
	if rec.Attrs.RetentionPeriod != old.RetentionPeriod {
		info, err := rt.stream.Info(ctx)
		if err != nil {
			return s.streamErr(err)
		}
		cfg := info.Config
		cfg.MaxAge = time.Duration(rec.Attrs.RetentionPeriod) * time.Second
		if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
			return s.streamErr(err)
		}
		s.forget(rec.ID)
	}
	if !rec.FIFO && rec.Attrs.VisibilityTimeout != old.VisibilityTimeout {
		if _, err := rt.stream.CreateOrUpdateConsumer(ctx, s.consumerConfig(rec)); err != nil {
			return s.streamErr(err)
		}
		s.forget(rec.ID)
	}
	return nil
}

// Tag limits.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

func checkTags(tags map[string]string, existing int) error {
	if len(tags)+existing > maxTags {
		return awserr.New(awserr.InvalidParameterValue, "Too many tags added for queue: a queue can have at most %d tags.", maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > maxTagKeyLen || len(v) > maxTagValueLen || strings.HasPrefix(strings.ToLower(k), "aws:") ||
			validChars(k) >= 0 || validChars(v) >= 0 {
			return awserr.New(awserr.InvalidParameterValue, "Tag key or value is invalid: %s", truncate(k, 128))
		}
	}
	return nil
}

func copyTags(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TagQueue adds or replaces tags.
func (s *Service) TagQueue(ctx context.Context, account, name string, tags map[string]string) error {
	if len(tags) == 0 {
		return awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter Tags.")
	}
	_, err := s.update(ctx, account, name, func(rec *queueRecord) error {
		added := 0
		for k := range tags {
			if _, ok := rec.Tags[k]; !ok {
				added++
			}
		}
		if err := checkTags(tags, len(rec.Tags)+added-len(tags)); err != nil {
			return err
		}
		if rec.Tags == nil {
			rec.Tags = map[string]string{}
		}
		for k, v := range tags {
			rec.Tags[k] = v
		}
		return nil
	})
	return err
}

// UntagQueue removes tags (absent keys are ignored).
func (s *Service) UntagQueue(ctx context.Context, account, name string, keys []string) error {
	if len(keys) == 0 {
		return awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter TagKeys.")
	}
	_, err := s.update(ctx, account, name, func(rec *queueRecord) error {
		for _, k := range keys {
			delete(rec.Tags, k)
		}
		if len(rec.Tags) == 0 {
			rec.Tags = nil
		}
		return nil
	})
	return err
}

// ListQueueTags returns a queue's tags.
func (s *Service) ListQueueTags(ctx context.Context, account, name string) (map[string]string, error) {
	rec, err := s.lookup(ctx, account, name)
	if err != nil {
		return nil, err
	}
	return copyTags(rec.Tags), nil
}

// purgeInterval is how often a queue may be purged.
const purgeInterval = 60 * time.Second

// PurgeQueue deletes every message in a queue, in flight and delayed ones
// included. A queue may be purged once a minute.
func (s *Service) PurgeQueue(ctx context.Context, account, name string) error {
	now := time.Now()
	rec, err := s.update(ctx, account, name, func(rec *queueRecord) error {
		if last := time.UnixMilli(rec.Purged); rec.Purged > 0 && now.Sub(last) < purgeInterval {
			return awserr.New(awserr.SQSPurgeQueueInProgress,
				"Only one PurgeQueue operation on %s is allowed every 60 seconds.", rec.Name)
		}
		rec.Purged = now.UnixMilli()
		return nil
	})
	if err != nil {
		return err
	}
	rt, err := s.handles(ctx, rec)
	if err != nil {
		return err
	}
	if err := rt.stream.Purge(ctx); err != nil {
		return s.streamErr(err)
	}
	if !rec.FIFO {
		if err := s.delay.Purge(ctx, jetstream.WithPurgeSubject(delaySubject+rec.ID)); err != nil {
			return fmt.Errorf("sqs: purge delayed messages: %w", err)
		}
	} else {
		s.dropGroups(ctx, rec.ID)
		s.notify(rec.ID)
	}
	return nil
}

// QueuePolicy returns the queue's resource-based policy (its Policy
// attribute), or nil when it has none. The authorizer evaluates it for
// requests on the queue.
func (s *Service) QueuePolicy(ctx context.Context, queueARN string) (*policy.Policy, error) {
	rec, err := s.lookupARN(ctx, queueARN)
	if err != nil {
		return nil, err
	}
	if rec.Attrs.Policy == "" {
		return nil, nil
	}
	p, err := policy.Parse([]byte(rec.Attrs.Policy), policy.Resource)
	if err != nil {
		return nil, fmt.Errorf("sqs: stored policy of %s: %w", queueARN, err)
	}
	return p, nil
}

// counts are a queue's approximate message counts.
type counts struct{ visible, inFlight, delayed int64 }

func (s *Service) counts(ctx context.Context, rec *queueRecord) (counts, error) {
	rt, err := s.handles(ctx, rec)
	if err != nil {
		return counts{}, err
	}
	if rec.FIFO {
		return s.fifoCounts(ctx, rec, rt)
	}
	info, err := rt.cons.Info(ctx)
	if err != nil {
		return counts{}, s.streamErr(err)
	}
	c := counts{visible: int64(info.NumPending), inFlight: int64(info.NumAckPending)}
	subj := delaySubject + rec.ID
	dinfo, err := s.delay.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return counts{}, fmt.Errorf("sqs: delay stream info: %w", err)
	}
	c.delayed = int64(dinfo.State.Subjects[subj])
	return c, nil
}
