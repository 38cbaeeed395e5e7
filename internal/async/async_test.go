package async_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/nats-io/nats.go"

	"github.com/cloister/cloister/internal/async"
	"github.com/cloister/cloister/internal/sqs"
)

func requestID(md middleware.Metadata) (string, bool) { return awsmiddleware.GetRequestIDMetadata(md) }

// record is Lambda's invocation record as a destination receives it.
type record struct {
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext *struct {
		StatusCode      int     `json:"statusCode"`
		ExecutedVersion string  `json:"executedVersion"`
		FunctionError   *string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

var timestampRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// parseRecord decodes a record, checking its members' exact names.
func parseRecord(t testing.TB, body string) record {
	t.Helper()
	var members map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &members); err != nil {
		t.Fatalf("record %q: %v", body, err)
	}
	for k := range members {
		if !slices.Contains([]string{"version", "timestamp", "requestContext", "requestPayload", "responseContext", "responsePayload"}, k) {
			t.Errorf("record has member %q", k)
		}
	}
	var r record
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("record %q: %v", body, err)
	}
	if r.Version != "1.0" || !timestampRe.MatchString(r.Timestamp) {
		t.Errorf("record version %q, timestamp %q", r.Version, r.Timestamp)
	}
	return r
}

// sameJSON reports whether two JSON documents are equal.
func sameJSON(t testing.TB, got, want []byte) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("%q: %v", got, err)
	}
	if err := json.Unmarshal(want, &b); err != nil {
		t.Fatalf("%q: %v", want, err)
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestSuccessGoesToOnSuccess(t *testing.T) {
	t.Parallel()
	h := get(t)
	name := uniqueName(t)
	arn := h.create(t, name, fnSpec{})
	q := h.queue(t, name+"-ok")
	h.eventConfig(t, name, 2, 0, q, "")

	payload := map[string]string{"op": "echo", "arg": "hello"}
	cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))
	id := h.event(t, name, payload, func(in *lambda.InvokeInput) { in.ClientContext = aws.String(cc) })

	msgs := receive(t, h.queues, q, 1)
	r := parseRecord(t, msgs[0].Body)
	if r.RequestContext.RequestID != id || r.RequestContext.FunctionArn != arn+":$LATEST" ||
		r.RequestContext.Condition != "Success" || r.RequestContext.ApproximateInvokeCount != 1 {
		t.Errorf("requestContext %+v, want request %s of %s:$LATEST, Success, 1 invocation", r.RequestContext, id, arn)
	}
	want, _ := json.Marshal(payload)
	if !sameJSON(t, r.RequestPayload, want) {
		t.Errorf("requestPayload %s, want %s", r.RequestPayload, want)
	}
	if rc := r.ResponseContext; rc == nil || rc.StatusCode != 200 || rc.ExecutedVersion != "$LATEST" || rc.FunctionError != nil {
		t.Errorf("responseContext %+v, want 200 from $LATEST without functionError", rc)
	}
	// The function got the request id, the invoked ARN and the client
	// context.
	var resp struct {
		Arg, Request, Arn string
		Client            map[string]string
	}
	if err := json.Unmarshal(r.ResponsePayload, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Arg != "hello" || resp.Request != id || resp.Arn != arn || resp.Client["k"] != "v" {
		t.Errorf("the function saw %+v", resp)
	}
	if runs, _, _ := h.runs.get(id); runs != 1 {
		t.Errorf("the function ran %d times, want 1", runs)
	}
}

func TestFailureRetriedThenOnFailureAndDLQ(t *testing.T) {
	t.Parallel()
	h := get(t)
	for _, retries := range []int32{0, 1, 2} {
		t.Run(fmt.Sprintf("retries=%d", retries), func(t *testing.T) {
			t.Parallel()
			name := uniqueName(t)
			dlq := h.queue(t, name+"-dlq")
			onFailure := h.queue(t, name+"-failed")
			arn := h.create(t, name, fnSpec{dlq: dlq})
			h.eventConfig(t, name, retries, 0, "", onFailure)

			payload := map[string]string{"op": "fail", "arg": "boom <&>"}
			id := h.event(t, name, payload)

			rec := receive(t, h.queues, onFailure, 1)
			dead := receive(t, h.queues, dlq, 1)
			if runs, _, _ := h.runs.get(id); runs != int(retries)+1 {
				t.Errorf("the function ran %d times, want %d", runs, retries+1)
			}
			r := parseRecord(t, rec[0].Body)
			if r.RequestContext.RequestID != id || r.RequestContext.FunctionArn != arn+":$LATEST" ||
				r.RequestContext.Condition != "RetriesExhausted" || r.RequestContext.ApproximateInvokeCount != int(retries)+1 {
				t.Errorf("requestContext %+v", r.RequestContext)
			}
			if rc := r.ResponseContext; rc == nil || rc.StatusCode != 200 || rc.FunctionError == nil || *rc.FunctionError != "Unhandled" {
				t.Errorf("responseContext %+v, want 200 with functionError Unhandled", rc)
			}
			var fe struct{ ErrorMessage, ErrorType string }
			if err := json.Unmarshal(r.ResponsePayload, &fe); err != nil || fe.ErrorMessage != "boom <&>" {
				t.Errorf("responsePayload %s, want the function's error", r.ResponsePayload)
			}
			want, _ := json.Marshal(payload)
			if !sameJSON(t, r.RequestPayload, want) {
				t.Errorf("requestPayload %s, want %s", r.RequestPayload, want)
			}

			// The dead-letter queue gets the event itself, with Lambda's
			// attributes.
			d := dead[0]
			if !sameJSON(t, []byte(d.Body), want) {
				t.Errorf("DLQ body %s, want the event %s", d.Body, want)
			}
			for k, v := range map[string]sqs.MessageAttribute{
				"RequestID":    {DataType: "String", StringValue: id},
				"ErrorCode":    {DataType: "Number", StringValue: "200"},
				"ErrorMessage": {DataType: "String", StringValue: "boom <&>"},
			} {
				if got := d.Attributes[k]; got.DataType != v.DataType || got.StringValue != v.StringValue {
					t.Errorf("DLQ attribute %s = %+v, want %+v", k, got, v)
				}
			}
			none(t, h.queues, onFailure)
			none(t, h.queues, dlq)
		})
	}
}

func TestThrottledEventsRetriedNotLost(t *testing.T) {
	t.Parallel()
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	q := h.queue(t, name+"-ok")
	h.eventConfig(t, name, 0, 0, q, "")
	ctx := context.Background()
	// Reserved concurrency 0 and no failure target: events wait, retried
	// with backoff, without consuming attempts.
	if _, err := h.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, h.event(t, name, map[string]any{"op": "echo", "arg": fmt.Sprint(i)}))
	}
	for _, id := range ids {
		eventually(t, "a throttled retry of "+id, func() bool {
			_, fails, _ := h.runs.get(id)
			return fails >= 2 && h.runs.throttled(id)
		})
	}
	none(t, h.queues, q)
	if _, err := h.client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range receive(t, h.queues, q, len(ids)) {
		r := parseRecord(t, m.Body)
		if r.RequestContext.Condition != "Success" || r.RequestContext.ApproximateInvokeCount != 1 {
			t.Errorf("requestContext %+v, want Success after 1 invocation (throttles are not attempts)", r.RequestContext)
		}
		got = append(got, r.RequestContext.RequestID)
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("OnSuccess got %v, want %v", got, ids)
	}
}

func TestReservedZeroGoesStraightToFailureTargets(t *testing.T) {
	t.Parallel()
	h := get(t)
	name := uniqueName(t)
	onFailure := h.queue(t, name+"-failed")
	h.create(t, name, fnSpec{})
	h.eventConfig(t, name, 2, 0, "", onFailure)
	if _, err := h.client.PutFunctionConcurrency(context.Background(), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	id := h.event(t, name, map[string]string{"op": "echo"})
	r := parseRecord(t, receive(t, h.queues, onFailure, 1)[0].Body)
	if r.RequestContext.RequestID != id || r.RequestContext.Condition != "RetriesExhausted" || r.RequestContext.ApproximateInvokeCount != 0 {
		t.Errorf("requestContext %+v", r.RequestContext)
	}
	if rc := r.ResponseContext; rc == nil || rc.StatusCode != 429 {
		t.Errorf("responseContext %+v, want status 429", rc)
	}
	if runs, fails, _ := h.runs.get(id); runs+fails != 0 {
		t.Errorf("the data plane was asked %d times, want never", runs+fails)
	}
}

func TestEventAgeExceeded(t *testing.T) {
	t.Parallel()
	h := get(t)
	name := uniqueName(t)
	dlq := h.queue(t, name+"-dlq")
	onFailure := h.queue(t, name+"-failed")
	onSuccess := h.queue(t, name+"-ok")
	h.create(t, name, fnSpec{dlq: dlq})
	h.eventConfig(t, name, 2, 60, onSuccess, onFailure)
	// One slot: the first event holds it while the second is throttled.
	if _, err := h.client.PutFunctionConcurrency(context.Background(), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	busy := h.event(t, name, map[string]any{"op": "sleep", "n": 2000})
	eventually(t, "the first event to run", func() bool { _, _, live := h.runs.get(busy); return live == 1 })
	late := h.event(t, name, map[string]string{"op": "echo", "arg": "late"})
	eventually(t, "the second event to be throttled", func() bool { return h.runs.throttled(late) })
	// A minute passes (for the dispatcher): the throttled event expires.
	h.clock.advance(61 * time.Second)

	dead := receive(t, h.queues, dlq, 1)[0]
	if !sameJSON(t, []byte(dead.Body), []byte(`{"op":"echo","arg":"late"}`)) || dead.Attributes["RequestID"].StringValue != late ||
		dead.Attributes["ErrorCode"].StringValue != "429" {
		t.Errorf("DLQ message %s with attributes %+v", dead.Body, dead.Attributes)
	}
	r := parseRecord(t, receive(t, h.queues, onFailure, 1)[0].Body)
	if r.RequestContext.RequestID != late || r.RequestContext.Condition != "EventAgeExceeded" || r.RequestContext.ApproximateInvokeCount != 0 {
		t.Errorf("requestContext %+v", r.RequestContext)
	}
	if rc := r.ResponseContext; rc == nil || rc.StatusCode != 429 {
		t.Errorf("responseContext %+v, want the last try's 429", rc)
	}
	if runs, _, _ := h.runs.get(late); runs != 0 {
		t.Errorf("the expired event ran %d times", runs)
	}
	// The first event still succeeded.
	if r := parseRecord(t, receive(t, h.queues, onSuccess, 1)[0].Body); r.RequestContext.RequestID != busy {
		t.Errorf("OnSuccess got %+v", r.RequestContext)
	}
}

func TestDestinationFunctionGetsTheRecord(t *testing.T) {
	t.Parallel()
	h := get(t)
	first, second := uniqueName(t)+"-a", uniqueName(t)+"-b"
	firstARN := h.create(t, first, fnSpec{})
	secondARN := h.create(t, second, fnSpec{})
	q := h.queue(t, second+"-ok")
	h.eventConfig(t, first, 0, 0, secondARN, "")
	h.eventConfig(t, second, 0, 0, q, "")

	id := h.event(t, first, map[string]string{"op": "echo", "arg": "chain"})
	r := parseRecord(t, receive(t, h.queues, q, 1)[0].Body)
	if r.RequestContext.FunctionArn != secondARN+":$LATEST" || r.RequestContext.Condition != "Success" || r.RequestContext.RequestID == id {
		t.Errorf("the destination's record: %+v", r.RequestContext)
	}
	// What the destination function received is the first's record.
	inner := parseRecord(t, string(r.RequestPayload))
	if inner.RequestContext.RequestID != id || inner.RequestContext.FunctionArn != firstARN+":$LATEST" || inner.RequestContext.Condition != "Success" {
		t.Errorf("the record the destination received: %+v", inner.RequestContext)
	}
	if !sameJSON(t, inner.RequestPayload, []byte(`{"op":"echo","arg":"chain"}`)) {
		t.Errorf("the inner record's requestPayload: %s", inner.RequestPayload)
	}
}

func TestRecursiveLoopStopped(t *testing.T) {
	t.Parallel()
	h := get(t)
	name := uniqueName(t)
	arn := h.create(t, name, fnSpec{})
	onFailure := h.queue(t, name+"-failed")
	// The function is its own OnSuccess destination: an endless loop.
	h.eventConfig(t, name, 0, 0, arn, onFailure)

	id := h.event(t, name, map[string]string{"op": "echo", "arg": "loop"})
	checkLoopRecord(t, id, receive(t, h.queues, onFailure, 1)[0].Body)

	t.Run("failure destination in the loop", func(t *testing.T) {
		// The function is also its own OnFailure destination: the stopped
		// event's record must not restart the loop. It is kept instead.
		name := uniqueName(t)
		arn := h.create(t, name, fnSpec{})
		h.eventConfig(t, name, 0, 0, arn, arn)
		id := h.event(t, name, map[string]string{"op": "echo", "arg": "loop"})
		var u async.Undelivered
		eventually(t, "the stopped loop's record", func() bool {
			all, err := h.events.Undelivered(context.Background(), h.account, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range all {
				if x.Function == name && x.Kind == "OnFailure" {
					u = x
					return true
				}
			}
			return false
		})
		if u.Target != arn || !strings.Contains(u.Reason, "recursive loop") {
			t.Errorf("undelivered %+v", u)
		}
		checkLoopRecord(t, id, string(u.Body))
	})
}

// checkLoopRecord checks the OnFailure record of an event stopped as a
// recursive loop that request id started.
func checkLoopRecord(t *testing.T, id, body string) {
	t.Helper()
	r := parseRecord(t, body)
	if r.RequestContext.Condition != "RetriesExhausted" || r.RequestContext.ApproximateInvokeCount != 0 {
		t.Errorf("requestContext %+v", r.RequestContext)
	}
	var e struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(r.ResponsePayload, &e); err != nil || e.ErrorType != "RecursiveInvocationException" {
		t.Errorf("responsePayload %s, want a RecursiveInvocationException", r.ResponsePayload)
	}
	// The stopped event is the record of the 16th invocation, which holds
	// the 15th's, ... down to the original event.
	depth := 0
	payload := r.RequestPayload
	for {
		var inner record
		if json.Unmarshal(payload, &inner) != nil || inner.Version != "1.0" {
			break
		}
		depth++
		payload = inner.RequestPayload
		if depth == async.MaxDepth && inner.RequestContext.RequestID != id {
			t.Errorf("the innermost record is of request %s, want the original %s", inner.RequestContext.RequestID, id)
		}
	}
	if depth != async.MaxDepth {
		t.Errorf("the loop ran %d invocations, want %d", depth, async.MaxDepth)
	}
	if !sameJSON(t, payload, []byte(`{"op":"echo","arg":"loop"}`)) {
		t.Errorf("innermost payload %s", payload)
	}
}

func TestLegacyInvokeAsync(t *testing.T) {
	t.Parallel()
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	q := h.queue(t, name+"-ok")
	h.eventConfig(t, name, 0, 0, q, "")
	//lint:ignore SA1019 InvokeAsync is what is being tested.
	out, err := h.client.InvokeAsync(context.Background(), &lambda.InvokeAsyncInput{
		FunctionName: aws.String(name), InvokeArgs: strings.NewReader(`{"op":"echo","arg":"legacy"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != 202 {
		t.Errorf("InvokeAsync status %d, want 202", out.Status)
	}
	id, _ := requestID(out.ResultMetadata)
	r := parseRecord(t, receive(t, h.queues, q, 1)[0].Body)
	if r.RequestContext.RequestID != id || !sameJSON(t, r.RequestPayload, []byte(`{"op":"echo","arg":"legacy"}`)) {
		t.Errorf("record %+v of %s", r.RequestContext, r.RequestPayload)
	}

	t.Run("too large", func(t *testing.T) {
		big := `{"a":"` + strings.Repeat("x", async.MaxPayload) + `"}`
		//lint:ignore SA1019 InvokeAsync is what is being tested.
		_, err := h.client.InvokeAsync(context.Background(), &lambda.InvokeAsyncInput{
			FunctionName: aws.String(name), InvokeArgs: strings.NewReader(big)})
		wantAPIError(t, err, "RequestEntityTooLargeException")
	})
}

func wantAPIError(t testing.TB, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if err == nil || !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func TestLargePayload(t *testing.T) {
	t.Parallel()
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	q := h.queue(t, name+"-ok")
	h.eventConfig(t, name, 0, 0, q, "")

	// A 1 MB event: stored aside (the record refers to it), run, and its
	// record — too large for a queue — is kept as undelivered.
	arg := strings.Repeat("z", async.MaxPayload-len(`{"op":"sleep","n":0,"arg":""}`))
	payload := []byte(`{"op":"sleep","n":0,"arg":"` + arg + `"}`)
	if len(payload) != async.MaxPayload {
		t.Fatalf("payload of %d bytes", len(payload))
	}
	id := h.event(t, name, json.RawMessage(payload))
	var u async.Undelivered
	eventually(t, "the undelivered record", func() bool {
		all, err := h.events.Undelivered(context.Background(), h.account, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range all {
			if x.RequestID == id {
				u = x
				return true
			}
		}
		return false
	})
	if u.Kind != "OnSuccess" || u.Target != q || u.Condition != "Success" || !strings.Contains(u.Reason, "maximum message size") {
		t.Errorf("undelivered %+v", u)
	}
	r := parseRecord(t, string(u.Body))
	if !bytes.Equal(r.RequestPayload, payload) {
		t.Errorf("the kept record's requestPayload differs from the event (%d bytes, want %d)", len(r.RequestPayload), len(payload))
	}
	none(t, h.queues, q)

	t.Run("too large", func(t *testing.T) {
		big := []byte(`{"a":"` + strings.Repeat("x", async.MaxPayload) + `"}`)
		_, err := h.client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name),
			InvocationType: types.InvocationTypeEvent, Payload: big})
		wantAPIError(t, err, "RequestEntityTooLargeException")
	})
}

func TestMalformedEventKept(t *testing.T) {
	t.Parallel()
	h := get(t)
	junk := []byte("not an event record")
	if _, err := h.st.JetStream().PublishMsg(context.Background(), &nats.Msg{Subject: "cloister.async.events." + h.account, Data: junk}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the malformed record", func() bool {
		all, err := h.events.Undelivered(context.Background(), h.account, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range all {
			if u.Kind == "Malformed" && bytes.Equal(u.Body, junk) {
				return true
			}
		}
		return false
	})
}

func TestDeletedFunctionEventsDropped(t *testing.T) {
	t.Parallel()
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	ctx := context.Background()
	if _, err := h.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	id := h.event(t, name, map[string]string{"op": "echo"})
	eventually(t, "a throttle", func() bool { return h.runs.throttled(id) })
	if _, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dropped event's record", func() bool {
		all, err := h.events.Undelivered(ctx, h.account, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range all {
			if u.RequestID == id {
				return u.Kind == "Dropped" && sameJSON(t, u.Body, []byte(`{"op":"echo"}`))
			}
		}
		return false
	})
	if runs, _, _ := h.runs.get(id); runs != 0 {
		t.Errorf("the deleted function's event ran %d times", runs)
	}
}
