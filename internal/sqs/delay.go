package sqs

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/awserr"
)

// Delayed messages of standard queues wait in one stream, SQS_DELAY, on a
// subject per queue. Its consumer, "mover", is shared by every server: a
// message not yet due is nak'ed with the delay left, so the server hands
// it back exactly when it is due, and a due message is published to its
// queue (deduplicated by its delay-stream sequence, so a crash between
// publishing and acknowledging does not send it twice) and then
// acknowledged, which removes it. Keeping delayed messages out of the
// queue's own consumer keeps that consumer's delivery count an exact
// receive count.

func (s *Service) startMover(ctx context.Context) error {
	cons, err := s.delay.Consumer(ctx, moverName)
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { s.move(ctx, m) },
		jetstream.PullMaxMessages(256),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if ctx.Err() == nil && !errors.Is(err, jetstream.ErrNoHeartbeat) {
				s.log.Warn("delay mover", "err", err)
			}
		}))
	if err != nil {
		return err
	}
	s.moving = cc
	return nil
}

// move handles one delivery of a delayed message.
func (s *Service) move(ctx context.Context, m jetstream.Msg) {
	id, ok := strings.CutPrefix(m.Subject(), delaySubject)
	if !ok || id == "" {
		_ = m.Term()
		return
	}
	if wait := time.Until(unixMilli(m.Headers(), hdrDue)); wait > 0 {
		_ = m.NakWithDelay(wait)
		return
	}
	meta, err := m.Metadata()
	if err != nil {
		_ = m.Term()
		return
	}
	out := &nats.Msg{Subject: messageSubject(id), Header: nats.Header{}, Data: m.Data()}
	for _, h := range []string{hdrID, hdrSent, hdrSender, hdrGroup} {
		if v := m.Headers().Get(h); v != "" {
			out.Header.Set(h, v)
		}
	}
	out.Header.Set(nats.MsgIdHdr, "delay:"+strconv.FormatUint(meta.Sequence.Stream, 10))
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.js.PublishMsg(pctx, out, jetstream.WithExpectStream(streamName(id))); err != nil {
		if awserr.IsType(s.publishErr(err), awserr.SQSQueueDoesNotExist) {
			// The queue was deleted: its delayed messages go with it.
			_ = m.Term()
			return
		}
		if ctx.Err() == nil {
			s.log.Warn("move delayed message", "queue_id", id, "err", err)
		}
		_ = m.NakWithDelay(time.Second)
		return
	}
	if err := m.DoubleAck(pctx); err != nil && ctx.Err() == nil {
		s.log.Warn("acknowledge moved message", "queue_id", id, "err", err)
	}
}
