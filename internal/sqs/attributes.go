package sqs

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
)

// Queue attribute names.
const (
	AttrAll                    = "All"
	AttrPolicy                 = "Policy"
	AttrVisibilityTimeout      = "VisibilityTimeout"
	AttrMaximumMessageSize     = "MaximumMessageSize"
	AttrMessageRetentionPeriod = "MessageRetentionPeriod"
	AttrApproxMessages         = "ApproximateNumberOfMessages"
	AttrApproxNotVisible       = "ApproximateNumberOfMessagesNotVisible"
	AttrApproxDelayed          = "ApproximateNumberOfMessagesDelayed"
	AttrCreatedTimestamp       = "CreatedTimestamp"
	AttrLastModifiedTimestamp  = "LastModifiedTimestamp"
	AttrQueueArn               = "QueueArn"
	AttrDelaySeconds           = "DelaySeconds"
	AttrReceiveWaitTime        = "ReceiveMessageWaitTimeSeconds"
	AttrRedrivePolicy          = "RedrivePolicy"
	AttrRedriveAllowPolicy     = "RedriveAllowPolicy"
	AttrFifoQueue              = "FifoQueue"
	AttrContentBasedDedup      = "ContentBasedDeduplication"
	AttrDeduplicationScope     = "DeduplicationScope"
	AttrFifoThroughputLimit    = "FifoThroughputLimit"
	AttrSqsManagedSseEnabled   = "SqsManagedSseEnabled"
	AttrKmsMasterKeyID         = "KmsMasterKeyId"
	AttrKmsDataKeyReusePeriod  = "KmsDataKeyReusePeriodSeconds"
)

// Attribute limits and defaults (Amazon SQS's).
const (
	defaultVisibility  = 30
	maxVisibility      = 43200 // 12 hours
	defaultRetention   = 345600
	minRetention       = 60
	maxRetention       = 1209600 // 14 days
	maxDelay           = 900
	maxWait            = 20
	maxReceiveCountCap = 1000
	maxPolicySize      = 20 << 10
	maxRedriveSources  = 10
)

// RedrivePolicy sends a message to DeadLetterTargetARN once it has been
// received MaxReceiveCount times without being deleted.
type RedrivePolicy struct {
	DeadLetterTargetARN string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// RedriveAllowPolicy says which source queues may use a queue as their
// dead-letter queue: Permission is allowAll, denyAll or byQueue (then only
// SourceQueueARNs).
type RedriveAllowPolicy struct {
	Permission      string   `json:"redrivePermission"`
	SourceQueueARNs []string `json:"sourceQueueArns,omitempty"`
}

// queueAttrs are a queue's settable attributes.
type queueAttrs struct {
	VisibilityTimeout  int                 `json:"visibilityTimeout"`
	RetentionPeriod    int                 `json:"retentionPeriod"`
	DelaySeconds       int                 `json:"delaySeconds"`
	WaitTimeSeconds    int                 `json:"waitTimeSeconds"`
	MaximumMessageSize int                 `json:"maximumMessageSize"`
	Redrive            *RedrivePolicy      `json:"redrive,omitempty"`
	RedriveAllow       *RedriveAllowPolicy `json:"redriveAllow,omitempty"`
	Policy             string              `json:"policy,omitempty"`
	ContentBasedDedup  bool                `json:"contentBasedDedup,omitempty"`
	DedupScope         string              `json:"dedupScope,omitempty"`
	ThroughputLimit    string              `json:"throughputLimit,omitempty"`
}

func defaultAttrs(fifo bool) queueAttrs {
	a := queueAttrs{
		VisibilityTimeout:  defaultVisibility,
		RetentionPeriod:    defaultRetention,
		MaximumMessageSize: MaxMessageSize,
	}
	if fifo {
		a.DedupScope = "messageQueue"
		a.ThroughputLimit = "perQueue"
	}
	return a
}

// readOnlyAttrs are reported by GetQueueAttributes but never set.
var readOnlyAttrs = []string{
	AttrApproxMessages, AttrApproxNotVisible, AttrApproxDelayed,
	AttrCreatedTimestamp, AttrLastModifiedTimestamp, AttrQueueArn,
}

func unknownAttr(name string) error {
	return awserr.New(awserr.SQSInvalidAttributeName, "Unknown Attribute %s.", truncate(name, 256))
}

func invalidAttr(name string) error {
	return awserr.New(awserr.SQSInvalidAttributeValue, "Invalid value for the parameter %s.", name)
}

// parseBound parses an integer attribute within [lo, hi].
func parseBound(name, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalidAttr(name)
	}
	return n, nil
}

func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidAttr(name)
}

// applyAttrs validates in and writes it over a. dlq resolves a dead-letter
// target ARN to its record (nil when there is none). creating allows the
// attributes only CreateQueue may set.
func applyAttrs(a *queueAttrs, rec *queueRecord, region string, in map[string]string, creating bool, dlq func(arn string) *queueRecord) error {
	// Validate in a stable order so that the error for a request with
	// several bad attributes does not vary.
	names := make([]string, 0, len(in))
	for n := range in {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		v := in[name]
		var err error
		switch name {
		case AttrVisibilityTimeout:
			a.VisibilityTimeout, err = parseBound(name, v, 0, maxVisibility)
		case AttrMessageRetentionPeriod:
			a.RetentionPeriod, err = parseBound(name, v, minRetention, maxRetention)
		case AttrDelaySeconds:
			a.DelaySeconds, err = parseBound(name, v, 0, maxDelay)
		case AttrReceiveWaitTime:
			a.WaitTimeSeconds, err = parseBound(name, v, 0, maxWait)
		case AttrMaximumMessageSize:
			a.MaximumMessageSize, err = parseBound(name, v, minMessageSize, MaxMessageSize)
		case AttrPolicy:
			err = checkPolicy(v)
			a.Policy = v
		case AttrRedrivePolicy:
			a.Redrive, err = parseRedrive(v, rec, region, dlq)
		case AttrRedriveAllowPolicy:
			a.RedriveAllow, err = parseRedriveAllow(v)
		case AttrFifoQueue:
			if !creating {
				return unknownAttr(name)
			}
			var fifo bool
			if fifo, err = parseBool(name, v); err == nil && fifo != rec.FIFO {
				err = invalidName(fifo)
			}
		case AttrContentBasedDedup:
			if !rec.FIFO {
				return unknownAttr(name)
			}
			a.ContentBasedDedup, err = parseBool(name, v)
		case AttrDeduplicationScope:
			if !rec.FIFO {
				return unknownAttr(name)
			}
			if v != "messageQueue" && v != "messageGroup" {
				err = invalidAttr(name)
			}
			a.DedupScope = v
		case AttrFifoThroughputLimit:
			if !rec.FIFO {
				return unknownAttr(name)
			}
			if v != "perQueue" && v != "perMessageGroupId" {
				err = invalidAttr(name)
			}
			a.ThroughputLimit = v
		case AttrSqsManagedSseEnabled:
			var on bool
			if on, err = parseBool(name, v); err == nil && on {
				err = awserr.New(awserr.SQSInvalidAttributeValue,
					"Invalid value for the parameter SqsManagedSseEnabled. Cloister does not encrypt messages itself; encrypt the JetStream store instead.")
			}
		case AttrKmsMasterKeyID, AttrKmsDataKeyReusePeriod:
			if v != "" {
				err = awserr.New(awserr.SQSInvalidAttributeValue, "Invalid value for the parameter %s. Cloister does not support KMS.", name)
			}
		default:
			return unknownAttr(name)
		}
		if err != nil {
			return err
		}
	}
	if rec.FIFO && a.ThroughputLimit == "perMessageGroupId" && a.DedupScope != "messageGroup" {
		return awserr.New(awserr.SQSInvalidAttributeValue,
			"Invalid value for the parameter FifoThroughputLimit. Reason: To set FifoThroughputLimit to perMessageGroupId, the DeduplicationScope must be messageGroup.")
	}
	return nil
}

func checkPolicy(v string) error {
	if v == "" {
		return nil
	}
	if len(v) > maxPolicySize || validChars(v) >= 0 {
		return invalidAttr(AttrPolicy)
	}
	if _, err := policy.Parse([]byte(v), policy.Resource); err != nil {
		var pe *policy.ParseError
		if errors.As(err, &pe) {
			return awserr.New(awserr.SQSInvalidAttributeValue, "Invalid value for the parameter Policy. Reason: %s", pe.Message)
		}
		return invalidAttr(AttrPolicy)
	}
	return nil
}

// parseRedrive parses a RedrivePolicy: {"deadLetterTargetArn": ARN,
// "maxReceiveCount": N}, N a number or a numeric string. The target must be
// an existing queue of the same type in the same account and region whose
// RedriveAllowPolicy admits rec.
func parseRedrive(v string, rec *queueRecord, region string, dlq func(string) *queueRecord) (*RedrivePolicy, error) {
	if v == "" {
		return nil, nil
	}
	bad := func(reason string) error {
		return awserr.New(awserr.InvalidParameterValue, "Value %s for parameter RedrivePolicy is invalid. Reason: %s", truncate(v, 512), reason)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return nil, bad("Invalid value for the parameter RedrivePolicy.")
	}
	var p RedrivePolicy
	for k, val := range raw {
		switch k {
		case "deadLetterTargetArn":
			if err := json.Unmarshal(val, &p.DeadLetterTargetARN); err != nil {
				return nil, bad("Invalid value for deadLetterTargetArn.")
			}
		case "maxReceiveCount":
			n, ok := jsonInt(val)
			if !ok || n < 1 || n > maxReceiveCountCap {
				return nil, bad("Invalid value for maxReceiveCount: must be an integer from 1 to 1000.")
			}
			p.MaxReceiveCount = n
		default:
			return nil, bad("Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].")
		}
	}
	if p.DeadLetterTargetARN == "" || p.MaxReceiveCount == 0 {
		return nil, bad("Redrive policy requires both deadLetterTargetArn and maxReceiveCount.")
	}
	r, acct, _, err := ParseARN(p.DeadLetterTargetARN)
	if err != nil || r != region || acct != rec.Account {
		return nil, bad("Dead letter target does not exist.")
	}
	target := dlq(p.DeadLetterTargetARN)
	if target == nil {
		return nil, bad("Dead letter target does not exist.")
	}
	if target.FIFO != rec.FIFO {
		return nil, bad("Dead-letter queue must be same type of queue as the source.")
	}
	if target.ID == rec.ID {
		return nil, bad("A queue cannot be its own dead-letter queue.")
	}
	if !target.Attrs.RedriveAllow.allows(ARN(region, rec.Account, rec.Name)) {
		return nil, bad("The dead-letter queue's RedriveAllowPolicy does not allow this queue as a source.")
	}
	return &p, nil
}

// jsonInt reads a JSON number or numeric string as an int.
func jsonInt(v json.RawMessage) (int, bool) {
	var s string
	if json.Unmarshal(v, &s) == nil {
		n, err := strconv.Atoi(s)
		return n, err == nil
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var num json.Number
	if dec.Decode(&num) != nil {
		return 0, false
	}
	n, err := strconv.Atoi(num.String())
	return n, err == nil
}

func parseRedriveAllow(v string) (*RedriveAllowPolicy, error) {
	if v == "" {
		return nil, nil
	}
	bad := func(reason string) error {
		return awserr.New(awserr.InvalidParameterValue, "Value %s for parameter RedriveAllowPolicy is invalid. Reason: %s", truncate(v, 512), reason)
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	var p RedriveAllowPolicy
	if err := dec.Decode(&p); err != nil {
		return nil, bad("Invalid value for the parameter RedriveAllowPolicy.")
	}
	switch p.Permission {
	case "allowAll", "denyAll":
		if len(p.SourceQueueARNs) > 0 {
			return nil, bad("sourceQueueArns may be given only with redrivePermission byQueue.")
		}
	case "byQueue":
		if len(p.SourceQueueARNs) == 0 || len(p.SourceQueueARNs) > maxRedriveSources {
			return nil, bad("byQueue requires 1 to 10 sourceQueueArns.")
		}
		for _, a := range p.SourceQueueARNs {
			if _, _, _, err := ParseARN(a); err != nil {
				return nil, bad("Invalid source queue ARN.")
			}
		}
	default:
		return nil, bad("redrivePermission must be allowAll, denyAll or byQueue.")
	}
	return &p, nil
}

// allows reports whether the policy admits source as a source queue (a nil
// policy allows every queue of the account).
func (p *RedriveAllowPolicy) allows(source string) bool {
	if p == nil {
		return true
	}
	switch p.Permission {
	case "allowAll":
		return true
	case "byQueue":
		return slices.Contains(p.SourceQueueARNs, source)
	}
	return false
}

func (p *RedrivePolicy) json() string {
	b, _ := json.Marshal(p)
	return string(b)
}

func (p *RedriveAllowPolicy) json() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// settableAttrs lists the attributes a queue reports with "All", apart from
// the read-only ones.
func settableAttrs(rec *queueRecord) map[string]string {
	a := rec.Attrs
	out := map[string]string{
		AttrVisibilityTimeout:      strconv.Itoa(a.VisibilityTimeout),
		AttrMaximumMessageSize:     strconv.Itoa(a.MaximumMessageSize),
		AttrMessageRetentionPeriod: strconv.Itoa(a.RetentionPeriod),
		AttrDelaySeconds:           strconv.Itoa(a.DelaySeconds),
		AttrReceiveWaitTime:        strconv.Itoa(a.WaitTimeSeconds),
		AttrSqsManagedSseEnabled:   "false",
	}
	if a.Policy != "" {
		out[AttrPolicy] = a.Policy
	}
	if a.Redrive != nil {
		out[AttrRedrivePolicy] = a.Redrive.json()
	}
	if a.RedriveAllow != nil {
		out[AttrRedriveAllowPolicy] = a.RedriveAllow.json()
	}
	if rec.FIFO {
		out[AttrFifoQueue] = "true"
		out[AttrContentBasedDedup] = strconv.FormatBool(a.ContentBasedDedup)
		out[AttrDeduplicationScope] = a.DedupScope
		out[AttrFifoThroughputLimit] = a.ThroughputLimit
	}
	return out
}
