package sqs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cloister/cloister/internal/awserr"
)

// Message is a received message.
type Message struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	MD5OfBody     string
	// Attributes holds every user attribute of the message;
	// SelectAttributes picks the ones a receive asked for.
	Attributes map[string]MessageAttribute
	// SystemAttributes holds the system attributes the sender set
	// (AWSTraceHeader).
	SystemAttributes map[string]MessageAttribute
	SenderID         string
	SentTimestamp    time.Time
	// FirstReceiveTimestamp is when the message was first received.
	FirstReceiveTimestamp time.Time
	// ReceiveCount counts receives, this one included.
	ReceiveCount int
	// FIFO queues: the message group, deduplication id and sequence number.
	GroupID         string
	DeduplicationID string
	SequenceNumber  string
	// DeadLetterSourceARN is the queue a dead-lettered message came from.
	DeadLetterSourceARN string
	// Depth is the message's depth (SendInput.Depth): internal, not an
	// SQS attribute.
	Depth int
}

// System attribute names (ReceiveMessage's AttributeNames).
const (
	SysSenderID              = "SenderId"
	SysSentTimestamp         = "SentTimestamp"
	SysReceiveCount          = "ApproximateReceiveCount"
	SysFirstReceiveTimestamp = "ApproximateFirstReceiveTimestamp"
	SysSequenceNumber        = "SequenceNumber"
	SysDeduplicationID       = "MessageDeduplicationId"
	SysGroupID               = "MessageGroupId"
	SysTraceHeader           = "AWSTraceHeader"
	SysDeadLetterSourceARN   = "DeadLetterQueueSourceArn"
)

// SystemAttributeValues returns the message's system attributes as SQS
// names and formats them (timestamps in epoch milliseconds), the ones a
// message does not have left out. It is what ReceiveMessage returns for
// AttributeNames "All", and what a Lambda event record's "attributes" hold.
func (m *Message) SystemAttributeValues() map[string]string {
	out := map[string]string{
		SysSenderID:              m.SenderID,
		SysSentTimestamp:         strconv.FormatInt(m.SentTimestamp.UnixMilli(), 10),
		SysReceiveCount:          strconv.Itoa(m.ReceiveCount),
		SysFirstReceiveTimestamp: strconv.FormatInt(m.FirstReceiveTimestamp.UnixMilli(), 10),
	}
	if m.SenderID == "" {
		delete(out, SysSenderID)
	}
	if m.GroupID != "" {
		out[SysGroupID] = m.GroupID
	}
	if m.DeduplicationID != "" {
		out[SysDeduplicationID] = m.DeduplicationID
	}
	if m.SequenceNumber != "" {
		out[SysSequenceNumber] = m.SequenceNumber
	}
	if t, ok := m.SystemAttributes[traceHeader]; ok {
		out[SysTraceHeader] = t.StringValue
	}
	if m.DeadLetterSourceARN != "" {
		out[SysDeadLetterSourceARN] = m.DeadLetterSourceARN
	}
	return out
}

// ReceiveInput says how to receive.
type ReceiveInput struct {
	// MaxMessages is 1 to 10; 0 means 1.
	MaxMessages int
	// WaitTime (0 to 20 s) is how long to wait for a first message; nil
	// means the queue's ReceiveMessageWaitTimeSeconds.
	WaitTime *time.Duration
	// VisibilityTimeout (0 to 12 h) hides the received messages; nil means
	// the queue's.
	VisibilityTimeout *time.Duration
}

func seconds(d time.Duration) int64 { return int64(math.Ceil(d.Seconds())) }

func (in *ReceiveInput) resolve(rec *queueRecord) (n int, wait, vis time.Duration, err error) {
	n = in.MaxMessages
	if n == 0 {
		n = 1
	}
	if n < 1 || n > MaxBatchEntries {
		return 0, 0, 0, awserr.New(awserr.InvalidParameterValue,
			"Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", n)
	}
	wait = time.Duration(rec.Attrs.WaitTimeSeconds) * time.Second
	if in.WaitTime != nil {
		wait = *in.WaitTime
		if wait < 0 || wait > maxWait*time.Second {
			return 0, 0, 0, awserr.New(awserr.InvalidParameterValue,
				"Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", seconds(wait))
		}
	}
	vis = time.Duration(rec.Attrs.VisibilityTimeout) * time.Second
	if in.VisibilityTimeout != nil {
		vis = *in.VisibilityTimeout
		if vis < 0 || vis > maxVisibility*time.Second {
			return 0, 0, 0, awserr.New(awserr.InvalidParameterValue,
				"Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", seconds(vis))
		}
	}
	return n, wait, vis, nil
}

// ReceiveMessage receives up to in.MaxMessages messages, waiting up to the
// wait time for the first one, and hides them for the visibility timeout.
func (s *Service) ReceiveMessage(ctx context.Context, account, name string, in ReceiveInput) ([]Message, error) {
	rec, err := s.lookup(ctx, account, name)
	if err != nil {
		return nil, err
	}
	return s.receive(ctx, rec, in)
}

// Receive receives up to maxMessages messages (1..10) from the queue
// queueARN names, waiting up to wait (at most 20 s) for the first.
// visibility hides them; zero or less means the queue's visibility
// timeout.
func (s *Service) Receive(ctx context.Context, queueARN string, maxMessages int, wait, visibility time.Duration) ([]Message, error) {
	rec, err := s.lookupARN(ctx, queueARN)
	if err != nil {
		return nil, err
	}
	in := ReceiveInput{MaxMessages: maxMessages, WaitTime: &wait}
	if visibility > 0 {
		in.VisibilityTimeout = &visibility
	}
	return s.receive(ctx, rec, in)
}

func (s *Service) receive(ctx context.Context, rec *queueRecord, in ReceiveInput) ([]Message, error) {
	n, wait, vis, err := in.resolve(rec)
	if err != nil {
		return nil, err
	}
	rt, err := s.handles(ctx, rec)
	if err != nil {
		return nil, err
	}
	if rec.FIFO {
		return s.receiveFIFO(ctx, rec, rt, n, wait, vis)
	}
	return s.receiveStandard(ctx, rec, rt, n, wait, vis)
}

// DeleteMessage deletes the message a receipt handle names.
func (s *Service) DeleteMessage(ctx context.Context, account, name, handle string) error {
	rec, err := s.lookup(ctx, account, name)
	if err != nil {
		return err
	}
	return s.deleteMessage(ctx, rec, handle)
}

// Delete deletes the message a receipt handle names from the queue
// queueARN names.
func (s *Service) Delete(ctx context.Context, queueARN, receiptHandle string) error {
	rec, err := s.lookupARN(ctx, queueARN)
	if err != nil {
		return err
	}
	return s.deleteMessage(ctx, rec, receiptHandle)
}

func (s *Service) deleteMessage(ctx context.Context, rec *queueRecord, handle string) error {
	r, err := s.openReceipt(rec, handle)
	if err != nil {
		return err
	}
	rt, err := s.handles(ctx, rec)
	if err != nil {
		return err
	}
	if rec.FIFO {
		return s.deleteFIFO(ctx, rec, rt, r)
	}
	return s.deleteStandard(ctx, rec, r)
}

// ChangeMessageVisibility makes the message a receipt handle names visible
// again after timeout (0 to 12 h, counted from now; the total since the
// receive may not exceed 12 h).
func (s *Service) ChangeMessageVisibility(ctx context.Context, account, name, handle string, timeout time.Duration) error {
	rec, err := s.lookup(ctx, account, name)
	if err != nil {
		return err
	}
	return s.changeVisibility(ctx, rec, handle, timeout)
}

// ChangeVisibility is ChangeMessageVisibility on the queue queueARN names.
func (s *Service) ChangeVisibility(ctx context.Context, queueARN, receiptHandle string, timeout time.Duration) error {
	rec, err := s.lookupARN(ctx, queueARN)
	if err != nil {
		return err
	}
	return s.changeVisibility(ctx, rec, receiptHandle, timeout)
}

func (s *Service) changeVisibility(ctx context.Context, rec *queueRecord, handle string, timeout time.Duration) error {
	if timeout < 0 || timeout > maxVisibility*time.Second {
		return awserr.New(awserr.InvalidParameterValue,
			"Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", seconds(timeout))
	}
	r, err := s.openReceipt(rec, handle)
	if err != nil {
		return err
	}
	now := time.Now()
	if now.Add(timeout).Sub(r.receivedAt()) > maxVisibility*time.Second {
		return awserr.New(awserr.InvalidParameterValue,
			"Value %d for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]", seconds(timeout))
	}
	rt, err := s.handles(ctx, rec)
	if err != nil {
		return err
	}
	if rec.FIFO {
		return s.changeFIFO(ctx, rec, rt, r, now, timeout)
	}
	return s.changeStandard(ctx, rt, r, handle, timeout)
}

// openReceipt opens a receipt handle and checks that it belongs to this
// incarnation of the queue.
func (s *Service) openReceipt(rec *queueRecord, handle string) (receipt, error) {
	r, err := s.seal.open(handle)
	if err != nil || r.queue != rec.ID || (r.kind == kindFIFO) != rec.FIFO {
		return receipt{}, invalidReceipt(handle)
	}
	return r, nil
}

func invalidReceipt(handle string) error {
	return awserr.Wrap(awserr.SQSReceiptHandleIsInvalid, ErrInvalidReceipt,
		fmt.Sprintf("The input receipt handle \"%s\" is not a valid receipt handle.", truncate(handle, 256)))
}

// stored is a message as read from its stream.
type stored struct {
	stream string
	seq    uint64
	time   time.Time
	header nats.Header
	data   []byte
}

// decode turns a stored message into a Message (receipt handle, receive
// count and first receive time are the caller's to fill in).
func (s *Service) decode(m stored) (Message, error) {
	env, err := unmarshalEnvelope(m.data)
	if err != nil {
		return Message{}, fmt.Errorf("sqs: %s message %d: %w", m.stream, m.seq, err)
	}
	msg := Message{
		MessageID:           m.header.Get(hdrID),
		Body:                env.Body,
		MD5OfBody:           MD5OfBody(env.Body),
		Attributes:          env.Attrs,
		SystemAttributes:    env.System,
		SenderID:            m.header.Get(hdrSender),
		SentTimestamp:       unixMilli(m.header, hdrSent),
		GroupID:             m.header.Get(hdrGroup),
		DeduplicationID:     m.header.Get(hdrDedup),
		DeadLetterSourceARN: m.header.Get(hdrSource),
		Depth:               env.Depth,
	}
	if msg.MessageID == "" {
		msg.MessageID = messageID(m.stream, m.seq)
	}
	if msg.SentTimestamp.IsZero() {
		msg.SentTimestamp = time.UnixMilli(m.time.UnixMilli())
	}
	return msg, nil
}

// errNoDLQ means a queue's dead-letter target is gone.
var errNoDLQ = errors.New("sqs: dead-letter queue does not exist")
