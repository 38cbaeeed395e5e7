package sqs

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// Headers a stored message carries. A message published straight to its
// queue carries only what it needs; a message that moved (from the delay
// stream, or to a dead-letter queue) keeps its identity in headers.
const (
	hdrID      = "Sqs-Id"      // MessageId, when not derived from the stream sequence
	hdrSent    = "Sqs-Sent"    // SentTimestamp (unix ms)
	hdrSender  = "Sqs-Sender"  // SenderId
	hdrGroup   = "Sqs-Group"   // MessageGroupId (FIFO)
	hdrDedup   = "Sqs-Dedup"   // MessageDeduplicationId (FIFO)
	hdrVisible = "Sqs-Visible" // unix ms before which a FIFO message is delayed
	hdrDue     = "Sqs-Due"     // unix ms at which a delayed message moves to its queue
	hdrSource  = "Sqs-Source"  // DeadLetterQueueSourceArn
)

// envelope is a stored message's payload: the body and the attributes, in
// a compact binary form: a magic byte and version, the body, then the user
// and the system attributes, each a count followed by name, data type,
// value kind (1 string, 2 binary) and value. Strings and byte values are a
// uvarint length followed by their bytes. Version 2 adds, last, the
// message's depth as a uvarint; a message of depth 0 is written as version
// 1, which servers that predate the depth still read.
type envelope struct {
	Body   string
	Attrs  map[string]MessageAttribute
	System map[string]MessageAttribute
	// Depth is internal, never shown to clients: how many invocations led
	// to the message (see SendInput.Depth).
	Depth int
}

const (
	envelopeMagic   = 'Q'
	envelopeVersion = 1
	// envelopeDepthVersion is the version of envelopes with a depth.
	envelopeDepthVersion = 2
	// maxEnvelopeAttrs bounds the attribute count a stored envelope may
	// declare (the send path allows 10 user attributes and 1 system one).
	maxEnvelopeAttrs = 64
	// maxEnvelopeDepth bounds the depth a stored envelope may declare; a
	// chain is stopped long before.
	maxEnvelopeDepth = 1 << 16
)

var errBadEnvelope = errors.New("sqs: malformed stored message")

func (e *envelope) marshal() []byte {
	n := 2 + binary.MaxVarintLen64 + len(e.Body) + 2*binary.MaxVarintLen64
	for k, a := range e.Attrs {
		n += len(k) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue) + 3*binary.MaxVarintLen64 + 1
	}
	for k, a := range e.System {
		n += len(k) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue) + 3*binary.MaxVarintLen64 + 1
	}
	version := byte(envelopeVersion)
	if e.Depth > 0 {
		version = envelopeDepthVersion
		n += binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = append(b, envelopeMagic, version)
	b = appendString(b, e.Body)
	b = appendAttrs(b, e.Attrs)
	b = appendAttrs(b, e.System)
	if e.Depth > 0 {
		b = binary.AppendUvarint(b, uint64(e.Depth))
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendAttrs(b []byte, attrs map[string]MessageAttribute) []byte {
	b = binary.AppendUvarint(b, uint64(len(attrs)))
	for name, a := range attrs {
		b = appendString(b, name)
		b = appendString(b, a.DataType)
		if binaryType(a.DataType) {
			b = append(b, 2)
			b = binary.AppendUvarint(b, uint64(len(a.BinaryValue)))
			b = append(b, a.BinaryValue...)
		} else {
			b = append(b, 1)
			b = appendString(b, a.StringValue)
		}
	}
	return b
}

// unmarshalEnvelope decodes a stored payload. It trusts nothing: the bytes
// may come from an external cluster that others can write to.
func unmarshalEnvelope(b []byte) (envelope, error) {
	var e envelope
	if len(b) < 2 || b[0] != envelopeMagic || (b[1] != envelopeVersion && b[1] != envelopeDepthVersion) {
		return e, errBadEnvelope
	}
	r := reader{b: b[2:]}
	e.Body = string(r.bytes())
	e.Attrs = r.attrs()
	e.System = r.attrs()
	if b[1] == envelopeDepthVersion {
		d := r.uvarint()
		if r.err == nil && (d == 0 || d > maxEnvelopeDepth) {
			r.err = errBadEnvelope // depth 0 is written as version 1
		}
		e.Depth = int(d)
	}
	if r.err != nil || len(r.b) != 0 {
		return envelope{}, errBadEnvelope
	}
	return e, nil
}

// reader decodes length-prefixed fields, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadEnvelope
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errBadEnvelope
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errBadEnvelope
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) attrs() map[string]MessageAttribute {
	n := r.uvarint()
	if r.err != nil || n == 0 {
		return nil
	}
	if n > maxEnvelopeAttrs {
		r.err = errBadEnvelope
		return nil
	}
	out := make(map[string]MessageAttribute, n)
	for range n {
		name := string(r.bytes())
		a := MessageAttribute{DataType: string(r.bytes())}
		// The value kind must agree with the data type.
		switch kind := r.byte(); {
		case kind == 1 && !binaryType(a.DataType):
			a.StringValue = string(r.bytes())
		case kind == 2 && binaryType(a.DataType):
			a.BinaryValue = append([]byte{}, r.bytes()...)
		default:
			r.err = errBadEnvelope
		}
		if r.err != nil {
			return nil
		}
		if _, dup := out[name]; dup {
			r.err = errBadEnvelope
			return nil
		}
		out[name] = a
	}
	return out
}

// messageID derives the MessageId of the message stored at seq in stream:
// a UUID-shaped digest of both, unique because every queue's stream has its
// own random name. Messages that moved carry their original id in hdrID.
func messageID(stream string, seq uint64) string {
	h := sha256.New()
	h.Write([]byte(stream))
	h.Write([]byte{0})
	h.Write(strconv.AppendUint(nil, seq, 10))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// unixMilli parses a header holding unix milliseconds; zero time when
// absent or malformed.
func unixMilli(h nats.Header, key string) time.Time {
	v := h.Get(key)
	if v == "" {
		return time.Time{}
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func formatMilli(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
