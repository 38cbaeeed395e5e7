package esm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/sqs"
	"github.com/cloister/cloister/internal/store"
)

// Limits and defaults of SQS mappings (Lambda's).
const (
	defaultBatchSize = 10
	maxBatchSize     = 10000
	maxFIFOBatchSize = 10
	maxWindow        = 300
	minConcurrency   = 2
	maxConcurrency   = 1000
	maxFilters       = 5
)

var (
	uuidRe           = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	eventSourceARNRe = regexp.MustCompile(`^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$`)
)

const eventSourceARNPattern = `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`

// Create is CreateEventSourceMapping for the caller's account.
func (s *Service) Create(ctx context.Context, account string, in *CreateInput) (*Configuration, error) {
	if err := checkModel(in.FunctionName, true, in.BatchSize, in.MaximumBatchingWindowInSeconds, in.ScalingConfig, in.FunctionResponseTypes, in.EventSourceArn); err != nil {
		return nil, err
	}
	if in.EventSourceArn == nil {
		return nil, invalidParam("Unrecognized event source.")
	}
	if err := checkSourceARN(*in.EventSourceArn); err != nil {
		return nil, err
	}
	if in.StartingPosition != nil || present(in.StartingPositionTimestamp) {
		return nil, invalidParam("StartingPosition is not valid for SQS event sources.")
	}
	if err := in.streamMembers.check(); err != nil {
		return nil, err
	}
	if present(in.Tags) {
		return nil, invalidParam("Tags on event source mappings are not supported by this server.")
	}
	queueARN := *in.EventSourceArn
	ref, fn, err := s.function(ctx, account, *in.FunctionName)
	if err != nil {
		return nil, err
	}
	if err := s.checkQueue(ctx, account, fn, queueARN); err != nil {
		return nil, err
	}
	rec := &record{
		UUID:           newUUID(),
		Account:        account,
		QueueARN:       queueARN,
		Function:       ref,
		FunctionARN:    ref.ARN(s.cfg.Region),
		BatchSize:      defaultBatchSize,
		Enabled:        in.Enabled == nil || *in.Enabled,
		StateReason:    userInitiated,
		LastModified:   s.now().UnixMilli(),
		ReportFailures: slices.Contains(in.FunctionResponseTypes, ReportBatchItemFailures),
	}
	rec.State = StateCreating
	if !rec.Enabled {
		rec.State = StateDisabled
	}
	if in.BatchSize != nil {
		rec.BatchSize = *in.BatchSize
	}
	if in.MaximumBatchingWindowInSeconds != nil {
		rec.Window = *in.MaximumBatchingWindowInSeconds
	}
	if in.ScalingConfig != nil && in.ScalingConfig.MaximumConcurrency != nil {
		rec.MaxConcurrency = *in.ScalingConfig.MaximumConcurrency
	}
	if in.FilterCriteria != nil {
		if rec.Filters, err = checkFilters(in.FilterCriteria); err != nil {
			return nil, err
		}
	}
	if err := checkBatching(rec); err != nil {
		return nil, err
	}
	rec.Claim = claimKey(account, queueARN, rec.FunctionARN)
	if err := s.claim(ctx, rec.Claim, rec.UUID, queueARN, ref); err != nil {
		return nil, err
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("esm: encode mapping: %w", err)
	}
	rev, err := s.mappings.Create(ctx, rec.UUID, data)
	if err != nil {
		s.release(context.WithoutCancel(ctx), rec.Claim, rec.UUID)
		return nil, fmt.Errorf("esm: create mapping: %w", err)
	}
	s.note(rec.UUID, data, rev)
	c := rec.config(s.cfg.Region)
	return &c, nil
}

// Get is GetEventSourceMapping.
func (s *Service) Get(ctx context.Context, account, uuid string) (*Configuration, error) {
	rec, _, err := s.load(ctx, account, uuid)
	if err != nil {
		return nil, err
	}
	c := rec.config(s.cfg.Region)
	return &c, nil
}

// Update is UpdateEventSourceMapping.
func (s *Service) Update(ctx context.Context, account, uuid string, in *UpdateInput) (*Configuration, error) {
	if err := checkModel(in.FunctionName, false, in.BatchSize, in.MaximumBatchingWindowInSeconds, in.ScalingConfig, in.FunctionResponseTypes, nil); err != nil {
		return nil, err
	}
	if err := in.streamMembers.check(); err != nil {
		return nil, err
	}
	var filters []string
	if in.FilterCriteria != nil {
		var err error
		if filters, err = checkFilters(in.FilterCriteria); err != nil {
			return nil, err
		}
	}
	var (
		ref *functions.Ref
		fn  *functions.Function
	)
	if in.FunctionName != nil {
		r, f, err := s.function(ctx, account, *in.FunctionName)
		if err != nil {
			return nil, err
		}
		ref, fn = &r, f
	}
	checked := "" // the (function, queue) pair whose access was checked
	for attempt := 0; ; attempt++ {
		cur, rev, err := s.load(ctx, account, uuid)
		if err != nil {
			return nil, err
		}
		if cur.State == StateDeleting {
			return nil, awserr.New(awserr.ResourceInUse, "Cannot update the event source mapping because it is in use.")
		}
		rec := *cur
		if ref != nil {
			rec.Function, rec.FunctionARN = *ref, ref.ARN(s.cfg.Region)
		}
		if in.BatchSize != nil {
			rec.BatchSize = *in.BatchSize
		}
		if in.MaximumBatchingWindowInSeconds != nil {
			rec.Window = *in.MaximumBatchingWindowInSeconds
		}
		if in.FilterCriteria != nil {
			rec.Filters = filters
		}
		if in.FunctionResponseTypes != nil {
			rec.ReportFailures = slices.Contains(in.FunctionResponseTypes, ReportBatchItemFailures)
		}
		if in.ScalingConfig != nil {
			rec.MaxConcurrency = 0
			if in.ScalingConfig.MaximumConcurrency != nil {
				rec.MaxConcurrency = *in.ScalingConfig.MaximumConcurrency
			}
		}
		rec.State = StateUpdating
		if in.Enabled != nil && *in.Enabled != cur.Enabled {
			rec.State = StateDisabling
			if *in.Enabled {
				rec.State = StateEnabling
			}
			rec.Enabled = *in.Enabled
		}
		rec.StateReason = userInitiated
		rec.LastModified = s.now().UnixMilli()
		if err := checkBatching(&rec); err != nil {
			return nil, err
		}
		// Another function's execution role, or a mapping being enabled,
		// must be allowed to consume the queue.
		if key := rec.FunctionARN + "\x00" + rec.QueueARN; checked != key {
			check := fn
			if check == nil && rec.Enabled && !cur.Enabled {
				f, err := s.cfg.Functions.Get(ctx, rec.Function)
				if err != nil && !awserr.IsType(err, awserr.ResourceNotFound) {
					return nil, err
				}
				check = f // nil when the function is gone: its pollers report that
			}
			if check != nil {
				if err := s.checkQueue(ctx, account, check, rec.QueueARN); err != nil {
					return nil, err
				}
				checked = key
			}
		}
		rec.Claim = claimKey(account, rec.QueueARN, rec.FunctionARN)
		if rec.Claim != cur.Claim {
			if err := s.claim(ctx, rec.Claim, uuid, rec.QueueARN, rec.Function); err != nil {
				return nil, err
			}
		}
		data, err := json.Marshal(&rec)
		if err != nil {
			return nil, fmt.Errorf("esm: encode mapping: %w", err)
		}
		nrev, err := s.mappings.Update(ctx, uuid, data, rev)
		if err != nil {
			if rec.Claim != cur.Claim {
				s.release(context.WithoutCancel(ctx), rec.Claim, uuid)
			}
			if errors.Is(err, store.ErrConflict) && attempt < 20 && ctx.Err() == nil {
				continue
			}
			if errors.Is(err, store.ErrNotFound) {
				return nil, notFound()
			}
			return nil, fmt.Errorf("esm: update mapping: %w", err)
		}
		if rec.Claim != cur.Claim {
			s.release(context.WithoutCancel(ctx), cur.Claim, uuid)
		}
		s.note(uuid, data, nrev)
		c := rec.config(s.cfg.Region)
		return &c, nil
	}
}

// Delete is DeleteEventSourceMapping: the mapping enters state Deleting
// and is removed once its pollers stopped.
func (s *Service) Delete(ctx context.Context, account, uuid string) (*Configuration, error) {
	for attempt := 0; ; attempt++ {
		cur, rev, err := s.load(ctx, account, uuid)
		if err != nil {
			return nil, err
		}
		if cur.State == StateDeleting {
			return nil, awserr.New(awserr.ResourceInUse, "Cannot delete the event source mapping because it is in use.")
		}
		rec := *cur
		rec.State = StateDeleting
		rec.StateReason = userInitiated
		rec.LastModified = s.now().UnixMilli()
		data, err := json.Marshal(&rec)
		if err != nil {
			return nil, fmt.Errorf("esm: encode mapping: %w", err)
		}
		nrev, err := s.mappings.Update(ctx, uuid, data, rev)
		if err != nil {
			if errors.Is(err, store.ErrConflict) && attempt < 20 && ctx.Err() == nil {
				continue
			}
			if errors.Is(err, store.ErrNotFound) {
				return nil, notFound()
			}
			return nil, fmt.Errorf("esm: delete mapping: %w", err)
		}
		s.note(uuid, data, nrev)
		c := rec.config(s.cfg.Region)
		return &c, nil
	}
}

// List is ListEventSourceMappings, from this server's copy of the
// mappings (current through the store's watch, and with this server's own
// writes at once).
func (s *Service) List(ctx context.Context, account string, in ListInput) (*ListPage, error) {
	if in.EventSourceArn != "" && !eventSourceARNRe.MatchString(in.EventSourceArn) {
		return nil, validationError(constraint(in.EventSourceArn, "eventSourceArn", "Member must satisfy regular expression pattern: "+eventSourceARNPattern))
	}
	var fn *functions.Ref
	if in.FunctionName != "" {
		r, err := functions.ParseRef(in.FunctionName, "", account, s.cfg.Region)
		if err != nil {
			return nil, err
		}
		fn = &r
	}
	after := ""
	if in.Marker != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.Marker)
		if err != nil || !uuidRe.Match(b) {
			return nil, invalidParam("Invalid marker: %s", truncate(in.Marker, 64))
		}
		after = string(b)
	}
	maxItems := in.MaxItems
	if maxItems <= 0 {
		maxItems = 100
	}
	s.mu.Lock()
	var recs []*record
	for uuid, e := range s.index {
		r := e.rec
		if r.Account != account || uuid <= after {
			continue
		}
		if in.EventSourceArn != "" && r.QueueARN != in.EventSourceArn {
			continue
		}
		if fn != nil && (r.Function.Account != fn.Account || r.Function.Name != fn.Name ||
			fn.Qualifier != "" && r.Function.Qualifier != fn.Qualifier) {
			continue
		}
		recs = append(recs, r)
	}
	s.mu.Unlock()
	slices.SortFunc(recs, func(a, b *record) int { return strings.Compare(a.UUID, b.UUID) })
	page := &ListPage{EventSourceMappings: []Configuration{}}
	for i, r := range recs {
		if i == maxItems {
			page.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(recs[i-1].UUID))
			break
		}
		page.EventSourceMappings = append(page.EventSourceMappings, r.config(s.cfg.Region))
	}
	return page, nil
}

// CheckUUID returns ResourceNotFoundException unless id has the form of a
// mapping's UUID (so that the API can refuse it before authorizing).
func CheckUUID(id string) error {
	if !uuidRe.MatchString(id) {
		return notFound()
	}
	return nil
}

// load reads a mapping of account.
func (s *Service) load(ctx context.Context, account, uuid string) (*record, uint64, error) {
	if err := CheckUUID(uuid); err != nil {
		return nil, 0, err
	}
	var rec record
	rev, err := s.mappings.GetJSON(ctx, uuid, &rec)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, notFound()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("esm: load mapping: %w", err)
	}
	if rec.Account != account {
		return nil, 0, notFound()
	}
	return &rec, rev, nil
}

// function resolves the FunctionName of a request to a function (version,
// alias) of the caller's account that exists.
func (s *Service) function(ctx context.Context, account, name string) (functions.Ref, *functions.Function, error) {
	ref, err := functions.ParseRef(name, "", account, s.cfg.Region)
	if err != nil {
		return functions.Ref{}, nil, err
	}
	if ref.Account != account {
		return functions.Ref{}, nil, invalidParam("Function does not exist")
	}
	fn, err := s.cfg.Functions.Get(ctx, ref)
	if err != nil {
		if awserr.IsType(err, awserr.ResourceNotFound) {
			return functions.Ref{}, nil, invalidParam("Function does not exist")
		}
		return functions.Ref{}, nil, err
	}
	return ref, fn, nil
}

// nonexistentQueue is Lambda's answer for a queue that does not exist.
func nonexistentQueue() error {
	return invalidParam("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist for this wsdl version.")
}

// noQueueAccess is Lambda's answer when the function's execution role may
// not consume the queue.
func noQueueAccess(action string) error {
	return invalidParam("The function execution role does not have permissions to call %s on SQS", action)
}

// consumeActions are what a function's execution role must be allowed on a
// queue for a mapping to poll it, in the order Lambda reports them.
var consumeActions = []string{"ReceiveMessage", "DeleteMessage", "GetQueueAttributes"}

// checkQueue checks that the queue exists and that the function's
// execution role may consume it (see queueGrants). Whether a queue of
// another account exists is revealed only to roles it grants.
func (s *Service) checkQueue(ctx context.Context, account string, fn *functions.Function, queueARN string) error {
	_, owner, _, err := sqs.ParseARN(queueARN)
	if err != nil {
		return nonexistentQueue()
	}
	q, err := s.cfg.Queues.Queue(ctx, queueARN)
	switch {
	case err == nil:
	case awserr.IsType(err, awserr.SQSQueueDoesNotExist) && owner == account:
		return nonexistentQueue()
	case awserr.IsType(err, awserr.SQSQueueDoesNotExist):
		return noQueueAccess(consumeActions[0])
	default:
		return err
	}
	action, err := s.queueGrants(ctx, fn, q)
	if err != nil {
		return err
	}
	if action != "" {
		return noQueueAccess(action)
	}
	return nil
}

// queueGrants asks, as Lambda does, whether a session of the function's
// execution role may call ReceiveMessage, DeleteMessage and
// GetQueueAttributes on the queue: the role's identity-based policies
// (within its permissions boundary and its account's guardrails) must
// allow them, and for a queue of another account the queue's policy too.
// It returns the first action that is not allowed ("" when all are).
func (s *Service) queueGrants(ctx context.Context, fn *functions.Function, q sqs.Queue) (string, error) {
	queuePolicy := func(ctx context.Context) (*policy.Policy, error) {
		p, err := s.cfg.Queues.QueuePolicy(ctx, q.ARN)
		if awserr.IsType(err, awserr.SQSQueueDoesNotExist) {
			return nil, nil // deleted meanwhile: no grant
		}
		return p, err
	}
	session := iam.LambdaSessionName(fn.Config.FunctionName)
	for _, action := range consumeActions {
		err := s.cfg.AuthorizeRole(ctx, fn.Config.Role, session, "sqs:"+action, q.ARN, q.Account, queuePolicy)
		if awserr.IsType(err, awserr.AccessDenied) {
			return action, nil
		}
		if err != nil {
			return "", fmt.Errorf("esm: authorize the execution role: %w", err)
		}
	}
	return "", nil
}

// claim takes the claims-bucket key of a (queue, function) pair for uuid,
// or fails with ResourceConflictException naming the mapping that holds
// it. A claim whose mapping is gone is taken over.
func (s *Service) claim(ctx context.Context, key, uuid, queueARN string, ref functions.Ref) error {
	for attempt := 0; attempt < 10; attempt++ {
		_, err := s.claims.Create(ctx, key, []byte(uuid))
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("esm: claim mapping: %w", err)
		}
		e, err := s.claims.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("esm: read claim: %w", err)
		}
		holder := string(e.Value)
		if holder == uuid {
			return nil
		}
		var rec record
		_, err = s.mappings.GetJSON(ctx, holder, &rec)
		if err == nil && rec.Claim == key {
			name := ref.Name
			if ref.Qualifier != "" {
				name += ":" + ref.Qualifier
			}
			return awserr.New(awserr.ResourceConflict,
				`An event source mapping with SQS arn (" %s ") and function (" %s ") already exists. Please update or delete the existing mapping with UUID %s`,
				queueARN, name, holder)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("esm: read claim holder: %w", err)
		}
		// Stale: the holder is gone or holds another pair now.
		if err := s.claims.Delete(ctx, key, e.Revision); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("esm: take over claim: %w", err)
		}
	}
	return awserr.New(awserr.ResourceConflict, "The event source mapping is being changed concurrently; try again.")
}

// claimKey is the claims-bucket key of an (account, queue, function) triple.
func claimKey(account, queueARN, functionARN string) string {
	sum := sha256.Sum256([]byte(account + "\x00" + queueARN + "\x00" + functionARN))
	return hex.EncodeToString(sum[:20])
}

// checkSourceARN refuses event sources other than SQS queues.
func checkSourceARN(source string) error {
	switch service := arn.Service(source); service {
	case "sqs":
		return nil
	case "kinesis", "dynamodb", "kafka", "mq", "rds":
		return invalidParam("Event sources of type %s are not supported by this server: only Amazon SQS queues can be mapped.", service)
	}
	return invalidParam("Unrecognized event source, must be kinesis, dynamodb stream or sqs. Unsupported source arn : %s", truncate(source, 256))
}

// checkModel applies the API model's constraints, reporting every
// violation in one ValidationException as Lambda does.
func checkModel(fn *string, fnRequired bool, batch, window *int, sc *ScalingConfig, types []string, source *string) error {
	var v []string
	if fn == nil && fnRequired {
		v = append(v, constraint(nil, "functionName", "Member must not be null"))
	}
	if fn != nil && (len(*fn) < 1 || len(*fn) > 140) {
		v = append(v, constraint(truncate(*fn, 256), "functionName", "Member must have length less than or equal to 140"))
	}
	if source != nil && (len(*source) > 1024 || !eventSourceARNRe.MatchString(*source)) {
		v = append(v, constraint(truncate(*source, 256), "eventSourceArn", "Member must satisfy regular expression pattern: "+eventSourceARNPattern))
	}
	if batch != nil {
		if *batch < 1 {
			v = append(v, constraint(*batch, "batchSize", "Member must have value greater than or equal to 1"))
		} else if *batch > maxBatchSize {
			v = append(v, constraint(*batch, "batchSize", "Member must have value less than or equal to 10000"))
		}
	}
	if window != nil {
		if *window < 0 {
			v = append(v, constraint(*window, "maximumBatchingWindowInSeconds", "Member must have value greater than or equal to 0"))
		} else if *window > maxWindow {
			v = append(v, constraint(*window, "maximumBatchingWindowInSeconds", "Member must have value less than or equal to 300"))
		}
	}
	if sc != nil && sc.MaximumConcurrency != nil {
		if n := *sc.MaximumConcurrency; n < minConcurrency {
			v = append(v, constraint(n, "scalingConfig.maximumConcurrency", "Member must have value greater than or equal to 2"))
		} else if n > maxConcurrency {
			v = append(v, constraint(n, "scalingConfig.maximumConcurrency", "Member must have value less than or equal to 1000"))
		}
	}
	if len(types) > 1 {
		v = append(v, constraint("["+strings.Join(types, ", ")+"]", "functionResponseTypes", "Member must have length less than or equal to 1"))
	}
	for _, t := range types {
		if t != ReportBatchItemFailures {
			v = append(v, constraint("["+strings.Join(types, ", ")+"]", "functionResponseTypes",
				"Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]"))
			break
		}
	}
	if len(v) == 0 {
		return nil
	}
	return validationError(v...)
}

// checkBatching applies Lambda's rules on batch size and window.
func checkBatching(r *record) error {
	if strings.HasSuffix(r.QueueARN, ".fifo") && r.BatchSize > maxFIFOBatchSize {
		return invalidParam("BatchSize must be between 1 and 10 for FIFO queues.")
	}
	if r.BatchSize > 10 && r.Window < 1 {
		return invalidParam("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
	}
	return nil
}

// checkFilters validates FilterCriteria and returns its patterns (none
// for an empty criteria, which removes the filters).
func checkFilters(fc *FilterCriteria) ([]string, error) {
	if len(fc.Filters) > maxFilters {
		return nil, invalidParam("The number of filters (%d) exceeds the limit of %d filters per event source mapping.", len(fc.Filters), maxFilters)
	}
	var out []string
	for _, f := range fc.Filters {
		if f.Pattern == nil {
			return nil, invalidParam("Invalid filter pattern definition.")
		}
		if _, err := ParsePattern(*f.Pattern); err != nil {
			return nil, invalidParam("Invalid filter pattern definition.")
		}
		out = append(out, *f.Pattern)
	}
	return out, nil
}

// check refuses members that do not apply to queues or that this server
// does not offer.
func (m *streamMembers) check() error {
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{
		{"BisectBatchOnFunctionError", m.BisectBatchOnFunctionError},
		{"DestinationConfig", m.DestinationConfig},
		{"MaximumRecordAgeInSeconds", m.MaximumRecordAgeInSeconds},
		{"MaximumRetryAttempts", m.MaximumRetryAttempts},
		{"ParallelizationFactor", m.ParallelizationFactor},
		{"TumblingWindowInSeconds", m.TumblingWindowInSeconds},
		{"Topics", m.Topics},
		{"Queues", m.Queues},
		{"SourceAccessConfigurations", m.SourceAccessConfigurations},
		{"SelfManagedEventSource", m.SelfManagedEventSource},
		{"SelfManagedKafkaEventSourceConfig", m.SelfManagedKafkaEventSourceConfig},
		{"AmazonManagedKafkaEventSourceConfig", m.AmazonManagedKafkaEventSourceConfig},
		{"DocumentDBEventSourceConfig", m.DocumentDBEventSourceConfig},
		{"LoggingConfig", m.LoggingConfig},
	} {
		if present(f.raw) {
			return invalidParam("Unsupported %s parameter for given event source mapping type.", f.name)
		}
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{
		{"ProvisionedPollerConfig", m.ProvisionedPollerConfig},
		{"KMSKeyArn", m.KMSKeyArn},
		{"MetricsConfig", m.MetricsConfig},
	} {
		if present(f.raw) {
			return invalidParam("%s is not supported by this server.", f.name)
		}
	}
	return nil
}

// present reports whether a raw member was sent with a value.
func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

func notFound() error {
	return awserr.New(awserr.ResourceNotFound, "The resource you requested does not exist.")
}

func invalidParam(format string, args ...any) error {
	return awserr.New(awserr.InvalidParameterValue, format, args...)
}

func constraint(value any, member, rule string) string {
	v := "null"
	if value != nil {
		v = fmt.Sprintf("'%v'", value)
	}
	return fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", v, member, rule)
}

func validationError(msgs ...string) error {
	noun := "error"
	if len(msgs) > 1 {
		noun = "errors"
	}
	return awserr.New(awserr.Validation, "%d validation %s detected: %s", len(msgs), noun, strings.Join(msgs, "; "))
}
