package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/sqs"
)

// sqsRequest is a decoded SQS request: it names its queue by URL (most
// operations) or by name (CreateQueue, GetQueueUrl).
type sqsRequest interface {
	queueURL() string
	// setQueue records the queue the URL or path resolved to.
	setQueue(account, name string)
	// named returns the account and queue name a by-name request names.
	named(callerAccount string) (account, name string)
}

// sqsQueueRef is the QueueUrl member most inputs have.
type sqsQueueRef struct {
	QueueURL string `json:"QueueUrl"`
	account  string
	name     string
}

func (r *sqsQueueRef) queueURL() string              { return r.QueueURL }
func (r *sqsQueueRef) setQueue(account, name string) { r.account, r.name = account, name }
func (r *sqsQueueRef) named(string) (string, string) { return "", "" }

// sqsResult is an operation's output: JSON through its field tags, XML
// through writeXML (the members inside <OpResult>).
type sqsResult interface {
	writeXML(w *sqsXML)
}

// sqsInput is the undecoded request: the JSON body (in the call) or the
// Query form.
type sqsInput struct {
	form sqsParams
}

// sqsScope says what an operation's resource is.
type sqsScope int

const (
	scopeQueue sqsScope = iota // the queue of QueueUrl
	scopeName                  // the queue of QueueName
	scopeNone                  // no queue ("*")
)

// sqsOp is one SQS operation.
type sqsOp struct {
	iam    string // IAM action without the "sqs:" prefix
	scope  sqsScope
	decode func(sc *sqsCall, in *sqsInput) (sqsRequest, error)
	run    func(s *Server, sc *sqsCall, v sqsRequest) (sqsResult, error)
}

// sqsDecoder decodes either protocol into a T: JSON by its field tags,
// Query through fromForm.
func sqsDecoder[T any, PT interface {
	*T
	sqsRequest
}](fromForm func(p sqsParams, v PT) error) func(sc *sqsCall, in *sqsInput) (sqsRequest, error) {
	return func(sc *sqsCall, in *sqsInput) (sqsRequest, error) {
		v := PT(new(T))
		if sc.json {
			if err := decodeSQSJSON(sc.body, v); err != nil {
				return nil, err
			}
			return v, nil
		}
		if err := fromForm(in.form, v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// decodeSQSJSON decodes a JSON protocol body. An empty body is {}.
func decodeSQSJSON(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if err := checkDepth(body, maxJSONDepth); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return awserr.New(awserr.InvalidRequestContent, "Unexpected value type for member '%s': %s", te.Field, te.Value)
		}
		return awserr.New(awserr.InvalidRequestContent, "Could not parse the request body as JSON: %s", sanitize(err.Error()))
	}
	if dec.More() {
		return awserr.New(awserr.InvalidRequestContent, "Could not parse the request body as JSON: trailing data")
	}
	return nil
}

// maxSQSFormParams bounds the parameters of a Query request.
const maxSQSFormParams = 2000

// sqsForm reads a Query request's parameters: the URL query and, for a
// POST, the form body.
func sqsForm(c *call) (sqsParams, error) {
	bad := func(msg string) error { return awserr.New(awserr.InvalidRequestContent, "%s", msg) }
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		return nil, bad("The request query string is malformed.")
	}
	if c.r.Method == http.MethodPost && len(c.body) > 0 {
		ct := c.r.Header.Get("Content-Type")
		if ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
			return nil, bad("The request body must be application/x-www-form-urlencoded.")
		}
		body, err := url.ParseQuery(string(c.body))
		if err != nil {
			return nil, bad("The request body is not a valid form.")
		}
		for k, v := range body {
			q[k] = append(q[k], v...)
		}
	}
	if len(q) > maxSQSFormParams {
		return nil, bad("The request has too many parameters.")
	}
	p := sqsParams{}
	for k, v := range q {
		if len(v) > 0 && !strings.HasPrefix(k, "X-Amz-") {
			p[k] = v[0]
		}
	}
	return p, nil
}

// sqsParams are a Query request's parameters, flattened AWS-style:
// lists as Name.1, Name.2, ...; maps as Name.N.Key and Name.N.Value;
// structures as Name.Member.
type sqsParams map[string]string

func (p sqsParams) Get(name string) string { return p[name] }

// intp parses an optional integer parameter.
func (p sqsParams) intp(name string) (*int, error) {
	v, ok := p[name]
	if !ok {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, awserr.New(awserr.InvalidParameterValue, "Value %s for parameter %s is invalid. Reason: must be an integer.", truncate(v, 64), name)
	}
	return &n, nil
}

// maxSQSIndex bounds the N of Name.N parameters.
const maxSQSIndex = 1000

// indexed groups the parameters under prefix by their index: for
// "Entry.2.Id" under "Entry" it yields index 2 with {"Id": ...}; for
// "Name.3" index 3 with {"": ...}. Indices come out in order.
func (p sqsParams) indexed(prefix string) ([]sqsParams, error) {
	groups := map[int]sqsParams{}
	for k, v := range p {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		idx, member, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if err != nil || n < 1 || n > maxSQSIndex || strconv.Itoa(n) != idx {
			return nil, awserr.New(awserr.InvalidRequestContent, "The parameter %s has an invalid index.", truncate(k, 128))
		}
		if groups[n] == nil {
			groups[n] = sqsParams{}
		}
		groups[n][member] = v
	}
	keys := make([]int, 0, len(groups))
	for n := range groups {
		keys = append(keys, n)
	}
	sort.Ints(keys)
	out := make([]sqsParams, len(keys))
	for i, n := range keys {
		out[i] = groups[n]
	}
	return out, nil
}

// list reads Name.1, Name.2, ...
func (p sqsParams) list(prefix string) ([]string, error) {
	items, err := p.indexed(prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		if v, ok := it[""]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// pairs reads a flattened map: Name.N.<key> and Name.N.<value>.
func (p sqsParams) pairs(prefix, key, value string) (map[string]string, error) {
	items, err := p.indexed(prefix)
	if err != nil || len(items) == 0 {
		return nil, err
	}
	out := make(map[string]string, len(items))
	for _, it := range items {
		k, ok := it[key]
		if !ok {
			return nil, awserr.New(awserr.SQSMissingParameter, "The request must contain the parameter %s.N.%s.", prefix, key)
		}
		out[k] = it[value]
	}
	return out, nil
}

// msgAttrs reads message attributes: Name.N.Name, Name.N.Value.DataType,
// Name.N.Value.StringValue and Name.N.Value.BinaryValue (base64).
func (p sqsParams) msgAttrs(prefix string) (map[string]sqsAttrValue, error) {
	items, err := p.indexed(prefix)
	if err != nil || len(items) == 0 {
		return nil, err
	}
	out := make(map[string]sqsAttrValue, len(items))
	for _, it := range items {
		name := it["Name"]
		v := sqsAttrValue{DataType: it["Value.DataType"]}
		if s, ok := it["Value.StringValue"]; ok {
			v.StringValue = &s
		}
		if b, ok := it["Value.BinaryValue"]; ok {
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, awserr.New(awserr.InvalidParameterValue, "The binary value of message attribute '%s' is not valid base64.", truncate(name, 128))
			}
			v.BinaryValue = raw
		}
		for k := range it {
			if strings.HasPrefix(k, "Value.StringListValue") || strings.HasPrefix(k, "Value.BinaryListValue") {
				v.StringListValues = []string{""}
			}
		}
		out[name] = v
	}
	return out, nil
}

// sqsAttrValue is a message attribute value on the wire.
type sqsAttrValue struct {
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
	DataType         string   `json:"DataType"`
}

// toDomain converts wire attributes.
func attrsToDomain(in map[string]sqsAttrValue) (map[string]sqs.MessageAttribute, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]sqs.MessageAttribute, len(in))
	for n, v := range in {
		if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
			return nil, awserr.New(awserr.InvalidParameterValue,
				"Message attribute '%s' uses StringListValues or BinaryListValues, which are not implemented.", truncate(n, 128))
		}
		a := sqs.MessageAttribute{DataType: v.DataType, BinaryValue: v.BinaryValue}
		if v.StringValue != nil {
			a.StringValue = *v.StringValue
		}
		out[n] = a
	}
	return out, nil
}

func attrsFromDomain(in map[string]sqs.MessageAttribute) map[string]sqsAttrValue {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]sqsAttrValue, len(in))
	for n, a := range in {
		v := sqsAttrValue{DataType: a.DataType}
		if a.BinaryValue != nil {
			v.BinaryValue = a.BinaryValue
		} else {
			s := a.StringValue
			v.StringValue = &s
		}
		out[n] = v
	}
	return out
}

// writeAttrXML writes a message attribute map as the Query protocol does.
func writeAttrXML(w *sqsXML, elem string, attrs map[string]sqsAttrValue) {
	for _, n := range sortedKeys(attrs) {
		a := attrs[n]
		w.open(elem)
		w.text("Name", n)
		w.open("Value")
		if a.StringValue != nil {
			w.text("StringValue", *a.StringValue)
		}
		if a.BinaryValue != nil {
			w.text("BinaryValue", base64.StdEncoding.EncodeToString(a.BinaryValue))
		}
		w.text("DataType", a.DataType)
		w.close("Value")
		w.close(elem)
	}
}

// writeMapXML writes a string map as flattened <elem><k>..</k><v>..</v></elem>.
func writeMapXML(w *sqsXML, elem, key, value string, m map[string]string) {
	for _, k := range sortedKeys(m) {
		w.open(elem)
		w.text(key, k)
		w.text(value, m[k])
		w.close(elem)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
