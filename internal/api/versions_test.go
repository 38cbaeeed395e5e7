package api_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestPublishVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()

	t.Run("versions snapshot $LATEST", func(t *testing.T) {
		t.Parallel()
		name := fnName("publish")
		created := h.createFunction(t, name, func(in *lambda.CreateFunctionInput) { in.Description = aws.String("first") })
		v1, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(v1.Version) != "1" || aws.ToString(v1.FunctionArn) != h.arn(name)+":1" ||
			aws.ToString(v1.CodeSha256) != aws.ToString(created.CodeSha256) || aws.ToString(v1.Description) != "first" {
			t.Errorf("version 1: Version %q FunctionArn %q CodeSha256 %q Description %q", aws.ToString(v1.Version),
				aws.ToString(v1.FunctionArn), aws.ToString(v1.CodeSha256), aws.ToString(v1.Description))
		}
		if v1.State != types.StateActive {
			t.Errorf("version 1 State = %q", v1.State)
		}

		// Nothing changed: Lambda returns the latest version again.
		again, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(again.Version) != "1" || aws.ToString(again.RevisionId) != aws.ToString(v1.RevisionId) {
			t.Errorf("unchanged publish returned version %q (revision %q), want 1 (%q)", aws.ToString(again.Version),
				aws.ToString(again.RevisionId), aws.ToString(v1.RevisionId))
		}

		// New code: version 2 with its own description; version 1 keeps
		// serving the old package.
		h.updateCode(t, name, "second")
		v2, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), Description: aws.String("second release")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(v2.Version) != "2" || aws.ToString(v2.Description) != "second release" || aws.ToString(v2.CodeSha256) != codeSha256(codeZip(t, "second")) {
			t.Errorf("version 2: %q %q %q", aws.ToString(v2.Version), aws.ToString(v2.Description), aws.ToString(v2.CodeSha256))
		}
		old, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("1")})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(download(t, aws.ToString(old.Code.Location)), codeZip(t, name)) {
			t.Error("version 1 no longer serves its own package")
		}

		// A configuration change alone also makes a new version.
		if _, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), Timeout: aws.Int32(9)}); err != nil {
			t.Fatal(err)
		}
		h.waitUpdated(t, name)
		if v := h.publish(t, name); v != "3" {
			t.Errorf("publish after a configuration change = %s, want 3", v)
		}
	})

	t.Run("CodeSha256", func(t *testing.T) {
		t.Parallel()
		name := fnName("publish-sha")
		created := h.createFunction(t, name)
		current := aws.ToString(created.CodeSha256)
		wrong := codeSha256([]byte("something else"))
		_, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), CodeSha256: aws.String(wrong)})
		wantErr(t, err, invalidParam("CodeSHA256 ("+wrong+") is different from current CodeSHA256 in $LATEST ("+current+"). Please try again with the current CodeSHA256."))
		v, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), CodeSha256: aws.String(current)})
		if err != nil || aws.ToString(v.Version) != "1" {
			t.Fatalf("publish with the current CodeSha256: %v, %v", v, err)
		}
	})

	t.Run("RevisionId", func(t *testing.T) {
		t.Parallel()
		name := fnName("publish-rev")
		h.createFunction(t, name)
		cur := h.waitActive(t, h.client, name).Configuration.RevisionId
		_, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), RevisionId: aws.String("stale")})
		wantErr(t, err, apiErr{412, "PreconditionFailedException", revisionMismatch})
		if _, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), RevisionId: cur}); err != nil {
			t.Fatalf("publish with the current RevisionId: %v", err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		name := fnName("publish-bad")
		h.createFunction(t, name)
		long := strings.Repeat("d", 257)
		_, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), Description: aws.String(long)})
		wantErr(t, err, validation("1 validation error detected: Value '"+long+"' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256"))
		_, err = h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name + ":$LATEST")})
		wantErr(t, err, invalidParam("Unsupported function name format: "+name+":$LATEST. Versions are published from the unqualified function."))
		_, err = h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("no-such-fn")})
		wantErr(t, err, notFound("Function not found: "+h.arn("no-such-fn")))
	})
}
