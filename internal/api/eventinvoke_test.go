package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestEventInvokeConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	const (
		queue = "arn:aws:sqs:us-east-1:123456789012:failures"
		topic = "arn:aws:sns:us-east-1:123456789012:topic"
	)

	t.Run("put get update delete", func(t *testing.T) {
		t.Parallel()
		name := fnName("eic")
		h.createFunction(t, name)
		target := h.arn(fnName("eic-target"))
		latest := h.arn(name) + ":$LATEST"
		before := time.Now().Add(-time.Second)
		put, err := h.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName: aws.String(name), MaximumRetryAttempts: aws.Int32(1), MaximumEventAgeInSeconds: aws.Int32(3600),
			DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(queue)}, OnSuccess: &types.OnSuccess{Destination: aws.String(target)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(put.FunctionArn) != latest || aws.ToInt32(put.MaximumRetryAttempts) != 1 || aws.ToInt32(put.MaximumEventAgeInSeconds) != 3600 ||
			aws.ToString(put.DestinationConfig.OnFailure.Destination) != queue || aws.ToString(put.DestinationConfig.OnSuccess.Destination) != target {
			t.Errorf("Put = %+v", put)
		}
		if put.LastModified == nil || put.LastModified.Before(before) || put.LastModified.After(time.Now().Add(time.Second)) {
			t.Errorf("LastModified = %v, want about now", put.LastModified)
		}
		got, err := h.client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(got.MaximumRetryAttempts) != 1 || aws.ToString(got.FunctionArn) != latest {
			t.Errorf("Get = %+v", got)
		}

		// Update merges; Put replaces.
		up, err := h.client.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String(name), MaximumRetryAttempts: aws.Int32(0)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(up.MaximumRetryAttempts) != 0 || aws.ToInt32(up.MaximumEventAgeInSeconds) != 3600 || up.DestinationConfig == nil ||
			aws.ToString(up.DestinationConfig.OnFailure.Destination) != queue {
			t.Errorf("Update did not merge: %+v", up)
		}
		rep, err := h.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), MaximumRetryAttempts: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		if rep.MaximumEventAgeInSeconds != nil || rep.DestinationConfig != nil {
			t.Errorf("Put did not replace: %+v", rep)
		}

		r := h.do(t, h.rootSigner(), http.MethodDelete, "/2019-09-25/functions/"+name+"/event-invoke-config", nil)
		if r.status != http.StatusNoContent {
			t.Errorf("Delete: %d %s, want 204", r.status, r.body)
		}
		missing := notFound("The function " + latest + " doesn't have an EventInvokeConfig")
		_, err = h.client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)})
		wantErr(t, err, missing)
		_, err = h.client.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String(name)})
		wantErr(t, err, missing)
	})

	t.Run("ranges and destinations", func(t *testing.T) {
		t.Parallel()
		name := fnName("eic-bad")
		h.createFunction(t, name)
		cases := []struct {
			what string
			in   lambda.PutFunctionEventInvokeConfigInput
			want apiErr
		}{
			{"retries -1", lambda.PutFunctionEventInvokeConfigInput{MaximumRetryAttempts: aws.Int32(-1)},
				validation("1 validation error detected: Value '-1' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0")},
			{"retries 3", lambda.PutFunctionEventInvokeConfigInput{MaximumRetryAttempts: aws.Int32(3)},
				validation("1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2")},
			{"age 59", lambda.PutFunctionEventInvokeConfigInput{MaximumEventAgeInSeconds: aws.Int32(59)},
				validation("1 validation error detected: Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60")},
			{"age 21601", lambda.PutFunctionEventInvokeConfigInput{MaximumEventAgeInSeconds: aws.Int32(21601)},
				validation("1 validation error detected: Value '21601' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600")},
			{"both out of range", lambda.PutFunctionEventInvokeConfigInput{MaximumRetryAttempts: aws.Int32(5), MaximumEventAgeInSeconds: aws.Int32(1)},
				validation("2 validation errors detected: Value '5' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2; " +
					"Value '1' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60")},
			{"sns destination", lambda.PutFunctionEventInvokeConfigInput{DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(topic)}}},
				invalidParam("The provided destination target " + topic + " is not supported: Cloister delivers to queues (sqs) and functions (lambda).")},
			{"not an ARN", lambda.PutFunctionEventInvokeConfigInput{DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String("my-queue")}}},
				validation(`1 validation error detected: Value 'my-queue' at 'destinationConfig.onSuccess.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`)},
		}
		for _, c := range cases {
			t.Run(c.what, func(t *testing.T) {
				in := c.in
				in.FunctionName = aws.String(name)
				_, err := h.client.PutFunctionEventInvokeConfig(ctx, &in)
				wantErr(t, err, c.want)
				_, err = h.client.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{
					FunctionName: in.FunctionName, MaximumRetryAttempts: in.MaximumRetryAttempts,
					MaximumEventAgeInSeconds: in.MaximumEventAgeInSeconds, DestinationConfig: in.DestinationConfig,
				})
				wantErr(t, err, c.want)
			})
		}
		_, err := h.client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)})
		errAs[*types.ResourceNotFoundException](t, err)
	})

	t.Run("qualifiers and list", func(t *testing.T) {
		t.Parallel()
		name := withVersions(t, h, "eic-list", 1)
		mustAlias(t, h, name, "live", "1", nil)
		for _, q := range []string{"", "1", "live"} {
			if _, err := h.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
				FunctionName: aws.String(name), Qualifier: qual(q), MaximumRetryAttempts: aws.Int32(int32(len(q) % 3)),
			}); err != nil {
				t.Fatalf("Put qualifier %q: %v", q, err)
			}
		}
		got, err := h.client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name + ":live")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.FunctionArn) != h.arn(name)+":live" {
			t.Errorf("alias config FunctionArn = %q", aws.ToString(got.FunctionArn))
		}
		// The unqualified function's config is $LATEST's.
		viaLatest, err := h.client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name), Qualifier: aws.String("$LATEST")})
		if err != nil || aws.ToString(viaLatest.FunctionArn) != h.arn(name)+":$LATEST" {
			t.Errorf("Get $LATEST: %v, %v", viaLatest, err)
		}

		var arns []string
		pages := 0
		p := lambda.NewListFunctionEventInvokeConfigsPaginator(h.client, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String(name)},
			func(o *lambda.ListFunctionEventInvokeConfigsPaginatorOptions) { o.Limit = 2 })
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, c := range page.FunctionEventInvokeConfigs {
				arns = append(arns, aws.ToString(c.FunctionArn))
			}
		}
		slices.Sort(arns)
		want := []string{h.arn(name) + ":$LATEST", h.arn(name) + ":1", h.arn(name) + ":live"}
		if !slices.Equal(arns, want) || pages != 2 {
			t.Errorf("listed %v in %d pages, want %v in 2", arns, pages, want)
		}

		_, err = h.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), Qualifier: aws.String("2"), MaximumRetryAttempts: aws.Int32(1)})
		wantErr(t, err, notFound("Function not found: "+h.arn(name)+":2"))
		_, err = h.client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), Qualifier: aws.String("nope"), MaximumRetryAttempts: aws.Int32(1)})
		wantErr(t, err, notFound("Function not found: "+h.arn(name)+":nope"))

		// Deleting the alias and the version removes their configs.
		if _, err := h.client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String(name), Name: aws.String("live")}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("1")}); err != nil {
			t.Fatal(err)
		}
		out, err := h.client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.FunctionEventInvokeConfigs) != 1 || aws.ToString(out.FunctionEventInvokeConfigs[0].FunctionArn) != h.arn(name)+":$LATEST" {
			t.Errorf("configs after deleting the alias and version: %+v", out.FunctionEventInvokeConfigs)
		}
	})
}
