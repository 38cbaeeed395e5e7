package invoke_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/cloister/cloister/internal/functions"
	"github.com/cloister/cloister/internal/iam"
)

// A function calls Cloister's API with its execution role's credentials,
// from inside its sandbox, and can do exactly what the role allows.
func TestFunctionUsesItsRoleCredentials(t *testing.T) {
	h := get(t)
	ctx := context.Background()
	caller, target := uniqueName(t)+"-caller", uniqueName(t)+"-target"
	h.create(t, caller, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip, timeout: 10})
	h.create(t, target, fnSpec{})

	who := decode[map[string]string](t, h.invoke(t, caller, map[string]any{"op": "identity"}))
	if !strings.HasSuffix(who["arn"], ":assumed-role/lambda-role/"+caller) || who["account"] != h.account {
		t.Fatalf("the function's identity: %v", who)
	}
	denied := decode[map[string]string](t, h.invoke(t, caller, map[string]any{"op": "call", "arg": target}))
	if denied["error"] != "AccessDeniedException" || !strings.Contains(denied["message"], "lambda:InvokeFunction") {
		t.Fatalf("a role without permissions invoked another function: %v", denied)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:*:*:function:` + target + `"}]}`
	if err := h.ids.PutInlinePolicy(ctx, h.account, iam.KindRole, "lambda-role", "invoke-target", doc); err != nil {
		t.Fatal(err)
	}
	defer h.ids.DeleteInlinePolicy(ctx, h.account, iam.KindRole, "lambda-role", "invoke-target")
	allowed := decode[map[string]string](t, h.invoke(t, caller, map[string]any{"op": "call", "arg": target}))
	if !strings.Contains(allowed["payload"], `"called"`) {
		t.Fatalf("a role allowed to invoke the target could not: %v", allowed)
	}
	// The permission is exactly what the policy says: another function is
	// still out of reach.
	other := decode[map[string]string](t, h.invoke(t, caller, map[string]any{"op": "call", "arg": caller}))
	if other["error"] != "AccessDeniedException" {
		t.Fatalf("the role invoked a function its policy does not name: %v", other)
	}
}

// Another account can invoke a function only through its resource policy.
func TestCrossAccountInvoke(t *testing.T) {
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	other, err := h.ids.CreateAccount(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := h.ids.EnsureRootKey(ctx, other.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	client := lambda.New(lambda.Options{
		Region: region, BaseEndpoint: aws.String(h.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.Secret.Reveal(), ""),
	})
	arn := "arn:aws:lambda:" + region + ":" + h.account + ":function:" + name
	invoke := func() error {
		_, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`{"op":"echo"}`)})
		return err
	}
	var apiErr smithy.APIError
	if err := invoke(); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("cross-account invoke without a grant: %v", err)
	}
	// DryRun answers the permission question without running anything.
	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), InvocationType: types.InvocationTypeDryRun})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("DryRun without a grant: %v", err)
	}
	if _, err := h.client.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(name), StatementId: aws.String("other-account"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String(other.ID)}); err != nil {
		t.Fatal(err)
	}
	if err := invoke(); err != nil {
		t.Fatalf("cross-account invoke with a grant: %v", err)
	}
	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Fatalf("DryRun with a grant: %v %v", out, err)
	}
	// The grant is for invoking only.
	_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(arn)})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("GetFunction across accounts with an invoke grant: %v", err)
	}
}

// A function that invokes itself through Cloister's API, recursively, is
// stopped after a bounded number of hops (Lambda's recursive loop
// detection) with RecursiveInvocationException.
func TestRecursiveInvocationIsStopped(t *testing.T) {
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.create(t, name, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip, timeout: 60})
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:*:*:function:` + name + `"}]}`
	if err := h.ids.PutInlinePolicy(ctx, h.account, iam.KindRole, "lambda-role", "recurse", doc); err != nil {
		t.Fatal(err)
	}
	defer h.ids.DeleteInlinePolicy(ctx, h.account, iam.KindRole, "lambda-role", "recurse")
	got := decode[map[string]any](t, h.invoke(t, name, map[string]any{"op": "recurse"}))
	if got["stoppedBy"] != "RecursiveInvocationException" {
		t.Fatalf("the chain was not stopped by the recursion guard: %v", got)
	}
	// The client's invocation is depth 0; functions may add 16 more.
	if levels := got["levels"].(float64); levels != 17 {
		t.Fatalf("the chain ran %v invocations, want 17", levels)
	}
}

// A function's role credentials are issued while it is prepared, before it
// turns Active, so its first invocation does not wait for them; the
// environments that follow share them.
func TestRoleCredentialsIssuedBeforeActive(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip})
	if n := h.issuedFor(name); n != 1 {
		t.Fatalf("%d sessions issued by the time the function was Active, want 1", n)
	}
	who := decode[map[string]string](t, h.invoke(t, name, map[string]any{"op": "identity"}))
	if !strings.HasSuffix(who["arn"], ":assumed-role/lambda-role/"+name) {
		t.Fatalf("the function's identity: %v", who)
	}
	if n := h.issuedFor(name); n != 1 {
		t.Fatalf("%d sessions issued after the first invocation, want still 1", n)
	}
}

// Issuing ahead is best-effort: a role that cannot be assumed is not
// cached as if it could, so the first invocation asks again (and reports
// the failure, as before).
func TestWarmCredentialsFailureIsNotCached(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	cfg := functions.Configuration{
		FunctionName: name, FunctionArn: "arn:aws:lambda:us-east-1:" + h.account + ":function:" + name,
		Role: "arn:aws:iam::" + h.account + ":role/no-such-role-" + name,
	}
	h.inv.WarmCredentials(context.Background(), cfg)
	h.inv.WarmCredentials(context.Background(), cfg)
	if n := h.issuedFor(name); n != 2 {
		t.Fatalf("%d attempts to issue for a role that cannot be assumed, want 2 (a failure must not be cached)", n)
	}
}
