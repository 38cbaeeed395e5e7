package invoke_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestProvisionedConcurrency(t *testing.T) {
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	v, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("prod"), FunctionVersion: v.Version}); err != nil {
		t.Fatal(err)
	}

	// $LATEST cannot have provisioned concurrency.
	_, err = h.client.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(name), Qualifier: aws.String("$LATEST"), ProvisionedConcurrentExecutions: aws.Int32(1)})
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) {
		t.Fatalf("on $LATEST: %v", err)
	}
	_, err = h.client.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String(name), Qualifier: aws.String("prod")})
	var nf *types.ProvisionedConcurrencyConfigNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("before put: %v", err)
	}

	put, err := h.client.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(name), Qualifier: aws.String("prod"), ProvisionedConcurrentExecutions: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if put.Status != types.ProvisionedConcurrencyStatusEnumInProgress || aws.ToInt32(put.RequestedProvisionedConcurrentExecutions) != 2 {
		t.Fatalf("put: %+v", put)
	}
	// IN_PROGRESS -> READY once two environments are initialized.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := h.client.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String(name), Qualifier: aws.String("prod")})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == types.ProvisionedConcurrencyStatusEnumReady {
			if aws.ToInt32(got.AllocatedProvisionedConcurrentExecutions) != 2 {
				t.Fatalf("READY with %d allocated", aws.ToInt32(got.AllocatedProvisionedConcurrentExecutions))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s after 30 s", got.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Invocations use the provisioned environments: their initialization
	// type says so, and no Init Duration is reported.
	out := h.invoke(t, name, map[string]any{"op": "env"}, func(in *lambda.InvokeInput) { in.Qualifier = aws.String("prod") }, withTail)
	found := false
	for _, kv := range decode[[]string](t, out) {
		if kv == "AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency" {
			found = true
		}
	}
	if !found {
		t.Fatalf("invocation did not run in a provisioned environment")
	}
	if tail := decodeTail(out); strings.Contains(tail, "Init Duration") {
		t.Fatalf("provisioned invocation reported an init:\n%s", tail)
	}
	list, err := h.client.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String(name)})
	if err != nil || len(list.ProvisionedConcurrencyConfigs) != 1 || !strings.HasSuffix(aws.ToString(list.ProvisionedConcurrencyConfigs[0].FunctionArn), ":prod") {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := h.client.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{FunctionName: aws.String(name), Qualifier: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String(name), Qualifier: aws.String("prod")})
	if !errors.As(err, &nf) {
		t.Fatalf("after delete: %v", err)
	}
}
