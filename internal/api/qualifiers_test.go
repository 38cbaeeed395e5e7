package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

const functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

func TestQualifiers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	name := withVersions(t, h, "qual", 2)
	mustAlias(t, h, name, "live", "1", nil)
	partial := h.account + ":function:" + name
	full := h.arn(name)

	cases := []struct {
		what, id, qualifier string
		version             string // the version served, or "" when want applies
		asked               string // the qualifier the answer's ARN carries
		want                apiErr
	}{
		{"name", name, "", "$LATEST", "", apiErr{}},
		{"partial ARN", partial, "", "$LATEST", "", apiErr{}},
		{"full ARN", full, "", "$LATEST", "", apiErr{}},
		{"name:version", name + ":1", "", "1", "1", apiErr{}},
		{"name:$LATEST", name + ":$LATEST", "", "$LATEST", "$LATEST", apiErr{}},
		{"name:alias", name + ":live", "", "1", "live", apiErr{}},
		{"partial ARN:version", partial + ":2", "", "2", "2", apiErr{}},
		{"full ARN:alias", full + ":live", "", "1", "live", apiErr{}},
		{"Qualifier version", name, "2", "2", "2", apiErr{}},
		{"Qualifier alias on full ARN", full, "live", "1", "live", apiErr{}},
		{"same qualifier twice", name + ":2", "2", "2", "2", apiErr{}},
		{"mismatching qualifier", name + ":1", "2", "", "", invalidParam("The derived qualifier from the function name does not match the specified qualifier.")},
		{"missing version", name + ":9", "", "", "", notFound("Function not found: " + full + ":9")},
		{"missing alias", name, "nope", "", "", notFound("Function not found: " + full + ":nope")},
		{"other region", "arn:aws:lambda:eu-west-1:" + h.account + ":function:" + name, "", "", "", invalidParam("Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")},
		{"bad name", "bad name", "", "", "", validation("1 validation error detected: Value 'bad name' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + functionNamePattern)},
		{"name too long", strings.Repeat("n", 65), "", "", "", validation("1 validation error detected: Value '" + strings.Repeat("n", 65) + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64")},
		{"bad qualifier", name, "$PREV", "", "", validation("1 validation error detected: Value '$PREV' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)")},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			out, err := h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(c.id), Qualifier: qual(c.qualifier)})
			if c.version == "" {
				wantErr(t, err, c.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.Version) != c.version || aws.ToString(out.FunctionName) != name {
				t.Errorf("served %s version %q, want %s", aws.ToString(out.FunctionName), aws.ToString(out.Version), c.version)
			}
			// The ARN is the one asked for: unqualified, or with the
			// qualifier as given (an alias's, not its version's).
			wantARN := full
			if c.asked != "" {
				wantARN += ":" + c.asked
			}
			if got := aws.ToString(out.FunctionArn); got != wantARN {
				t.Errorf("FunctionArn = %s, want %s", got, wantARN)
			}

		})
	}
}

// TestOtherAccounts checks that an account's functions are invisible to
// another account's principals whichever way they are named.
func TestOtherAccounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	name := fnName("mine")
	h.createFunction(t, name)
	h.publish(t, name)
	other, client := h.newAccount(t)
	full, partial := h.arn(name), h.account+":function:"+name
	denied := func(action, resource string) apiErr {
		return apiErr{403, "AccessDeniedException", "User: arn:aws:iam::" + other + ":root is not authorized to perform: lambda:" + action +
			" on resource: " + resource + " because no resource-based policy allows the lambda:" + action + " action"}
	}

	t.Run("by ARN", func(t *testing.T) {
		for _, id := range []string{full, partial} {
			_, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(id)})
			wantErr(t, err, denied("GetFunction", full))
			_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(id), Qualifier: aws.String("1")})
			wantErr(t, err, denied("GetFunction", full+":1"))
			_, err = client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(id), Timeout: aws.Int32(9)})
			wantErr(t, err, denied("UpdateFunctionConfiguration", full))
			_, err = client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(id), ZipFile: codeZip(t, "evil")})
			wantErr(t, err, denied("UpdateFunctionCode", full))
			_, err = client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(id), StatementId: aws.String("x"), Action: aws.String("lambda:*"), Principal: aws.String(other)})
			wantErr(t, err, denied("AddPermission", full))
			_, err = client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(id), Name: aws.String("x"), FunctionVersion: aws.String("1")})
			wantErr(t, err, denied("CreateAlias", full))
			_, err = client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(id), ReservedConcurrentExecutions: aws.Int32(1)})
			wantErr(t, err, denied("PutFunctionConcurrency", full))
			_, err = client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(id)})
			wantErr(t, err, denied("DeleteFunction", full))
		}
		_, err := client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(full), Tags: map[string]string{"owned": "no"}})
		wantErr(t, err, denied("TagResource", full))
		_, err = client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(full)})
		wantErr(t, err, denied("ListTags", full))
		// Creating a function in another account is refused too.
		_, err = client.CreateFunction(ctx, createInput(t, h.account+":function:planted"))
		wantErr(t, err, denied("CreateFunction", h.arn("planted")))
	})

	t.Run("by name", func(t *testing.T) {
		_, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		wantErr(t, err, notFound("Function not found: arn:aws:lambda:us-east-1:"+other+":function:"+name))
		errAs[*types.ResourceNotFoundException](t, err)
		out, err := client.ListFunctions(ctx, &lambda.ListFunctionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Functions) != 0 {
			t.Errorf("the other account lists %d functions", len(out.Functions))
		}
		// The same name in the other account is a different function.
		created, err := client.CreateFunction(ctx, createInputIn(t, other, name))
		if err != nil {
			t.Fatal(err)
		}
		if arn := aws.ToString(created.FunctionArn); arn != "arn:aws:lambda:us-east-1:"+other+":function:"+name {
			t.Errorf("FunctionArn = %s", arn)
		}
	})

	t.Run("untouched", func(t *testing.T) {
		out, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.Configuration.Timeout) != 3 || len(out.Tags) != 0 || out.Concurrency != nil {
			t.Errorf("the function changed: %+v", out.Configuration)
		}
		if _, err := h.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name)}); err == nil {
			t.Error("the function gained a policy")
		}
	})
}
