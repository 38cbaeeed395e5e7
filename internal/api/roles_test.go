package api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/cloister/cloister/internal/iam"
)

const cannotAssume = "The role defined for the function cannot be assumed by Lambda."

// CreateFunction and UpdateFunctionConfiguration accept only an execution
// role that exists in the account, trusts Lambda, and that the caller may
// pass.
func TestExecutionRoleChecks(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	if _, err := h.ids.CreateRole(ctx, testAccount, iam.CreateRoleInput{Name: "not-for-lambda",
		Trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, role string }{
		{"missing role", "arn:aws:iam::" + testAccount + ":role/nobody"},
		{"role that does not trust Lambda", "arn:aws:iam::" + testAccount + ":role/not-for-lambda"},
		{"role of another account", "arn:aws:iam::210987654321:role/lambda-role"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := createInput(t, fnName("role"))
			in.Role = aws.String(c.role)
			_, err := h.client.CreateFunction(ctx, in)
			wantErr(t, err, invalidParam(cannotAssume))
		})
	}
	name := fnName("role-update")
	h.createFunction(t, name)
	_, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), Role: aws.String("arn:aws:iam::" + testAccount + ":role/not-for-lambda")})
	wantErr(t, err, invalidParam(cannotAssume))

	// A user allowed to create functions but not to pass the role.
	if _, err := h.ids.CreateUser(ctx, testAccount, iam.CreateUserInput{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	if err := h.ids.PutInlinePolicy(ctx, testAccount, iam.KindUser, "dev", "lambda",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	key, err := h.ids.CreateAccessKey(ctx, testAccount, "dev")
	if err != nil {
		t.Fatal(err)
	}
	dev := h.clientFor(key.AccessKeyID, key.Secret.Reveal())
	_, err = dev.CreateFunction(ctx, createInput(t, fnName("no-passrole")))
	wantErr(t, err, apiErr{403, "AccessDeniedException", "User: arn:aws:iam::" + testAccount + ":user/dev is not authorized to perform: iam:PassRole on resource: " + testRole + "..."})
	// With iam:PassRole on that role, it works.
	if err := h.ids.PutInlinePolicy(ctx, testAccount, iam.KindUser, "dev", "pass",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"`+testRole+`"}]}`); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.CreateFunction(ctx, createInput(t, fnName("with-passrole"))); err != nil {
		t.Fatalf("a user allowed to pass the role could not create a function: %v", err)
	}
}
