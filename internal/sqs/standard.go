package sqs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/awserr"
)

// ackTimeout bounds a wait for the server's answer to an ack or nak.
const ackTimeout = 10 * time.Second

// receiveStandard receives from a standard queue through its consumer: a
// delivery is a receive, the consumer's delivery count is the receive
// count, and AckWait (or a nak with delay) is the visibility timeout.
func (s *Service) receiveStandard(ctx context.Context, rec *queueRecord, rt *queueRuntime, n int, wait, vis time.Duration) ([]Message, error) {
	deadline := time.Now().Add(wait)
	for {
		got, err := s.pull(ctx, rt, n, time.Until(deadline))
		if err != nil {
			return nil, err
		}
		now := time.UnixMilli(time.Now().UnixMilli())
		out := make([]Message, 0, len(got))
		for _, m := range got {
			msg, ok, err := s.deliver(ctx, rec, m, now, vis)
			if err != nil {
				// No handle reaches the client: make every delivery of
				// this receive visible again.
				s.release(got)
				return nil, err
			}
			if ok {
				out = append(out, msg)
			}
		}
		// Deliveries that were all redriven or dropped leave time to wait.
		if len(out) > 0 || len(got) == 0 || !time.Now().Before(deadline) {
			return out, nil
		}
	}
}

// pull fetches up to n deliveries: what is ready at once, or else, with
// time to wait, it long-polls for one and then takes what else is ready
// (SQS answers as soon as it has something to return). A queue with as
// many messages in flight as its limit is refused with OverLimit, as SQS
// refuses it, rather than answered empty after the wait.
func (s *Service) pull(ctx context.Context, rt *queueRuntime, n int, wait time.Duration) ([]jetstream.Msg, error) {
	got, err := s.fetchNow(rt, n)
	if err != nil || len(got) > 0 {
		return got, err
	}
	ci, err := rt.cons.Info(ctx)
	if err != nil {
		return nil, s.streamErr(err)
	}
	if ci.NumAckPending >= ci.Config.MaxAckPending {
		// The consumer would hold back every delivery; SQS refuses.
		return nil, awserr.New(awserr.SQSOverLimit,
			"The queue has reached its limit of %d messages in flight.", ci.Config.MaxAckPending)
	}
	if wait < 50*time.Millisecond {
		// A no-wait pull is answered from the consumer's count of pending
		// messages, which the server updates asynchronously after it has
		// acknowledged a publish: a message sent a moment ago can be
		// missed. Ask the stream itself, and if it holds messages the
		// consumer has not delivered yet, wait (briefly) for the first.
		si, err := rt.stream.Info(ctx)
		if err != nil {
			return nil, s.streamErr(err)
		}
		if si.State.LastSeq <= ci.Delivered.Stream {
			return nil, nil
		}
		wait = shortPollGrace
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	b, err := rt.cons.Fetch(1, jetstream.FetchContext(wctx))
	if err != nil {
		cancel()
		return nil, s.streamErr(err)
	}
	got = got[:0]
	for m := range b.Messages() {
		got = append(got, m)
	}
	cancel()
	if err := b.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		s.release(got)
		return nil, s.streamErr(err)
	}
	if err := ctx.Err(); err != nil {
		s.release(got)
		return nil, err
	}
	if len(got) == 1 && n > 1 {
		more, err := s.fetchNow(rt, n-1)
		if err != nil {
			s.release(got)
			return nil, err
		}
		got = append(got, more...)
	}
	return got, nil
}

// shortPollGrace bounds a short poll's wait for a message the stream holds
// but its consumer has not yet counted (see pull). The wait ends as soon
// as the message is delivered; the bound only matters if it vanishes
// meanwhile (a purge).
const shortPollGrace = 250 * time.Millisecond

func (s *Service) fetchNow(rt *queueRuntime, n int) ([]jetstream.Msg, error) {
	b, err := rt.cons.FetchNoWait(n)
	if err != nil {
		return nil, s.streamErr(err)
	}
	var got []jetstream.Msg
	for m := range b.Messages() {
		got = append(got, m)
	}
	if err := b.Error(); err != nil {
		s.release(got)
		return nil, s.streamErr(err)
	}
	return got, nil
}

// release makes fetched messages visible again at once (a receive that
// failed or was abandoned). Their receive counts stay incremented, as a
// lost ReceiveMessage response's would.
func (s *Service) release(msgs []jetstream.Msg) {
	for _, m := range msgs {
		if err := m.Nak(); err != nil {
			s.log.Warn("release message", "err", err)
		}
	}
}

// deliver turns one delivery into a received message: it redrives a
// message received too often, applies a visibility timeout other than the
// queue's, records the first receive and seals a receipt handle. ok is
// false when the message is not returned.
func (s *Service) deliver(ctx context.Context, rec *queueRecord, m jetstream.Msg, now time.Time, vis time.Duration) (Message, bool, error) {
	meta, err := m.Metadata()
	if err != nil {
		return Message{}, false, fmt.Errorf("sqs: delivery metadata: %w", err)
	}
	sm := stored{stream: meta.Stream, seq: meta.Sequence.Stream, time: meta.Timestamp, header: m.Headers(), data: m.Data()}
	msg, err := s.decode(sm)
	if err != nil {
		// Not a message this service wrote: drop it rather than deliver
		// garbage forever.
		s.log.Error("dropping undecodable message", "queue_id", rec.ID, "seq", sm.seq, "err", err)
		_ = m.Term()
		return Message{}, false, nil
	}
	count := meta.NumDelivered
	if rp := rec.Attrs.Redrive; rp != nil && count > uint64(rp.MaxReceiveCount) {
		err := s.redrive(ctx, rec, sm, msg)
		if err == nil {
			if err := ackSync(ctx, s.nc, m.Reply(), "+ACK"); err != nil {
				return Message{}, false, err
			}
			return Message{}, false, nil
		}
		if !errors.Is(err, errNoDLQ) {
			return Message{}, false, err
		}
		// Without its dead-letter queue the message stays in the queue.
		s.log.Warn("dead-letter queue missing; message stays", "queue_id", rec.ID, "dlq", rp.DeadLetterTargetARN)
	}
	if vis != time.Duration(rec.Attrs.VisibilityTimeout)*time.Second || vis < time.Second {
		if err := nak(ctx, s.nc, m.Reply(), vis); err != nil {
			return Message{}, false, err
		}
	}
	key := firstKey{queue: rec.ID, seq: sm.seq}
	msg.FirstReceiveTimestamp = now
	if count <= 1 {
		s.seen.put(key, now.UnixMilli())
	} else {
		msg.FirstReceiveTimestamp = s.firstReceive(ctx, key, count, now)
	}
	msg.ReceiveCount = int(count)
	msg.ReceiptHandle = s.seal.seal(receipt{
		kind: kindStandard, queue: rec.ID, seq: sm.seq, count: count, at: now.UnixMilli(), reply: m.Reply(),
	})
	return msg, true, nil
}

// firstReceive finds when a redelivered message was first received: this
// server remembers its own first deliveries, and on the first redelivery
// it records the time in the store (first writer wins) for other servers
// and restarts. A first receive no server recorded (another server's, or
// one before a restart) is taken to be now, and recorded as such.
func (s *Service) firstReceive(ctx context.Context, key firstKey, count uint64, now time.Time) time.Time {
	kvKey := key.queue + "." + strconv.FormatUint(key.seq, 10)
	ms, known := s.seen.get(key)
	if known && count > 2 {
		return time.UnixMilli(ms)
	}
	if !known {
		if e, err := s.first.Get(ctx, kvKey); err == nil && len(e.Value()) == 8 {
			ms = int64(binary.BigEndian.Uint64(e.Value()))
			s.seen.put(key, ms)
			return time.UnixMilli(ms)
		}
		ms = now.UnixMilli()
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	if _, err := s.first.Create(ctx, kvKey, b[:]); errors.Is(err, jetstream.ErrKeyExists) {
		if e, err := s.first.Get(ctx, kvKey); err == nil && len(e.Value()) == 8 {
			ms = int64(binary.BigEndian.Uint64(e.Value()))
		}
	} else if err != nil {
		s.log.Warn("record first receive", "err", err)
	}
	s.seen.put(key, ms)
	return time.UnixMilli(ms)
}

// nak makes a delivered message visible again after d (at once for 0),
// waiting for the server to take it.
func nak(ctx context.Context, nc *nats.Conn, reply string, d time.Duration) error {
	body := "-NAK"
	if d > 0 {
		body = `-NAK {"delay": ` + strconv.FormatInt(int64(d), 10) + `}`
	}
	return ackSync(ctx, nc, reply, body)
}

// ackSync sends an acknowledgement to a delivery's ack subject and waits
// for the server's confirmation.
func ackSync(ctx context.Context, nc *nats.Conn, reply, body string) error {
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if _, err := nc.RequestWithContext(ctx, reply, []byte(body)); err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return queueNotFound()
		}
		return fmt.Errorf("sqs: acknowledge: %w", err)
	}
	return nil
}

// deleteStandard acknowledges the message: the stream (work-queue
// retention) drops it. A handle from an earlier receive of the message
// still deletes it, as SQS documents ("even if the message is locked by
// another reader"); a handle of a message already gone succeeds too.
func (s *Service) deleteStandard(ctx context.Context, rec *queueRecord, r receipt) error {
	if err := ackSync(ctx, s.nc, r.reply, "+ACK"); err != nil {
		return err
	}
	s.seen.drop(firstKey{queue: rec.ID, seq: r.seq})
	return nil
}

// changeStandard re-times a received message with a nak with delay.
func (s *Service) changeStandard(ctx context.Context, rt *queueRuntime, r receipt, handle string, timeout time.Duration) error {
	if _, err := rt.stream.GetMsg(ctx, r.seq); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return awserr.New(awserr.InvalidParameterValue,
				"Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", truncate(handle, 256))
		}
		return s.streamErr(err)
	}
	return nak(ctx, s.nc, r.reply, timeout)
}
