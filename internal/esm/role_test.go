package esm_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// identityPolicy is an identity-based policy with one statement.
func identityPolicy(effect string, actions []string, resource string) string {
	doc, _ := json.Marshal(map[string]any{
		"Version":   "2012-10-17",
		"Statement": []map[string]any{{"Effect": effect, "Action": actions, "Resource": resource}},
	})
	return string(doc)
}

// TestExecutionRolePermissions maps a queue of the function's own account
// only when the function's execution role may consume it: its policies
// must allow sqs:ReceiveMessage, sqs:DeleteMessage and
// sqs:GetQueueAttributes on the queue, and Lambda names the first that is
// missing.
func TestExecutionRolePermissions(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	q := h.createQueue(t, h.sqs, uniqueName(t), nil)
	other := h.createQueue(t, h.sqs, uniqueName(t)+"-other", nil)
	all := []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
	for _, tc := range []struct {
		name     string
		policies []string
		missing  string // "" when the mapping is created
	}{
		{"no policy", nil, "ReceiveMessage"},
		{"receive only", []string{identityPolicy("Allow", all[:1], "*")}, "DeleteMessage"},
		{"no attributes", []string{identityPolicy("Allow", all[:2], "*")}, "GetQueueAttributes"},
		{"another queue", []string{identityPolicy("Allow", all, other.arn)}, "ReceiveMessage"},
		{"explicit deny", []string{identityPolicy("Allow", all, "*"), identityPolicy("Deny", []string{"sqs:DeleteMessage"}, q.arn)}, "DeleteMessage"},
		{"all three on the queue", []string{identityPolicy("Allow", all, q.arn)}, ""},
		{"every SQS action", []string{identityPolicy("Allow", []string{"sqs:*"}, "*")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := uniqueName(t)
			role := h.createRole(t, h.account, name, tc.policies...)
			h.createFunctionAs(t, h.lambda, role, name, nil)
			in := &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name), Enabled: aws.Bool(false)}
			if tc.missing == "" {
				h.createMapping(t, h.lambda, in, "Disabled")
				return
			}
			_, err := h.lambda.CreateEventSourceMapping(ctx, in)
			if err == nil {
				t.Fatal("created a mapping whose function's role may not consume the queue")
			}
			want := "The function execution role does not have permissions to call " + tc.missing + " on SQS"
			if code, msg := apiError(t, err); code != "InvalidParameterValueException" || msg != want {
				t.Errorf("got %s: %q\nwant InvalidParameterValueException: %q", code, msg, want)
			}
		})
	}
}

// TestExecutionRoleOnUpdate checks the role again when an update maps
// another function or enables the mapping, never when it disables it; and
// a running mapping whose function's role can no longer consume the queue
// reports the problem instead of polling.
func TestExecutionRoleOnUpdate(t *testing.T) {
	t.Parallel()
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	q := h.createQueue(t, h.sqs, name, nil)
	h.createFunction(t, h.lambda, h.account, name)
	bare := h.createRole(t, h.account, name+"-bare")
	h.createFunctionAs(t, h.lambda, bare, name+"-bare", nil)
	want := "The function execution role does not have permissions to call ReceiveMessage on SQS"
	refused := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("updated")
		}
		if code, msg := apiError(t, err); code != "InvalidParameterValueException" || msg != want {
			t.Errorf("got %s: %q\nwant InvalidParameterValueException: %q", code, msg, want)
		}
	}
	m := h.createMapping(t, h.lambda, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(q.arn), FunctionName: aws.String(name), Enabled: aws.Bool(false)}, "Disabled")
	uuid := aws.ToString(m.UUID)

	t.Run("another function", func(t *testing.T) {
		_, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, FunctionName: aws.String(name + "-bare")})
		refused(t, err)
		got := h.waitState(t, h.lambda, uuid, "Disabled")
		if aws.ToString(got.FunctionArn) != aws.ToString(m.FunctionArn) {
			t.Errorf("the mapping now invokes %s", aws.ToString(got.FunctionArn))
		}
	})

	// The function's role changes to one that may not consume queues.
	setRole := func(t *testing.T, role string) {
		t.Helper()
		if _, err := h.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(name), Role: aws.String(role)}); err != nil {
			t.Fatal(err)
		}
		w := lambda.NewFunctionUpdatedV2Waiter(h.lambda, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
			o.MinDelay, o.MaxDelay = 20*time.Millisecond, 200*time.Millisecond
		})
		if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("enable", func(t *testing.T) {
		setRole(t, bare)
		_, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(true)})
		refused(t, err)
		// What does not enable the mapping is not checked.
		if _, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, BatchSize: aws.Int32(5)}); err != nil {
			t.Fatalf("update the batch size of a disabled mapping: %v", err)
		}
		h.waitState(t, h.lambda, uuid, "Disabled")
	})
	t.Run("running", func(t *testing.T) {
		setRole(t, "arn:aws:iam::"+h.account+":role/lambda-role")
		if _, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		h.waitState(t, h.lambda, uuid, "Enabled")
		setRole(t, bare)
		problem := "PROBLEM: The function execution role does not have permissions to call ReceiveMessage on SQS: " + q.arn
		eventually(t, 30*time.Second, "the mapping to report the role's problem", func() bool {
			got, err := h.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
			if err != nil {
				t.Fatal(err)
			}
			return aws.ToString(got.LastProcessingResult) == problem
		})
		// Disabling is always possible.
		if _, err := h.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(false)}); err != nil {
			t.Fatalf("disable: %v", err)
		}
		h.waitState(t, h.lambda, uuid, "Disabled")
	})
}
