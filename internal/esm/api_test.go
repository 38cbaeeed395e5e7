package esm_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
)

// TestMappingLifecycle drives one mapping through every operation with the
// Go SDK and checks each answer's shape as Lambda gives it.
func TestMappingLifecycle(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	fnARN := h.createFunction(t, h.lambda, h.account, name)
	q := h.createQueue(t, h.sqs, name, nil)

	before := time.Now().Add(-time.Second)
	out, err := h.lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name),
	})
	if err != nil {
		t.Fatal(err)
	}
	uuid := aws.ToString(out.UUID)
	t.Cleanup(func() {
		_, _ = h.lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: aws.String(uuid)})
	})
	if got := aws.ToString(out.State); got != "Creating" {
		t.Errorf("create: State %q, want Creating", got)
	}
	if lm := aws.ToTime(out.LastModified); lm.Before(before) || lm.After(time.Now().Add(time.Second)) {
		t.Errorf("create: LastModified %v is not now", lm)
	}
	want := mappingView{
		UUID: uuid, BatchSize: 10, EventSourceArn: q.arn, FunctionArn: fnARN,
		EventSourceMappingArn: "arn:aws:lambda:" + region + ":" + h.account + ":event-source-mapping:" + uuid,
		StateTransitionReason: "USER_INITIATED", FunctionResponseTypes: []lambdatypes.FunctionResponseType{},
	}
	if diff := cmp.Diff(want, view(out.UUID, out.BatchSize, out.MaximumBatchingWindowInSeconds, out.EventSourceArn, out.EventSourceMappingArn,
		out.FunctionArn, out.StateTransitionReason, out.FunctionResponseTypes, out.FilterCriteria, out.ScalingConfig)); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}

	got := h.waitState(t, h.lambda, uuid, "Enabled")
	if diff := cmp.Diff(want, view(got.UUID, got.BatchSize, got.MaximumBatchingWindowInSeconds, got.EventSourceArn, got.EventSourceMappingArn,
		got.FunctionArn, got.StateTransitionReason, got.FunctionResponseTypes, got.FilterCriteria, got.ScalingConfig)); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}

	pattern := `{"body":{"kind":["keep"]}}`
	upd, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{
		UUID: aws.String(uuid), BatchSize: aws.Int32(50), MaximumBatchingWindowInSeconds: aws.Int32(2),
		FilterCriteria:        &lambdatypes.FilterCriteria{Filters: []lambdatypes.Filter{{Pattern: aws.String(pattern)}}},
		FunctionResponseTypes: []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures},
		ScalingConfig:         &lambdatypes.ScalingConfig{MaximumConcurrency: aws.Int32(3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(upd.State) != "Updating" {
		t.Errorf("update: State %q, want Updating", aws.ToString(upd.State))
	}
	want.BatchSize, want.Window = 50, 2
	want.Filters = []string{pattern}
	want.FunctionResponseTypes = []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures}
	want.MaximumConcurrency = 3
	got = h.waitState(t, h.lambda, uuid, "Enabled")
	if diff := cmp.Diff(want, view(got.UUID, got.BatchSize, got.MaximumBatchingWindowInSeconds, got.EventSourceArn, got.EventSourceMappingArn,
		got.FunctionArn, got.StateTransitionReason, got.FunctionResponseTypes, got.FilterCriteria, got.ScalingConfig)); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}

	// Empty values remove filters, response types and the scaling cap.
	if _, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{
		UUID: aws.String(uuid), FilterCriteria: &lambdatypes.FilterCriteria{}, ScalingConfig: &lambdatypes.ScalingConfig{},
		FunctionResponseTypes: []lambdatypes.FunctionResponseType{},
	}); err != nil {
		t.Fatal(err)
	}
	got = h.waitState(t, h.lambda, uuid, "Enabled")
	if got.FilterCriteria != nil || got.ScalingConfig != nil || len(got.FunctionResponseTypes) != 0 {
		t.Errorf("after clearing: FilterCriteria %v, ScalingConfig %v, FunctionResponseTypes %v", got.FilterCriteria, got.ScalingConfig, got.FunctionResponseTypes)
	}

	dis, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(uuid), Enabled: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(dis.State) != "Disabling" {
		t.Errorf("disable: State %q, want Disabling", aws.ToString(dis.State))
	}
	h.waitState(t, h.lambda, uuid, "Disabled")
	if n := h.mappings.Pollers(uuid); n != 0 {
		t.Errorf("a disabled mapping runs %d pollers", n)
	}
	en, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(uuid), Enabled: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(en.State) != "Enabling" {
		t.Errorf("enable: State %q, want Enabling", aws.ToString(en.State))
	}
	h.waitState(t, h.lambda, uuid, "Enabled")
	if n := h.mappings.Pollers(uuid); n < 1 {
		t.Errorf("an enabled mapping runs %d pollers", n)
	}

	list, err := h.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(fnARN)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.EventSourceMappings) != 1 || aws.ToString(list.EventSourceMappings[0].UUID) != uuid {
		t.Errorf("list by function: %+v", list.EventSourceMappings)
	}

	del, err := h.lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: aws.String(uuid)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(del.State) != "Deleting" {
		t.Errorf("delete: State %q, want Deleting", aws.ToString(del.State))
	}
	eventually(t, 10*time.Second, "the deleted mapping to disappear", func() bool {
		_, err := h.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
		if err == nil {
			return false
		}
		code, msg := apiError(t, err)
		if code != "ResourceNotFoundException" || msg != "The resource you requested does not exist." {
			t.Fatalf("get after delete: %s: %s", code, msg)
		}
		return true
	})
	if n := h.mappings.Pollers(uuid); n != 0 {
		t.Errorf("a deleted mapping runs %d pollers", n)
	}
	// The pair can be mapped again once the mapping is gone.
	h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name)}, "Enabled")
}

// mappingView is the part of a mapping the lifecycle test compares.
type mappingView struct {
	UUID, EventSourceArn, EventSourceMappingArn, FunctionArn, StateTransitionReason string
	BatchSize, Window, MaximumConcurrency                                           int32
	FunctionResponseTypes                                                           []lambdatypes.FunctionResponseType
	Filters                                                                         []string
}

func view(uuid *string, batch, window *int32, source, esmARN, fn, reason *string, types []lambdatypes.FunctionResponseType,
	fc *lambdatypes.FilterCriteria, sc *lambdatypes.ScalingConfig) mappingView {
	v := mappingView{
		UUID: aws.ToString(uuid), BatchSize: aws.ToInt32(batch), Window: aws.ToInt32(window), EventSourceArn: aws.ToString(source),
		EventSourceMappingArn: aws.ToString(esmARN), FunctionArn: aws.ToString(fn), StateTransitionReason: aws.ToString(reason),
		FunctionResponseTypes: types,
	}
	if fc != nil {
		for _, f := range fc.Filters {
			v.Filters = append(v.Filters, aws.ToString(f.Pattern))
		}
	}
	if sc != nil {
		v.MaximumConcurrency = aws.ToInt32(sc.MaximumConcurrency)
	}
	return v
}

// TestCreateValidation checks that invalid requests fail as Lambda fails
// them.
func TestCreateValidation(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.createFunction(t, h.lambda, h.account, name)
	q := h.createQueue(t, h.sqs, name, nil)
	fifo := h.createQueue(t, h.sqs, name+".fifo", map[string]string{"FifoQueue": "true"})
	otherQ := h.createQueue(t, h.otherSQS, name+"-theirs", nil)
	base := func() *lambda.CreateEventSourceMappingInput {
		return &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name)}
	}
	with := func(f func(in *lambda.CreateEventSourceMappingInput)) *lambda.CreateEventSourceMappingInput {
		in := base()
		f(in)
		return in
	}
	filters := func(patterns ...string) *lambdatypes.FilterCriteria {
		fc := &lambdatypes.FilterCriteria{}
		for _, p := range patterns {
			fc.Filters = append(fc.Filters, lambdatypes.Filter{Pattern: aws.String(p)})
		}
		return fc
	}
	const noQueue = "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist for this wsdl version."
	for _, tc := range []struct {
		name, code, msg string
		in              *lambda.CreateEventSourceMappingInput
	}{
		{"batch size 0", "ValidationException", "1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.BatchSize = aws.Int32(0) })},
		{"batch size 10001", "ValidationException", "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.BatchSize = aws.Int32(10001) })},
		{"two violations", "ValidationException", "2 validation errors detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1; Value '301' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to 300",
			with(func(in *lambda.CreateEventSourceMappingInput) {
				in.BatchSize, in.MaximumBatchingWindowInSeconds = aws.Int32(0), aws.Int32(301)
			})},
		{"big batch without window", "InvalidParameterValueException", "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.BatchSize = aws.Int32(11) })},
		{"maximum concurrency 1", "ValidationException", "1 validation error detected: Value '1' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value greater than or equal to 2",
			with(func(in *lambda.CreateEventSourceMappingInput) {
				in.ScalingConfig = &lambdatypes.ScalingConfig{MaximumConcurrency: aws.Int32(1)}
			})},
		{"maximum concurrency 1001", "ValidationException", "1 validation error detected: Value '1001' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value less than or equal to 1000",
			with(func(in *lambda.CreateEventSourceMappingInput) {
				in.ScalingConfig = &lambdatypes.ScalingConfig{MaximumConcurrency: aws.Int32(1001)}
			})},
		{"unknown response type", "ValidationException", "1 validation error detected: Value '[Partial]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]",
			with(func(in *lambda.CreateEventSourceMappingInput) {
				in.FunctionResponseTypes = []lambdatypes.FunctionResponseType{"Partial"}
			})},
		{"invalid pattern", "InvalidParameterValueException", "Invalid filter pattern definition.",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.FilterCriteria = filters(`{"body":"x"}`) })},
		{"pattern not JSON", "InvalidParameterValueException", "Invalid filter pattern definition.",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.FilterCriteria = filters(`simple string`) })},
		{"six filters", "InvalidParameterValueException", "The number of filters (6) exceeds the limit of 5 filters per event source mapping.",
			with(func(in *lambda.CreateEventSourceMappingInput) {
				p := `{"body":["x"]}`
				in.FilterCriteria = filters(p, p, p, p, p, p)
			})},
		{"starting position", "InvalidParameterValueException", "StartingPosition is not valid for SQS event sources.",
			with(func(in *lambda.CreateEventSourceMappingInput) {
				in.StartingPosition = lambdatypes.EventSourcePositionLatest
			})},
		{"stream parameter", "InvalidParameterValueException", "Unsupported ParallelizationFactor parameter for given event source mapping type.",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.ParallelizationFactor = aws.Int32(2) })},
		{"unknown function", "InvalidParameterValueException", "Function does not exist",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.FunctionName = aws.String(name + "-nope") })},
		{"unknown alias", "InvalidParameterValueException", "Function does not exist",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.FunctionName = aws.String(name + ":nope") })},
		{"another account's function", "InvalidParameterValueException", "Function does not exist",
			with(func(in *lambda.CreateEventSourceMappingInput) {
				in.FunctionName = aws.String("arn:aws:lambda:" + region + ":" + h.other + ":function:" + name)
			})},
		{"unknown queue", "InvalidParameterValueException", noQueue,
			with(func(in *lambda.CreateEventSourceMappingInput) { in.EventSourceArn = aws.String(q.arn + "-nope") })},
		{"another account's queue", "InvalidParameterValueException", "The function execution role does not have permissions to call ReceiveMessage on SQS",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.EventSourceArn = aws.String(otherQ.arn) })},
		{"another account's missing queue", "InvalidParameterValueException", "The function execution role does not have permissions to call ReceiveMessage on SQS",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.EventSourceArn = aws.String(otherQ.arn + "-nope") })},
		{"stream source", "InvalidParameterValueException", "Event sources of type kinesis are not supported by this server: only Amazon SQS queues can be mapped.",
			with(func(in *lambda.CreateEventSourceMappingInput) {
				in.EventSourceArn = aws.String("arn:aws:kinesis:" + region + ":" + h.account + ":stream/s")
			})},
		{"malformed source", "ValidationException", "1 validation error detected: Value 'queue' at 'eventSourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)",
			with(func(in *lambda.CreateEventSourceMappingInput) { in.EventSourceArn = aws.String("queue") })},
		{"FIFO batch of 11", "InvalidParameterValueException", "BatchSize must be between 1 and 10 for FIFO queues.",
			with(func(in *lambda.CreateEventSourceMappingInput) {
				in.EventSourceArn, in.BatchSize, in.MaximumBatchingWindowInSeconds = aws.String(fifo.arn), aws.Int32(11), aws.Int32(1)
			})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.lambda.CreateEventSourceMapping(ctx, tc.in)
			if err == nil {
				t.Fatal("created, want an error")
			}
			code, msg := apiError(t, err)
			if code != tc.code || msg != tc.msg {
				t.Errorf("got %s: %q\nwant %s: %q", code, msg, tc.code, tc.msg)
			}
		})
	}

	t.Run("duplicate", func(t *testing.T) {
		first := h.createMapping(t, h.lambda, base(), "Enabled")
		_, err := h.lambda.CreateEventSourceMapping(ctx, base())
		if err == nil {
			t.Fatal("a second mapping of the same queue to the same function was created")
		}
		code, msg := apiError(t, err)
		want := `An event source mapping with SQS arn (" ` + q.arn + ` ") and function (" ` + name + ` ") already exists. Please update or delete the existing mapping with UUID ` + aws.ToString(first.UUID)
		if code != "ResourceConflictException" || msg != want {
			t.Errorf("got %s: %q\nwant ResourceConflictException: %q", code, msg, want)
		}
		// The same queue may feed a version or alias of the function.
		if _, err := h.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name + ":1")}, "Enabled")
	})
}

// TestMappingErrors covers unknown mappings, other accounts' mappings and
// invalid updates.
func TestMappingErrors(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.createFunction(t, h.lambda, h.account, name)
	q := h.createQueue(t, h.sqs, name, nil)
	m := h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name), Enabled: aws.Bool(false)}, "Disabled")
	uuid := aws.ToString(m.UUID)

	notFound := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("succeeded, want ResourceNotFoundException")
		}
		code, msg := apiError(t, err)
		if code != "ResourceNotFoundException" || msg != "The resource you requested does not exist." {
			t.Errorf("got %s: %q", code, msg)
		}
	}
	for _, tc := range []struct{ name, uuid string }{
		{"unknown", "01234567-89ab-4cde-8f01-23456789abcd"},
		{"malformed", "not-a-uuid"},
		{"upper case", strings.ToUpper(uuid)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(tc.uuid)})
			notFound(t, err)
			_, err = h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(tc.uuid), BatchSize: aws.Int32(5)})
			notFound(t, err)
			_, err = h.lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: aws.String(tc.uuid)})
			notFound(t, err)
		})
	}
	t.Run("another account", func(t *testing.T) {
		_, err := h.otherLambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
		notFound(t, err)
		_, err = h.otherLambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(uuid), Enabled: aws.Bool(true)})
		notFound(t, err)
		_, err = h.otherLambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: aws.String(uuid)})
		notFound(t, err)
		list, err := h.otherLambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(q.arn)})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.EventSourceMappings) != 0 {
			t.Errorf("another account lists %d of our mappings", len(list.EventSourceMappings))
		}
		if _, err := h.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)}); err != nil {
			t.Errorf("the owner lost the mapping: %v", err)
		}
	})
	for _, tc := range []struct {
		name, code, msg string
		in              *lambda.UpdateEventSourceMappingInput
	}{
		{"big batch without window", "InvalidParameterValueException", "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
			&lambda.UpdateEventSourceMappingInput{BatchSize: aws.Int32(100)}},
		{"window 301", "ValidationException", "1 validation error detected: Value '301' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to 300",
			&lambda.UpdateEventSourceMappingInput{MaximumBatchingWindowInSeconds: aws.Int32(301)}},
		{"unknown function", "InvalidParameterValueException", "Function does not exist",
			&lambda.UpdateEventSourceMappingInput{FunctionName: aws.String(name + "-nope")}},
		{"invalid pattern", "InvalidParameterValueException", "Invalid filter pattern definition.",
			&lambda.UpdateEventSourceMappingInput{FilterCriteria: &lambdatypes.FilterCriteria{Filters: []lambdatypes.Filter{{Pattern: aws.String(`{"a":[{"wildcard":"x*"}]}`)}}}}},
		{"stream parameter", "InvalidParameterValueException", "Unsupported MaximumRetryAttempts parameter for given event source mapping type.",
			&lambda.UpdateEventSourceMappingInput{MaximumRetryAttempts: aws.Int32(2)}},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			tc.in.UUID = aws.String(uuid)
			_, err := h.lambda.UpdateEventSourceMapping(ctx, tc.in)
			if err == nil {
				t.Fatal("updated, want an error")
			}
			code, msg := apiError(t, err)
			if code != tc.code || msg != tc.msg {
				t.Errorf("got %s: %q\nwant %s: %q", code, msg, tc.code, tc.msg)
			}
		})
	}
}

// TestListMappings filters and pages.
func TestListMappings(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	fn1 := h.createFunction(t, h.lambda, h.account, name+"-a")
	h.createFunction(t, h.lambda, h.account, name+"-b")
	q1 := h.createQueue(t, h.sqs, name+"-1", nil)
	q2 := h.createQueue(t, h.sqs, name+"-2", nil)
	var all []string
	for _, p := range []struct{ q, fn string }{{q1.arn, name + "-a"}, {q2.arn, name + "-a"}, {q1.arn, name + "-b"}} {
		m := h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
			EventSourceArn: aws.String(p.q), FunctionName: aws.String(p.fn), Enabled: aws.Bool(false)}, "Disabled")
		all = append(all, aws.ToString(m.UUID))
	}
	list := func(in *lambda.ListEventSourceMappingsInput) []string {
		var got []string
		p := lambda.NewListEventSourceMappingsPaginator(h.lambda, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.EventSourceMappings {
				got = append(got, aws.ToString(m.UUID))
			}
		}
		return got
	}
	for _, tc := range []struct {
		name string
		in   *lambda.ListEventSourceMappingsInput
		want []string
	}{
		{"by queue", &lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(q1.arn)}, []string{all[0], all[2]}},
		{"by function name", &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(name + "-a")}, []string{all[0], all[1]}},
		{"by function ARN", &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(fn1)}, []string{all[0], all[1]}},
		{"by both", &lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(q2.arn), FunctionName: aws.String(name + "-a")}, []string{all[1]}},
		{"one per page", &lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(q1.arn), MaxItems: aws.Int32(1)}, []string{all[0], all[2]}},
		{"by a version", &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(name + "-a:7")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := list(tc.in)
			if diff := cmp.Diff(sorted(tc.want), sorted(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("invalid marker", func(t *testing.T) {
		_, err := h.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{Marker: aws.String("!!")})
		if err == nil {
			t.Fatal("listed, want an error")
		}
		if code, _ := apiError(t, err); code != "InvalidParameterValueException" {
			t.Errorf("got %s", code)
		}
	})
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

// TestCrossAccountQueue maps another account's queue once its policy
// grants the function's execution role (by naming the role or the
// function's account) and not before; the role's own policies must allow
// it too.
func TestCrossAccountQueue(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.createFunction(t, h.lambda, h.account, name)
	theirs := h.createQueue(t, h.otherSQS, name, nil)
	grant := func(principal string, actions ...string) {
		doc, _ := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{{
				"Effect": "Allow", "Principal": map[string]string{"AWS": principal}, "Action": actions, "Resource": theirs.arn,
			}},
		})
		if _, err := h.otherSQS.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{
			QueueUrl: aws.String(theirs.url), Attributes: map[string]string{"Policy": string(doc)}}); err != nil {
			t.Fatal(err)
		}
	}
	in := &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(theirs.arn), FunctionName: aws.String(name), Enabled: aws.Bool(false)}
	all := []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
	role := "arn:aws:iam::" + h.account + ":role/lambda-role"
	for _, tc := range []struct {
		name, principal string
		actions         []string
		missing         string
	}{
		{"no policy", "", nil, "ReceiveMessage"},
		{"another role", "arn:aws:iam::" + h.account + ":role/other-role", all, "ReceiveMessage"},
		{"receive only", role, all[:1], "DeleteMessage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.principal != "" {
				grant(tc.principal, tc.actions...)
			}
			_, err := h.lambda.CreateEventSourceMapping(ctx, in)
			if err == nil {
				t.Fatal("mapped another account's queue without a grant")
			}
			want := "The function execution role does not have permissions to call " + tc.missing + " on SQS"
			if code, msg := apiError(t, err); code != "InvalidParameterValueException" || msg != want {
				t.Errorf("got %s: %q, want %q", code, msg, want)
			}
		})
	}
	t.Run("the role", func(t *testing.T) {
		grant(role, all...)
		m := h.createMapping(t, h.lambda, in, "Disabled")
		if _, err := h.lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the mapping to go", func() bool {
			_, err := h.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
			return err != nil
		})
	})
	t.Run("the account", func(t *testing.T) {
		grant(h.account, all...)
		h.createMapping(t, h.lambda, in, "Disabled")
	})
	t.Run("a role without an identity policy", func(t *testing.T) {
		// The queue's policy grants the role, but the role itself is
		// not allowed to consume queues.
		bare := h.createRole(t, h.account, name+"-bare")
		h.createFunctionAs(t, h.lambda, bare, name+"-bare", nil)
		grant(bare, all...)
		_, err := h.lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
			EventSourceArn: aws.String(theirs.arn), FunctionName: aws.String(name + "-bare"), Enabled: aws.Bool(false)})
		want := "The function execution role does not have permissions to call ReceiveMessage on SQS"
		if err == nil {
			t.Fatal("mapped another account's queue with a role that may not consume it")
		}
		if code, msg := apiError(t, err); code != "InvalidParameterValueException" || msg != want {
			t.Errorf("got %s: %q, want %q", code, msg, want)
		}
	})
}
