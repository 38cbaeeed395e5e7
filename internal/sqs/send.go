package sqs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/awserr"
)

// SendInput is one message to send.
type SendInput struct {
	Body string
	// DelaySeconds overrides the queue's DelaySeconds (0..900) when not nil.
	// FIFO queues only take the queue's.
	DelaySeconds *int
	Attributes   map[string]MessageAttribute
	// SystemAttributes may hold AWSTraceHeader.
	SystemAttributes map[string]MessageAttribute
	// GroupID is required for FIFO queues (MessageGroupId).
	GroupID string
	// DeduplicationID is the FIFO MessageDeduplicationId; empty means the
	// SHA-256 of the body when the queue has ContentBasedDeduplication.
	DeduplicationID string
	// SenderID is reported as the message's SenderId (the sending
	// principal's user id, or the account id).
	SenderID string
	// Depth is how many invocations led to the message: one more than the
	// depth of the invocation whose function sent it, 0 for a message a
	// client sent. It is stored with the message, kept when the message
	// is dead-lettered, and never shown to clients; event source mappings
	// use it to stop recursive loops.
	Depth int
}

// SendResult is what SendMessage returns.
type SendResult struct {
	MessageID             string
	MD5OfBody             string
	MD5OfAttributes       string // "" without attributes
	MD5OfSystemAttributes string // "" without system attributes
	SequenceNumber        string // FIFO only
}

// BatchEntry is one entry of SendMessageBatch.
type BatchEntry struct {
	ID    string
	Input SendInput
}

// BatchResult is the outcome of one batch entry: Result, or Err (an
// *awserr.Error whose type is the entry's error code).
type BatchResult struct {
	ID     string
	Result SendResult
	Err    error
}

// outgoing is a validated message ready to publish.
type outgoing struct {
	msg    *nats.Msg
	stream string
	id     string // explicit MessageId ("" to derive it)
	res    SendResult
	size   int
}

// SendMessage sends a message to a queue. It returns once the message is
// stored durably (the store's acknowledgement, after its fsync).
func (s *Service) SendMessage(ctx context.Context, account, name string, in SendInput) (SendResult, error) {
	rec, err := s.lookup(ctx, account, name)
	if err != nil {
		return SendResult{}, err
	}
	return s.send(ctx, rec, in)
}

// Send sends body (with optional attributes) to the queue queueARN names,
// as the queue's own account. For FIFO queues use SendMessage, which takes
// a message group.
func (s *Service) Send(ctx context.Context, queueARN, body string, attrs map[string]MessageAttribute) (SendResult, error) {
	rec, err := s.lookupARN(ctx, queueARN)
	if err != nil {
		return SendResult{}, err
	}
	return s.send(ctx, rec, SendInput{Body: body, Attributes: attrs, SenderID: rec.Account})
}

func (s *Service) send(ctx context.Context, rec *queueRecord, in SendInput) (SendResult, error) {
	out, err := s.prepare(rec, in, time.Now())
	if err != nil {
		return SendResult{}, err
	}
	ack, err := s.js.PublishMsg(ctx, out.msg, jetstream.WithExpectStream(out.stream))
	if err != nil {
		return SendResult{}, s.publishErr(err)
	}
	return s.finish(rec, out, ack), nil
}

// finish completes a send's result from the store's acknowledgement.
func (s *Service) finish(rec *queueRecord, out *outgoing, ack *jetstream.PubAck) SendResult {
	res := out.res
	res.MessageID = out.id
	if res.MessageID == "" {
		// A duplicate (FIFO) acknowledges the original's sequence, so it
		// gets the original's id.
		res.MessageID = messageID(ack.Stream, ack.Sequence)
	}
	if rec.FIFO {
		res.SequenceNumber = fmt.Sprintf("%020d", ack.Sequence)
		s.notify(rec.ID)
	}
	return res
}

func (s *Service) publishErr(err error) error {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return queueNotFound()
	}
	return fmt.Errorf("sqs: publish: %w", err)
}

// SendMessageBatch sends up to ten messages. Entries fail or succeed one by
// one; the error is for the request as a whole.
func (s *Service) SendMessageBatch(ctx context.Context, account, name string, entries []BatchEntry) ([]BatchResult, error) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	if err := CheckBatchIDs("SendMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	rec, err := s.lookup(ctx, account, name)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	results := make([]BatchResult, len(entries))
	outs := make([]*outgoing, len(entries))
	total := 0
	for i, e := range entries {
		results[i].ID = e.ID
		out, err := s.prepare(rec, e.Input, now)
		if err != nil {
			results[i].Err = err
			continue
		}
		outs[i] = out
		total += out.size
	}
	if total > MaxMessageSize {
		return nil, awserr.New(awserr.SQSBatchRequestTooLong,
			"Batch requests cannot be longer than %d bytes. You have sent %d bytes.", MaxMessageSize, total)
	}
	// Publish all, then wait for all acknowledgements: one round of
	// durable writes instead of ten in a row.
	futures := make([]jetstream.PubAckFuture, len(entries))
	for i, out := range outs {
		if out == nil {
			continue
		}
		f, err := s.js.PublishMsgAsync(out.msg, jetstream.WithExpectStream(out.stream))
		if err != nil {
			results[i].Err = s.publishErr(err)
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			results[i].Result = s.finish(rec, outs[i], ack)
		case err := <-f.Err():
			results[i].Err = s.publishErr(err)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return results, nil
}

// CheckBatchIDs validates the entry ids of a batch request: 1 to 10
// entries, each id 1 to 80 letters, digits, hyphens and underscores, no id
// twice. entry names the entry type in messages
// ("DeleteMessageBatchRequestEntry").
func CheckBatchIDs(entry string, ids []string) error {
	if len(ids) == 0 {
		return awserr.New(awserr.SQSEmptyBatchRequest, "There should be at least one %s in the request.", entry)
	}
	if len(ids) > MaxBatchEntries {
		return awserr.New(awserr.SQSTooManyEntriesInBatchRequest,
			"Maximum number of entries per request are %d. You have sent %d.", MaxBatchEntries, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !validBatchID(id) {
			return awserr.New(awserr.SQSInvalidBatchEntryID,
				"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return awserr.New(awserr.SQSBatchEntryIdsNotDistinct, "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

func validBatchID(id string) bool {
	if id == "" || len(id) > 80 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !nameChar(id[i]) {
			return false
		}
	}
	return true
}

// validFIFOID reports whether s is a MessageGroupId or
// MessageDeduplicationId: 1 to 128 letters, digits and ASCII punctuation.
func validFIFOID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// notForQueueType is SQS's error for a parameter the queue's type forbids.
func notForQueueType(param, value string) error {
	return awserr.New(awserr.InvalidParameterValue,
		"Value %s for parameter %s is invalid. Reason: The request include parameter that is not valid for this queue type.", truncate(value, 128), param)
}

// prepare validates a message and builds what to publish.
func (s *Service) prepare(rec *queueRecord, in SendInput, now time.Time) (*outgoing, error) {
	if err := checkBody(in.Body); err != nil {
		return nil, err
	}
	attrSize, err := checkAttributes(in.Attributes)
	if err != nil {
		return nil, err
	}
	if err := checkSystemAttributes(in.SystemAttributes); err != nil {
		return nil, err
	}
	size := len(in.Body) + attrSize
	if size > rec.Attrs.MaximumMessageSize {
		return nil, awserr.New(awserr.InvalidParameterValue,
			"One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", rec.Attrs.MaximumMessageSize)
	}
	delay := time.Duration(rec.Attrs.DelaySeconds) * time.Second
	if in.DelaySeconds != nil {
		if rec.FIFO {
			return nil, notForQueueType("DelaySeconds", strconv.Itoa(*in.DelaySeconds))
		}
		if d := *in.DelaySeconds; d < 0 || d > maxDelay {
			return nil, awserr.New(awserr.InvalidParameterValue,
				"Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", d)
		}
		delay = time.Duration(*in.DelaySeconds) * time.Second
	}
	if in.GroupID != "" && !validFIFOID(in.GroupID) {
		return nil, awserr.New(awserr.InvalidParameterValue,
			"Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.", truncate(in.GroupID, 128))
	}
	if in.DeduplicationID != "" && !validFIFOID(in.DeduplicationID) {
		return nil, awserr.New(awserr.InvalidParameterValue,
			"Value %s for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.", truncate(in.DeduplicationID, 128))
	}
	env := envelope{Body: in.Body, Attrs: in.Attributes, System: in.SystemAttributes, Depth: min(max(in.Depth, 0), maxEnvelopeDepth)}
	msg := &nats.Msg{Header: nats.Header{}, Data: env.marshal()}
	// SQS timestamps are milliseconds; SentTimestamp is when the message
	// was accepted.
	now = time.UnixMilli(now.UnixMilli())
	msg.Header.Set(hdrSent, formatMilli(now))
	if in.SenderID != "" {
		msg.Header.Set(hdrSender, in.SenderID)
	}
	out := &outgoing{msg: msg, size: size, res: SendResult{
		MD5OfBody:             MD5OfBody(in.Body),
		MD5OfAttributes:       MD5OfAttributes(in.Attributes),
		MD5OfSystemAttributes: MD5OfAttributes(in.SystemAttributes),
	}}
	if in.GroupID != "" {
		msg.Header.Set(hdrGroup, in.GroupID)
	}
	if !rec.FIFO {
		if in.DeduplicationID != "" {
			return nil, notForQueueType("MessageDeduplicationId", in.DeduplicationID)
		}
		if delay > 0 {
			// Delayed messages wait in the delay stream; the mover
			// publishes them to the queue when they are due, keeping the
			// id and send time they got here.
			out.id = newUUID()
			msg.Subject = delaySubject + rec.ID
			msg.Header.Set(hdrID, out.id)
			msg.Header.Set(hdrDue, formatMilli(now.Add(delay)))
			out.stream = delayStream
			return out, nil
		}
		msg.Subject = messageSubject(rec.ID)
		out.stream = streamName(rec.ID)
		return out, nil
	}
	if in.GroupID == "" {
		return nil, awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter MessageGroupId.")
	}
	dedup := in.DeduplicationID
	if dedup == "" {
		if !rec.Attrs.ContentBasedDedup {
			return nil, awserr.New(awserr.InvalidParameterValue,
				"The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
		sum := sha256.Sum256([]byte(in.Body))
		dedup = hex.EncodeToString(sum[:])
	}
	gk := groupKey(in.GroupID)
	msg.Subject = groupSubject(rec.ID, gk)
	msg.Header.Set(hdrDedup, dedup)
	msgID := "d:" + dedup
	if rec.Attrs.DedupScope == "messageGroup" {
		msgID = "g:" + gk + ":" + dedup
	}
	msg.Header.Set(nats.MsgIdHdr, msgID)
	if delay > 0 {
		msg.Header.Set(hdrVisible, formatMilli(now.Add(delay)))
	}
	out.stream = streamName(rec.ID)
	return out, nil
}

// groupKey is the subject token for a message group: a digest of its id
// (group ids may hold characters subjects cannot).
func groupKey(group string) string {
	sum := sha256.Sum256([]byte(group))
	return hex.EncodeToString(sum[:16])
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
