package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
)

const floorMessage = "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."

// TestFunctionConcurrency has its own server: reservations are account-wide.
func TestFunctionConcurrency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{concurrencyLimit: 1000})
	ctx := context.Background()
	a, b, c := fnName("conc-a"), fnName("conc-b"), fnName("conc-c")
	for _, n := range []string{a, b, c} {
		h.createFunction(t, n)
	}
	put := func(name string, n int32) error {
		out, err := h.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(n)})
		if err == nil && aws.ToInt32(out.ReservedConcurrentExecutions) != n {
			t.Errorf("PutFunctionConcurrency returned %d, want %d", aws.ToInt32(out.ReservedConcurrentExecutions), n)
		}
		return err
	}
	get := func(name string) *int32 {
		t.Helper()
		out, err := h.client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return out.ReservedConcurrentExecutions
	}
	unreserved := func() int32 {
		t.Helper()
		out, err := h.client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToInt32(out.AccountLimit.UnreservedConcurrentExecutions)
	}

	if got := get(a); got != nil {
		t.Errorf("reservation before any: %d", *got)
	}
	if err := put(a, 100); err != nil {
		t.Fatal(err)
	}
	if got := get(a); aws.ToInt32(got) != 100 {
		t.Errorf("GetFunctionConcurrency = %v, want 100", got)
	}
	if u := unreserved(); u != 900 {
		t.Errorf("unreserved = %d, want 900", u)
	}
	// 100 + 801 leaves 99 unreserved: refused. 100 + 800 leaves exactly
	// the floor: allowed.
	wantErr(t, put(b, 801), invalidParam(floorMessage))
	if err := put(b, 800); err != nil {
		t.Fatalf("reservation leaving exactly 100 unreserved: %v", err)
	}
	wantErr(t, put(c, 1), invalidParam(floorMessage))
	// Changing an existing reservation counts only the new value.
	if err := put(b, 700); err != nil {
		t.Fatal(err)
	}
	if err := put(c, 100); err != nil {
		t.Fatal(err)
	}
	if u := unreserved(); u != 100 {
		t.Errorf("unreserved = %d, want 100", u)
	}

	r := h.do(t, h.rootSigner(), http.MethodDelete, "/2017-10-31/functions/"+c+"/concurrency", nil)
	if r.status != http.StatusNoContent {
		t.Errorf("DeleteFunctionConcurrency: %d %s, want 204", r.status, r.body)
	}
	if got := get(c); got != nil {
		t.Errorf("reservation after delete: %d", *got)
	}
	// Deleting the function releases its reservation.
	if _, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if u := unreserved(); u != 900 {
		t.Errorf("unreserved after deleting a reserved function = %d, want 900", u)
	}
	if err := put(c, 800); err != nil {
		t.Errorf("reservation after the capacity was released: %v", err)
	}

	wantErr(t, put(a, -1), validation("1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"))
	wantErr(t, put(a+":1", 5), invalidParam("Unsupported function name format: "+a+":1. Reserved concurrency applies to the whole function."))
	wantErr(t, put("no-such-fn", 5), notFound("Function not found: "+h.arn("no-such-fn")))
	_, err := h.client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("no-such-fn")})
	wantErr(t, err, notFound("Function not found: "+h.arn("no-such-fn")))
	_, err = h.client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("no-such-fn")})
	wantErr(t, err, notFound("Function not found: "+h.arn("no-such-fn")))
	r = h.do(t, h.rootSigner(), http.MethodPut, "/2017-10-31/functions/"+a+"/concurrency", []byte(`{}`))
	wantRawErr(t, r, validation("1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null"))
}

// TestGetAccountSettings uses a second account so that its usage counts
// only what the test creates.
func TestGetAccountSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	other, client := h.newAccount(t)
	settings := func() *lambda.GetAccountSettingsOutput {
		t.Helper()
		out, err := client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	limits := &types.AccountLimit{
		TotalCodeSize: 80530636800, CodeSizeUnzipped: 262144000, CodeSizeZipped: 52428800,
		ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: aws.Int32(1000),
	}
	usage := func(count, size int64) *types.AccountUsage {
		return &types.AccountUsage{FunctionCount: count, TotalCodeSize: size}
	}
	check := func(what string, want *types.AccountUsage) {
		t.Helper()
		got := settings()
		if diff := cmp.Diff(limits, got.AccountLimit, cmpConfig); diff != "" {
			t.Errorf("%s: AccountLimit (-want +got)\n%s", what, diff)
		}
		if diff := cmp.Diff(want, got.AccountUsage, cmpConfig); diff != "" {
			t.Errorf("%s: AccountUsage (-want +got)\n%s", what, diff)
		}
	}
	check("empty account", usage(0, 0))

	one, two := fnName("usage-one"), fnName("usage-two")
	zip1, zip2 := codeZip(t, "first package"), makeZip(t, map[string]string{"bootstrap": "#!/bin/sh\n", "data.txt": "some data"})
	for _, f := range []struct {
		name string
		zip  []byte
	}{{one, zip1}, {two, zip2}} {
		in := createInputIn(t, other, f.name)
		in.Code.ZipFile = f.zip
		if _, err := client.CreateFunction(ctx, in); err != nil {
			t.Fatal(err)
		}
		h.waitActive(t, client, f.name)
	}
	size1, size2 := int64(len(zip1)), int64(len(zip2))
	check("two functions", usage(2, size1+size2))

	// A published version counts its package again, as Lambda does.
	if _, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(one)}); err != nil {
		t.Fatal(err)
	}
	check("one version published", usage(2, 2*size1+size2))

	if _, err := client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(one)}); err != nil {
		t.Fatal(err)
	}
	check("one function deleted", usage(1, size2))

	// The harness account's usage is its own.
	own, err := h.client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if own.AccountUsage.FunctionCount != 0 {
		t.Errorf("the other account sees %d functions", own.AccountUsage.FunctionCount)
	}
}
