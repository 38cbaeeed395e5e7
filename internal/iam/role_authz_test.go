package iam_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/policy"
)

// TestAuthorizeRole decides what a function's execution role may do, as
// Lambda checks it before polling a queue or delivering to a destination:
// the role's own policies and boundary, the guardrails of its account, and
// for another account's resource that resource's policy too.
func TestAuthorizeRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A, B := e.mgmt, e.member
	ids := e.ids
	queue := func(account, name string) string { return "arn:aws:sqs:us-east-1:" + account + ":" + name }
	role := func(account, name string) string { return "arn:aws:iam::" + account + ":role/" + name }
	resourcePolicy := func(doc string) func(context.Context) (*policy.Policy, error) {
		return func(context.Context) (*policy.Policy, error) {
			return policy.Parse([]byte(doc), policy.Resource)
		}
	}
	grantTo := func(principal, resource string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sqs:*","Resource":"` + resource + `"}]}`
	}
	consume := allow(`["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"]`, `"*"`)

	e.role(A, "bare", trustLambda)
	e.role(A, "consumer", trustLambda, consume)
	e.role(A, "denied", trustLambda, consume, deny(`"sqs:DeleteMessage"`, `"*"`))
	e.role(A, "regional", trustLambda, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*",`+
		`"Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"},"Bool":{"aws:SecureTransport":"true"}}}]}`)
	e.role(A, "untrusting", trustAccount(A), consume)
	e.role(A, "bounded", trustLambda, consume)
	bound, err := ids.CreatePolicy(bg, A, iam.CreatePolicyInput{Name: "only-receive", Document: allow(`"sqs:ReceiveMessage"`, `"*"`)})
	must(t, err)
	must(t, ids.PutPermissionsBoundary(bg, A, iam.KindRole, "bounded", bound.ARN()))
	// The member account's guardrails keep its roles off queues.
	e.role(B, "consumer", trustLambda, consume)
	scp, err := ids.CreateSCP(bg, "NoQueues", "", deny(`"sqs:*"`, `"*"`), nil)
	must(t, err)
	must(t, ids.AttachSCP(bg, scp.ID, B))

	for _, tc := range []struct {
		name, role, action, resource, resourceAccount string
		resourcePolicy                                func(context.Context) (*policy.Policy, error)
		allowed                                       bool
	}{
		{"no policy", role(A, "bare"), "sqs:ReceiveMessage", queue(A, "q"), "", nil, false},
		{"identity policy", role(A, "consumer"), "sqs:ReceiveMessage", queue(A, "q"), "", nil, true},
		{"identity policy, another action", role(A, "consumer"), "sqs:SendMessage", queue(A, "q"), "", nil, false},
		{"explicit deny", role(A, "denied"), "sqs:DeleteMessage", queue(A, "q"), "", nil, false},
		{"boundary allows", role(A, "bounded"), "sqs:ReceiveMessage", queue(A, "q"), "", nil, true},
		{"boundary caps", role(A, "bounded"), "sqs:DeleteMessage", queue(A, "q"), "", nil, false},
		{"queue policy grants the role (same account)", role(A, "bare"), "sqs:ReceiveMessage", queue(A, "q"), A,
			resourcePolicy(grantTo(role(A, "bare"), queue(A, "q"))), true},
		{"queue policy denies", role(A, "consumer"), "sqs:ReceiveMessage", queue(A, "q"), A,
			resourcePolicy(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*"}]}`), false},
		{"cross-account without a queue policy", role(A, "consumer"), "sqs:ReceiveMessage", queue(B, "q"), B, nil, false},
		{"cross-account, queue policy for another role", role(A, "consumer"), "sqs:ReceiveMessage", queue(B, "q"), B,
			resourcePolicy(grantTo(role(A, "other"), queue(B, "q"))), false},
		{"cross-account, queue policy without identity policy", role(A, "bare"), "sqs:ReceiveMessage", queue(B, "q"), B,
			resourcePolicy(grantTo(role(A, "bare"), queue(B, "q"))), false},
		{"cross-account, both", role(A, "consumer"), "sqs:ReceiveMessage", queue(B, "q"), B,
			resourcePolicy(grantTo(A, queue(B, "q"))), true},
		{"region condition holds", role(A, "regional"), "sqs:SendMessage", queue(A, "q"), "", nil, true},
		{"region condition fails", role(A, "regional"), "sqs:SendMessage", "arn:aws:sqs:eu-west-1:" + A + ":q", "", nil, false},
		{"guardrail", role(B, "consumer"), "sqs:ReceiveMessage", queue(B, "q"), "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ids.AuthorizeRole(bg, tc.role, "my-function", tc.action, tc.resource, tc.resourceAccount, tc.resourcePolicy)
			if tc.allowed {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			wantType(t, err, awserr.AccessDenied, "User: arn:aws:sts::...")
			if errors.Is(err, iam.ErrRoleNotAssumable) {
				t.Errorf("a denial matches ErrRoleNotAssumable: %v", err)
			}
		})
	}

	for _, tc := range []struct{ name, role string }{
		{"role does not trust Lambda", role(A, "untrusting")},
		{"role does not exist", role(A, "missing")},
		{"role of a path it does not have", "arn:aws:iam::" + A + ":role/team/consumer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ids.AuthorizeRole(bg, tc.role, "my-function", "sqs:ReceiveMessage", queue(A, "q"), "", nil)
			wantType(t, err, awserr.AccessDenied, "The role ...")
			if !errors.Is(err, iam.ErrRoleNotAssumable) {
				t.Errorf("error %v does not match ErrRoleNotAssumable", err)
			}
		})
	}

	t.Run("invalid session name", func(t *testing.T) {
		err := ids.AuthorizeRole(bg, role(A, "consumer"), "x", "sqs:ReceiveMessage", queue(A, "q"), "", nil)
		if err == nil || awserr.IsType(err, awserr.AccessDenied) {
			t.Fatalf("error %v, want a refusal of the session name", err)
		}
		if err := ids.AuthorizeRole(bg, role(A, "consumer"), iam.LambdaSessionName("x"), "sqs:ReceiveMessage", queue(A, "q"), "", nil); err != nil {
			t.Fatalf("padded session name: %v", err)
		}
	})

	t.Run("changes apply at once", func(t *testing.T) {
		e.role(A, "changing", trustLambda)
		arn := role(A, "changing")
		if err := ids.AuthorizeRole(bg, arn, "fn", "sqs:ReceiveMessage", queue(A, "q"), "", nil); err == nil {
			t.Fatal("allowed before any policy")
		}
		must(t, ids.PutInlinePolicy(bg, A, iam.KindRole, "changing", "consume", consume))
		if err := ids.AuthorizeRole(bg, arn, "fn", "sqs:ReceiveMessage", queue(A, "q"), "", nil); err != nil {
			t.Fatalf("after the grant: %v", err)
		}
		must(t, ids.DeleteInlinePolicy(bg, A, iam.KindRole, "changing", "consume"))
		if err := ids.AuthorizeRole(bg, arn, "fn", "sqs:ReceiveMessage", queue(A, "q"), "", nil); err == nil {
			t.Fatal("allowed after the grant was removed")
		}
	})
}
