package sqs

import (
	"context"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/awserr"
)

// redrive moves a message that was received too often to its queue's
// dead-letter queue, keeping its id, send time, sender and attributes and
// naming the source queue. The move is idempotent within the dead-letter
// queue's duplicate window, so a crash between moving and removing the
// original does not leave two copies. errNoDLQ means the target is gone.
func (s *Service) redrive(ctx context.Context, src *queueRecord, sm stored, msg Message) error {
	dlq, err := s.lookupARN(ctx, src.Attrs.Redrive.DeadLetterTargetARN)
	if awserr.IsType(err, awserr.SQSQueueDoesNotExist) {
		return errNoDLQ
	}
	if err != nil {
		return err
	}
	m := &nats.Msg{Header: nats.Header{}, Data: sm.data}
	m.Header.Set(hdrID, msg.MessageID)
	m.Header.Set(hdrSent, formatMilli(msg.SentTimestamp))
	if msg.SenderID != "" {
		m.Header.Set(hdrSender, msg.SenderID)
	}
	m.Header.Set(hdrSource, ARN(s.cfg.Region, src.Account, src.Name))
	m.Header.Set(nats.MsgIdHdr, "r:"+src.ID+":"+strconv.FormatUint(sm.seq, 10))
	if dlq.FIFO {
		m.Subject = groupSubject(dlq.ID, groupKey(msg.GroupID))
		m.Header.Set(hdrGroup, msg.GroupID)
		if msg.DeduplicationID != "" {
			m.Header.Set(hdrDedup, msg.DeduplicationID)
		}
	} else {
		m.Subject = messageSubject(dlq.ID)
		if msg.GroupID != "" {
			m.Header.Set(hdrGroup, msg.GroupID)
		}
	}
	if _, err := s.js.PublishMsg(ctx, m, jetstream.WithExpectStream(streamName(dlq.ID))); err != nil {
		if err := s.publishErr(err); awserr.IsType(err, awserr.SQSQueueDoesNotExist) {
			return errNoDLQ
		}
		return s.publishErr(err)
	}
	if dlq.FIFO {
		s.notify(dlq.ID)
	}
	return nil
}
