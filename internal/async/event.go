package async

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// ErrMalformed reports stored bytes that are not an event record.
var ErrMalformed = errors.New("async: malformed event record")

// event is one asynchronous invocation waiting in the queue: what the Invoke
// request carried, plus the state of its processing. Retries publish a new
// record with the state advanced; a record in the stream is never changed.
type event struct {
	ID            string // the Invoke's request id, the function's request id
	Account       string
	Function      string
	Qualifier     string // as invoked: "$LATEST", a version or an alias
	Incarnation   string // of the function when enqueued: a namesake is another function
	ClientContext string // base64, as received
	Enqueued      time.Time
	NotBefore     time.Time // not to be run before this time (a retry's delay)
	// Attempt counts the invocations that ended in a function error.
	Attempt int
	// Retries counts the retries that did not consume an attempt
	// (throttles, internal errors); it drives their backoff.
	Retries int
	// Depth counts the invocations that led to this one (0: an API call).
	Depth int
	// Lineage names the invocations that led here, oldest first (at most
	// MaxDepth entries): "ARN request-id".
	Lineage []string
	// The last failed try, for the record of an event that expires.
	LastStatus        int
	LastVersion       string
	LastFunctionError string
	LastError         []byte // at most maxLastError bytes of its payload
	// The payload, inline or spilled to the object store (PayloadObject
	// names it; PayloadSize is its length).
	Payload       []byte
	PayloadObject string
	PayloadSize   int
}

// Format limits. They bound what a decoder accepts, so a corrupt or hostile
// record cannot make it allocate much.
const (
	recordMagic    = "CE"
	recordVersion  = 1
	maxField       = 1024 // ids, names, qualifiers, object names
	maxClientCtx   = 8192 // base64 of Lambda's 3583-byte client context, with room
	maxLineageItem = 512  // an ARN and a request id
	maxLastError   = 4096 // the last error payload kept across retries
	maxCount       = 1 << 20
)

// kinds of payload storage.
const (
	payloadInline = 0
	payloadObject = 1
)

// marshal encodes e: a magic, a version byte, then the fields in order,
// strings and bytes as uvarint length + data, counts as uvarints, times as
// Unix milliseconds.
func (e *event) marshal() []byte {
	n := 64 + len(e.ID) + len(e.Account) + len(e.Function) + len(e.Qualifier) + len(e.Incarnation) +
		len(e.ClientContext) + len(e.LastVersion) + len(e.LastFunctionError) + len(e.LastError) +
		len(e.Payload) + len(e.PayloadObject)
	for _, l := range e.Lineage {
		n += len(l) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, recordMagic...)
	b = append(b, recordVersion)
	for _, s := range []string{e.ID, e.Account, e.Function, e.Qualifier, e.Incarnation, e.ClientContext} {
		b = appendBytes(b, s)
	}
	b = binary.AppendUvarint(b, uint64(max(e.Enqueued.UnixMilli(), 0)))
	b = binary.AppendUvarint(b, uint64(max(e.NotBefore.UnixMilli(), 0)))
	for _, v := range []int{e.Attempt, e.Retries, e.Depth, len(e.Lineage)} {
		b = binary.AppendUvarint(b, uint64(max(v, 0)))
	}
	for _, l := range e.Lineage {
		b = appendBytes(b, l)
	}
	b = binary.AppendUvarint(b, uint64(max(e.LastStatus, 0)))
	b = appendBytes(b, e.LastVersion)
	b = appendBytes(b, e.LastFunctionError)
	b = appendBytes(b, e.LastError)
	if e.PayloadObject != "" {
		b = append(b, payloadObject)
		b = appendBytes(b, e.PayloadObject)
		b = binary.AppendUvarint(b, uint64(max(e.PayloadSize, 0)))
	} else {
		b = append(b, payloadInline)
		b = appendBytes(b, e.Payload)
	}
	return b
}

func appendBytes[T string | []byte](b []byte, s T) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// unmarshalEvent decodes a record written by marshal. It accepts nothing
// else: unknown versions, oversized fields, invalid UTF-8 in text fields and
// trailing bytes are ErrMalformed.
func unmarshalEvent(b []byte) (*event, error) {
	if len(b) < len(recordMagic)+1 || string(b[:len(recordMagic)]) != recordMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrMalformed)
	}
	if v := b[len(recordMagic)]; v != recordVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, v)
	}
	r := reader{b: b[len(recordMagic)+1:]}
	e := &event{
		ID:            r.text(maxField),
		Account:       r.text(maxField),
		Function:      r.text(maxField),
		Qualifier:     r.text(maxField),
		Incarnation:   r.text(maxField),
		ClientContext: r.text(maxClientCtx),
	}
	e.Enqueued = r.millis()
	e.NotBefore = r.millis()
	e.Attempt = r.count(maxCount)
	e.Retries = r.count(maxCount)
	e.Depth = r.count(maxCount)
	n := r.count(MaxDepth)
	if n > 0 {
		e.Lineage = make([]string, 0, n)
		for range n {
			e.Lineage = append(e.Lineage, r.text(maxLineageItem))
		}
	}
	e.LastStatus = r.count(999)
	e.LastVersion = r.text(maxField)
	e.LastFunctionError = r.text(maxField)
	e.LastError = r.bytes(maxLastError)
	switch r.byte() {
	case payloadInline:
		e.Payload = r.bytes(MaxPayload)
	case payloadObject:
		e.PayloadObject = r.text(maxField)
		e.PayloadSize = r.count(MaxPayload)
		if e.PayloadObject == "" {
			r.fail("empty payload object name")
		}
	default:
		r.fail("unknown payload kind")
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	if e.ID == "" || e.Account == "" || e.Function == "" {
		return nil, fmt.Errorf("%w: missing request id, account or function", ErrMalformed)
	}
	return e, nil
}

// reader consumes a record; the first error sticks and later reads return
// zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(why string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, why)
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) count(limit int) int {
	v := r.uvarint()
	if v > uint64(limit) {
		r.fail("count out of range")
		return 0
	}
	return int(v)
}

func (r *reader) millis() time.Time {
	v := r.uvarint()
	// Years beyond 9999 do not fit RFC 3339; no real record has them.
	if v > 253402300799999 {
		r.fail("time out of range")
		return time.Time{}
	}
	return time.UnixMilli(int64(v)).UTC()
}

func (r *reader) bytes(limit int) []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(limit) || n > uint64(len(r.b)) {
		r.fail("length out of range")
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]byte, n)
	copy(out, r.b[:n])
	r.b = r.b[n:]
	return out
}

func (r *reader) text(limit int) string {
	b := r.bytes(limit)
	if !utf8.Valid(b) {
		r.fail("invalid UTF-8")
		return ""
	}
	return string(b)
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}
