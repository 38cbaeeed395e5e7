package esm

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/cloister/cloister/internal/sqs"
)

// sqsRecord is one record of Lambda's SQS event, members in the order
// Lambda sends them.
type sqsRecord struct {
	MessageID              string                      `json:"messageId"`
	ReceiptHandle          string                      `json:"receiptHandle"`
	Body                   string                      `json:"body"`
	Attributes             map[string]string           `json:"attributes"`
	MessageAttributes      map[string]messageAttribute `json:"messageAttributes"`
	MD5OfMessageAttributes *string                     `json:"md5OfMessageAttributes"`
	MD5OfBody              string                      `json:"md5OfBody"`
	EventSource            string                      `json:"eventSource"`
	EventSourceARN         string                      `json:"eventSourceARN"`
	AWSRegion              string                      `json:"awsRegion"`
}

// messageAttribute is a message attribute as Lambda's SQS event carries it.
type messageAttribute struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      *string  `json:"binaryValue,omitempty"` // base64
	StringListValues []string `json:"stringListValues"`
	BinaryListValues []string `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// newRecord builds the event record of a received message.
func newRecord(m *sqs.Message, queueARN, region string) sqsRecord {
	r := sqsRecord{
		MessageID:         m.MessageID,
		ReceiptHandle:     m.ReceiptHandle,
		Body:              m.Body,
		Attributes:        m.SystemAttributeValues(),
		MessageAttributes: map[string]messageAttribute{},
		MD5OfBody:         m.MD5OfBody,
		EventSource:       "aws:sqs",
		EventSourceARN:    queueARN,
		AWSRegion:         region,
	}
	for name, a := range m.Attributes {
		ma := messageAttribute{DataType: a.DataType, StringListValues: []string{}, BinaryListValues: []string{}}
		if a.BinaryValue != nil {
			b := base64.StdEncoding.EncodeToString(a.BinaryValue)
			ma.BinaryValue = &b
		} else {
			s := a.StringValue
			ma.StringValue = &s
		}
		r.MessageAttributes[name] = ma
	}
	if len(m.Attributes) > 0 {
		sum := sqs.MD5OfAttributes(m.Attributes)
		r.MD5OfMessageAttributes = &sum
	}
	return r
}

// matchable is the record as filter patterns see it: the event record's
// members, with the body left for matchRecord to interpret.
func (r *sqsRecord) matchable() map[string]any {
	attrs := make(map[string]any, len(r.Attributes))
	for k, v := range r.Attributes {
		attrs[k] = v
	}
	mattrs := make(map[string]any, len(r.MessageAttributes))
	for k, a := range r.MessageAttributes {
		m := map[string]any{"dataType": a.DataType, "stringListValues": []any{}, "binaryListValues": []any{}}
		if a.StringValue != nil {
			m["stringValue"] = *a.StringValue
		}
		if a.BinaryValue != nil {
			m["binaryValue"] = *a.BinaryValue
		}
		mattrs[k] = m
	}
	out := map[string]any{
		"messageId":         r.MessageID,
		"receiptHandle":     r.ReceiptHandle,
		"attributes":        attrs,
		"messageAttributes": mattrs,
		"md5OfBody":         r.MD5OfBody,
		"eventSource":       r.EventSource,
		"eventSourceARN":    r.EventSourceARN,
		"awsRegion":         r.AWSRegion,
	}
	if r.MD5OfMessageAttributes != nil {
		out["md5OfMessageAttributes"] = *r.MD5OfMessageAttributes
	}
	return out
}

// match reports whether a record passes the filters: any pattern matches,
// or there are none. The body is matched as Lambda does for queues: a
// pattern whose "body" member is an object matches only bodies that are
// JSON objects (against the decoded object); a "body" rule array matches
// only bodies that are not, as plain strings.
func (fs filterSet) match(r *sqsRecord) bool {
	if len(fs) == 0 {
		return true
	}
	fields := r.matchable()
	var (
		parsed   map[string]any
		isObject bool
		tried    bool
	)
	body := func() (map[string]any, bool) {
		if !tried {
			tried = true
			isObject = json.Unmarshal([]byte(r.Body), &parsed) == nil && parsed != nil
		}
		return parsed, isObject
	}
	for _, p := range fs {
		if p.matchRecord(fields, body, r.Body) {
			return true
		}
	}
	return false
}

// matchRecord matches a pattern against a record's fields, interpreting
// "body" by the pattern's shape.
func (p *Pattern) matchRecord(fields map[string]any, body func() (map[string]any, bool), raw string) bool {
	for i := range p.root.fields {
		if f := &p.root.fields[i]; f.key == "body" {
			// A body whose format differs from the pattern's (a JSON
			// object against rules, a plain string against an object
			// pattern) is dropped, as Lambda drops it.
			if _, isObject := body(); (f.obj != nil) != isObject {
				return false
			}
		}
	}
	return p.root.matchFields(func(k string) (any, bool) {
		if k != "body" {
			v, ok := fields[k]
			return v, ok
		}
		if obj, isObject := body(); isObject {
			return obj, true
		}
		return raw, true
	})
}

// event is the invocation payload for records already encoded as JSON.
func event(records [][]byte) []byte {
	n := len(`{"Records":[]}`) + len(records)
	for _, r := range records {
		n += len(r)
	}
	var b bytes.Buffer
	b.Grow(n)
	b.WriteString(`{"Records":[`)
	for i, r := range records {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// encodeRecord encodes one record as Lambda does (no HTML escaping).
func encodeRecord(r *sqsRecord) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("esm: encode record: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// failedItems reads a function's response under ReportBatchItemFailures
// and returns the message IDs that failed. ok is false when the response
// is not a valid partial-batch response, which fails the whole batch, as in
// Lambda: it is not JSON, batchItemFailures is not an array of objects, or
// an itemIdentifier is missing, empty, not a string, or not a message of
// the batch. An empty response, null, {} and an empty or null
// batchItemFailures mean every message succeeded.
func failedItems(payload []byte, batch map[string]bool) (failed map[string]bool, ok bool) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		return nil, true
	}
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, false
	}
	raw, present := resp["batchItemFailures"]
	if !present || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, true
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, false
	}
	failed = make(map[string]bool, len(items))
	for _, it := range items {
		var id string
		if it == nil || json.Unmarshal(it["itemIdentifier"], &id) != nil || id == "" || !batch[id] {
			return nil, false
		}
		failed[id] = true
	}
	return failed, true
}
