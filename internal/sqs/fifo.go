package sqs

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cloister/cloister/internal/awserr"
)

// A FIFO queue keeps each message group on its own subject of the queue's
// stream, in send order, and each group's receive state in one record of
// the groups bucket, changed only by compare-and-set. A receive takes the
// first messages of groups with nothing in flight; a delete removes the
// message from the stream. So the head of a group's subject is always its
// oldest undeleted message, a group with a message in flight yields
// nothing, and every server agrees on both.

// groupState is a message group's receive state: its received, undeleted
// messages, oldest first.
type groupState struct {
	In []leaseEntry `json:"in,omitempty"`
}

// leaseEntry is one received message of a group.
type leaseEntry struct {
	Seq      uint64 `json:"s"`
	Receives int    `json:"n"`
	First    int64  `json:"f"` // first receive, unix ms
	Until    int64  `json:"u"` // invisible until, unix ms
	Token    uint64 `json:"t"` // the latest receive's token
}

// busyUntil is when the last in-flight message of the group becomes
// visible, or 0 when none is in flight.
func (g *groupState) busyUntil(now int64) int64 {
	var until int64
	for _, e := range g.In {
		if e.Until > now && e.Until > until {
			until = e.Until
		}
	}
	return until
}

func (g *groupState) index(seq uint64) int {
	return slices.IndexFunc(g.In, func(e leaseEntry) bool { return e.Seq == seq })
}

var errGroupConflict = errors.New("sqs: group state changed concurrently")

func (s *Service) loadGroup(ctx context.Context, key string) (groupState, uint64, error) {
	e, err := s.groups.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return groupState{}, 0, nil
	}
	if err != nil {
		return groupState{}, 0, fmt.Errorf("sqs: load group state: %w", err)
	}
	var g groupState
	if err := json.Unmarshal(e.Value(), &g); err != nil {
		return groupState{}, 0, fmt.Errorf("sqs: decode group state %s: %w", key, err)
	}
	return g, e.Revision(), nil
}

// saveGroup writes a group's state if it is still at rev
// (errGroupConflict otherwise); an empty state deletes the record.
func (s *Service) saveGroup(ctx context.Context, key string, g groupState, rev uint64) error {
	var err error
	switch {
	case len(g.In) == 0 && rev == 0:
		return nil
	case len(g.In) == 0:
		err = s.groups.Delete(ctx, key, jetstream.LastRevision(rev))
	default:
		data, merr := json.Marshal(g)
		if merr != nil {
			return fmt.Errorf("sqs: encode group state: %w", merr)
		}
		if rev == 0 {
			_, err = s.groups.Create(ctx, key, data)
		} else {
			_, err = s.groups.Update(ctx, key, data, rev)
		}
	}
	if err == nil {
		return nil
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
		return errGroupConflict
	}
	return fmt.Errorf("sqs: save group state: %w", err)
}

func randomToken() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return binary.BigEndian.Uint64(b[:])
}

// receiveFIFO receives from a FIFO queue, waiting (long polling) for a
// group to become available: a send, delete or visibility change on any
// server wakes it, and so does the end of the visibility timeout it is
// waiting for.
func (s *Service) receiveFIFO(ctx context.Context, rec *queueRecord, rt *queueRuntime, n int, wait, vis time.Duration) ([]Message, error) {
	deadline := time.Now().Add(wait)
	var wake chan *nats.Msg
	if wait > 0 {
		wake = make(chan *nats.Msg, 64)
		sub, err := s.nc.ChanSubscribe(noteSubject+rec.ID, wake)
		if err != nil {
			return nil, fmt.Errorf("sqs: subscribe: %w", err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	for {
		msgs, next, err := s.tryFIFO(ctx, rec, rt, n, vis)
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
		now := time.Now()
		if !now.Before(deadline) {
			return nil, nil
		}
		sleep := deadline.Sub(now)
		if !next.IsZero() && next.Sub(now) < sleep {
			sleep = max(next.Sub(now), 10*time.Millisecond)
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-wake:
			for len(wake) > 0 {
				<-wake
			}
		case <-t.C:
			if !time.Now().Before(deadline) {
				// The wait is over; anything that arrives now is for the
				// next receive.
				return nil, nil
			}
		}
		t.Stop()
	}
}

// tryFIFO makes one pass over the queue's groups. next is the earliest
// time a group it saw blocked (in flight, or delayed) opens up.
func (s *Service) tryFIFO(ctx context.Context, rec *queueRecord, rt *queueRuntime, n int, vis time.Duration) ([]Message, time.Time, error) {
	filter := subjectRoot + rec.ID + ".g.*"
	info, err := rt.stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, time.Time{}, s.streamErr(err)
	}
	subjects := make([]string, 0, len(info.State.Subjects))
	for subj, count := range info.State.Subjects {
		if count > 0 {
			subjects = append(subjects, subj)
		}
	}
	slices.Sort(subjects)
	// Start at a random group so that no group starves the others.
	if len(subjects) > 1 {
		off := int(randomToken() % uint64(len(subjects)))
		subjects = append(subjects[off:], subjects[:off]...)
	}
	var out []Message
	var next time.Time
	for _, subj := range subjects {
		if len(out) >= n {
			break
		}
		gk := subj[strings.LastIndexByte(subj, '.')+1:]
		msgs, opens, err := s.leaseGroup(ctx, rec, rt, gk, subj, n-len(out), vis)
		if err != nil {
			if len(out) > 0 {
				// Return what is already leased; the error recurs on the
				// next receive if it is lasting.
				s.log.Warn("receive from message group", "queue_id", rec.ID, "err", err)
				return out, next, nil
			}
			return nil, time.Time{}, err
		}
		out = append(out, msgs...)
		if !opens.IsZero() && (next.IsZero() || opens.Before(next)) {
			next = opens
		}
	}
	return out, next, nil
}

// leaseGroup takes up to n messages from the head of one group, if none of
// its messages is in flight. opens is when a blocked group opens up.
func (s *Service) leaseGroup(ctx context.Context, rec *queueRecord, rt *queueRuntime, gk, subj string, n int, vis time.Duration) ([]Message, time.Time, error) {
	key := rec.ID + "." + gk
	st, rev, err := s.loadGroup(ctx, key)
	if err != nil {
		return nil, time.Time{}, err
	}
	nowT := time.Now()
	now := nowT.UnixMilli()
	if until := st.busyUntil(now); until > 0 {
		return nil, time.UnixMilli(until), nil
	}
	var (
		entries []leaseEntry
		msgs    []Message
		opens   time.Time
		changed bool
		more    bool // stopped before the group's end
		seq     uint64
	)
	for len(msgs) < n {
		m, err := rt.stream.GetMsg(ctx, seq+1, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, time.Time{}, s.streamErr(err)
		}
		if v := unixMilli(m.Header, hdrVisible); v.After(nowT) {
			opens, more = v, true
			break
		}
		seq = m.Sequence
		sm := stored{stream: streamName(rec.ID), seq: m.Sequence, time: m.Time, header: m.Header, data: m.Data}
		msg, err := s.decode(sm)
		if err != nil {
			s.log.Error("dropping undecodable message", "queue_id", rec.ID, "seq", sm.seq, "err", err)
			s.deleteStored(ctx, rt, sm.seq)
			changed = true
			continue
		}
		e := leaseEntry{Seq: m.Sequence}
		if i := st.index(m.Sequence); i >= 0 {
			e = st.In[i]
		}
		if rp := rec.Attrs.Redrive; rp != nil && e.Receives >= rp.MaxReceiveCount {
			err := s.redrive(ctx, rec, sm, msg)
			if err == nil {
				s.deleteStored(ctx, rt, sm.seq)
				changed = true
				continue
			}
			if !errors.Is(err, errNoDLQ) {
				return nil, time.Time{}, err
			}
			s.log.Warn("dead-letter queue missing; message stays", "queue_id", rec.ID, "dlq", rp.DeadLetterTargetARN)
		}
		e.Receives++
		if e.First == 0 {
			e.First = now
		}
		e.Until = now + vis.Milliseconds()
		e.Token = randomToken()
		entries = append(entries, e)
		msg.ReceiveCount = e.Receives
		msg.FirstReceiveTimestamp = time.UnixMilli(e.First)
		msg.SequenceNumber = fmt.Sprintf("%020d", sm.seq)
		msg.ReceiptHandle = s.seal.seal(receipt{
			kind: kindFIFO, queue: rec.ID, seq: sm.seq, count: uint64(e.Receives), at: now, group: gk, token: e.Token,
		})
		msgs = append(msgs, msg)
	}
	if len(msgs) == n {
		more = true
	}
	if more {
		// Keep what the group knows of the messages after the ones taken
		// (receive counts of messages that were in flight before).
		for _, e := range st.In {
			if e.Seq > seq {
				entries = append(entries, e)
			}
		}
	}
	if len(msgs) == 0 && !changed {
		return nil, opens, nil
	}
	if err := s.saveGroup(ctx, key, groupState{In: entries}, rev); err != nil {
		if errors.Is(err, errGroupConflict) {
			// Another receive took the group first.
			return nil, time.Time{}, nil
		}
		return nil, time.Time{}, err
	}
	return msgs, opens, nil
}

// deleteStored removes a message from a FIFO queue's stream.
func (s *Service) deleteStored(ctx context.Context, rt *queueRuntime, seq uint64) {
	if err := rt.stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		s.log.Warn("delete message", "seq", seq, "err", err)
	}
}

func expiredReceipt() error {
	return awserr.Wrap(awserr.SQSReceiptHandleIsInvalid, ErrInvalidReceipt, "The receipt handle has expired.")
}

// deleteFIFO deletes a received FIFO message. The handle must be the
// message's latest receipt; a handle of a message already deleted
// succeeds.
func (s *Service) deleteFIFO(ctx context.Context, rec *queueRecord, rt *queueRuntime, r receipt) error {
	key := rec.ID + "." + r.group
	deleted := false
	for range 16 {
		st, rev, err := s.loadGroup(ctx, key)
		if err != nil {
			return err
		}
		i := st.index(r.seq)
		if i < 0 {
			if deleted {
				return nil
			}
			_, err := rt.stream.GetMsg(ctx, r.seq)
			switch {
			case err == nil:
				// Still queued, but not received under this handle.
				return expiredReceipt()
			case errors.Is(err, jetstream.ErrMsgNotFound):
				return nil
			default:
				return s.streamErr(err)
			}
		}
		if !deleted {
			if st.In[i].Token != r.token {
				return expiredReceipt()
			}
			if err := rt.stream.DeleteMsg(ctx, r.seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				return s.streamErr(err)
			}
			deleted = true
		}
		st.In = slices.Delete(st.In, i, i+1)
		switch err := s.saveGroup(ctx, key, st, rev); {
		case errors.Is(err, errGroupConflict):
			continue
		case err != nil:
			return err
		}
		s.notify(rec.ID)
		return nil
	}
	return awserr.New(awserr.SQSRequestThrottled, "Too many concurrent changes to the message group; retry.")
}

// changeFIFO re-times a received FIFO message.
func (s *Service) changeFIFO(ctx context.Context, rec *queueRecord, rt *queueRuntime, r receipt, now time.Time, timeout time.Duration) error {
	key := rec.ID + "." + r.group
	for range 16 {
		st, rev, err := s.loadGroup(ctx, key)
		if err != nil {
			return err
		}
		i := st.index(r.seq)
		if i < 0 {
			if _, err := rt.stream.GetMsg(ctx, r.seq); err == nil {
				return expiredReceipt()
			} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
				return s.streamErr(err)
			}
			return awserr.New(awserr.InvalidParameterValue,
				"Value for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")
		}
		if st.In[i].Token != r.token {
			return expiredReceipt()
		}
		if st.In[i].Until <= now.UnixMilli() {
			return awserr.New(awserr.SQSMessageNotInflight, "The message referred to isn't in flight.")
		}
		st.In[i].Until = now.Add(timeout).UnixMilli()
		switch err := s.saveGroup(ctx, key, st, rev); {
		case errors.Is(err, errGroupConflict):
			continue
		case err != nil:
			return err
		}
		if timeout == 0 {
			s.notify(rec.ID)
		}
		return nil
	}
	return awserr.New(awserr.SQSRequestThrottled, "Too many concurrent changes to the message group; retry.")
}

// fifoCounts counts a FIFO queue's messages and those in flight.
func (s *Service) fifoCounts(ctx context.Context, rec *queueRecord, rt *queueRuntime) (counts, error) {
	info, err := rt.stream.Info(ctx)
	if err != nil {
		return counts{}, s.streamErr(err)
	}
	c := counts{visible: int64(info.State.Msgs)}
	lister, err := s.groups.ListKeysFiltered(ctx, rec.ID+".>")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return c, nil
	}
	if err != nil {
		return counts{}, fmt.Errorf("sqs: list group state: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	now := time.Now().UnixMilli()
	for _, k := range keys {
		st, _, err := s.loadGroup(ctx, k)
		if err != nil {
			return counts{}, err
		}
		for _, e := range st.In {
			if e.Until > now {
				c.inFlight++
			}
		}
	}
	c.visible = max(c.visible-c.inFlight, 0)
	return c, nil
}
