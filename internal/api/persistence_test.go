package api_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// snapshot is everything the API reports about one function.
type snapshot struct {
	Latest, V1  *types.FunctionConfiguration
	Tags        map[string]string
	Reserved    *int32
	Versions    []string
	Alias       *lambda.GetAliasOutput
	Policy      string
	EventInvoke *lambda.GetFunctionEventInvokeConfigOutput
	Code        []byte
}

func takeSnapshot(t testing.TB, h *harness, name string) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	fn, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	s.Latest, s.Tags, s.Code = fn.Configuration, fn.Tags, download(t, aws.ToString(fn.Code.Location))
	if fn.Concurrency != nil {
		s.Reserved = fn.Concurrency.ReservedConcurrentExecutions
	}
	v1, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	s.V1 = v1.Configuration
	s.Versions = versionsOf(t, h, name)
	if s.Alias, err = h.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	pol, err := h.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name), Qualifier: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	s.Policy = aws.ToString(pol.Policy)
	if s.EventInvoke, err = h.client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRestartPersistence(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	name := fnName("persist")
	h.createFunction(t, name, func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"KEY": "value"}}
		in.Tags = map[string]string{"team": "core"}
		in.MemorySize = aws.Int32(512)
	})
	h.publish(t, name)
	h.updateCode(t, name, "v2")
	h.publish(t, name)
	mustAlias(t, h, name, "live", "2", map[string]float64{"1": 0.2})
	if _, err := h.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), Qualifier: aws.String("live"),
		StatementId: aws.String("events"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(25)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), MaximumRetryAttempts: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	other, otherClient := h.newAccount(t)
	if _, err := otherClient.CreateFunction(ctx, createInputIn(t, other, "theirs")); err != nil {
		t.Fatal(err)
	}
	deleted := fnName("persist-deleted")
	h.createFunction(t, deleted)
	if _, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(deleted)}); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, h, name)
	key, account := h.key.AccessKeyID, h.account

	h.restart(t)

	if h.account != account || h.key.AccessKeyID != key {
		t.Fatalf("identity changed across restart: account %s key %s, was %s %s", h.account, h.key.AccessKeyID, account, key)
	}
	after := takeSnapshot(t, h, name)
	if diff := cmp.Diff(before, after, cmpConfig, cmpopts.IgnoreFields(lambda.GetAliasOutput{}, "ResultMetadata"),
		cmpopts.IgnoreFields(lambda.GetFunctionEventInvokeConfigOutput{}, "ResultMetadata")); diff != "" {
		t.Errorf("state differs after restart (-before +after)\n%s", diff)
	}
	if !bytes.Equal(after.Code, codeZip(t, "v2")) {
		t.Error("$LATEST's package changed across restart")
	}
	_, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(deleted)})
	errAs[*types.ResourceNotFoundException](t, err)
	_, err = h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:" + other + ":function:theirs")})
	wantErr(t, err, apiErr{403, "AccessDeniedException", "..."})

	// The restarted server keeps working: the other account's key still
	// authenticates and changes still apply.
	otherClient = h.rootClient(t, other)
	if _, err := otherClient.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("theirs")}); err != nil {
		t.Errorf("the other account after restart: %v", err)
	}
	if _, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), Timeout: aws.Int32(10)}); err != nil {
		t.Fatal(err)
	}
	h.waitUpdated(t, name)
	if v := h.publish(t, name); v != "3" {
		t.Errorf("first version published after restart = %s, want 3", v)
	}
}

// TestRestartFinishesPendingWork stops the server while a creation is still
// being prepared; the next start completes it.
func TestRestartFinishesPendingWork(t *testing.T) {
	t.Parallel()
	g := newGate()
	h := newHarness(t, harnessConfig{prepare: g.prepare})
	ctx := context.Background()
	name := fnName("interrupted")
	if _, err := h.client.CreateFunction(ctx, createInput(t, name)); err != nil {
		t.Fatal(err)
	}
	// Let the prepare worker pick the function up, then stop mid-way.
	out, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil || out.Configuration.State != types.StatePending {
		t.Fatalf("before restart: %v, %v", out, err)
	}
	h.cfg.prepare = nil
	h.restart(t)
	if got := h.waitActive(t, h.client, name).Configuration; got.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Errorf("after restart: LastUpdateStatus %q", got.LastUpdateStatus)
	}
}
