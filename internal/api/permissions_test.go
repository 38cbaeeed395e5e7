package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// statement decodes a policy statement.
func statement(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("statement %q: %v", s, err)
	}
	return m
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()

	t.Run("principals and conditions", func(t *testing.T) {
		t.Parallel()
		name := fnName("perm")
		h.createFunction(t, name)
		arn := h.arn(name)
		cases := []struct {
			in   lambda.AddPermissionInput
			want map[string]any
		}{
			{
				lambda.AddPermissionInput{StatementId: aws.String("s3"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"),
					SourceArn: aws.String("arn:aws:s3:::my-bucket"), SourceAccount: aws.String("123456789012")},
				map[string]any{"Sid": "s3", "Effect": "Allow", "Principal": map[string]any{"Service": "s3.amazonaws.com"},
					"Action": "lambda:InvokeFunction", "Resource": arn, "Condition": map[string]any{
						"StringEquals": map[string]any{"AWS:SourceAccount": "123456789012"},
						"ArnLike":      map[string]any{"AWS:SourceArn": "arn:aws:s3:::my-bucket"},
					}},
			},
			{
				lambda.AddPermissionInput{StatementId: aws.String("account"), Action: aws.String("lambda:GetFunction"), Principal: aws.String("210987654321")},
				map[string]any{"Sid": "account", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::210987654321:root"},
					"Action": "lambda:GetFunction", "Resource": arn},
			},
			{
				lambda.AddPermissionInput{StatementId: aws.String("role"), Action: aws.String("lambda:*"), Principal: aws.String("arn:aws:iam::210987654321:role/caller")},
				map[string]any{"Sid": "role", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::210987654321:role/caller"},
					"Action": "lambda:*", "Resource": arn},
			},
			{
				lambda.AddPermissionInput{StatementId: aws.String("anyone"), Action: aws.String("lambda:InvokeFunctionUrl"), Principal: aws.String("*"),
					FunctionUrlAuthType: types.FunctionUrlAuthTypeNone},
				map[string]any{"Sid": "anyone", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunctionUrl", "Resource": arn,
					"Condition": map[string]any{"StringEquals": map[string]any{"lambda:FunctionUrlAuthType": "NONE"}}},
			},
			{
				lambda.AddPermissionInput{StatementId: aws.String("org"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"),
					PrincipalOrgID: aws.String("o-abcdefghij"), EventSourceToken: aws.String("token.1")},
				map[string]any{"Sid": "org", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": arn,
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": "o-abcdefghij", "lambda:EventSourceToken": "token.1"}}},
			},
		}
		var want []any
		for _, c := range cases {
			in := c.in
			in.FunctionName = aws.String(name)
			out, err := h.client.AddPermission(ctx, &in)
			if err != nil {
				t.Fatalf("AddPermission %s: %v", aws.ToString(in.StatementId), err)
			}
			if diff := cmp.Diff(c.want, statement(t, aws.ToString(out.Statement))); diff != "" {
				t.Errorf("statement %s (-want +got)\n%s", aws.ToString(in.StatementId), diff)
			}
			want = append(want, c.want)
		}
		pol, err := h.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		doc := statement(t, aws.ToString(pol.Policy))
		if diff := cmp.Diff(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": want}, doc); diff != "" {
			t.Errorf("policy (-want +got)\n%s", diff)
		}
		fn, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(pol.RevisionId) != aws.ToString(fn.Configuration.RevisionId) {
			t.Errorf("GetPolicy RevisionId %q, function's %q", aws.ToString(pol.RevisionId), aws.ToString(fn.Configuration.RevisionId))
		}
	})

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		name := fnName("perm-bad")
		h.createFunction(t, name)
		add := func(sid, principal string) error {
			_, err := h.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String(sid),
				Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(principal)})
			return err
		}
		if err := add("dup", "sns.amazonaws.com"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, add("dup", "s3.amazonaws.com"), conflict("The statement id (SID) provided already exists. Please provide a new statement id, or remove the existing statement."))
		wantErr(t, add("bad-principal", "not a principal"), validation(`1 validation error detected: Value 'not a principal' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`))
		wantErr(t, add("bad-principal", "nobody"), invalidParam("The provided principal was invalid. Please check the principal and try again."))
		wantErr(t, add("bad sid", "s3.amazonaws.com"), validation("1 validation error detected: Value 'bad sid' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"))
		_, err := h.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String("x"),
			Action: aws.String("s3:GetObject"), Principal: aws.String("*")})
		wantErr(t, err, validation("1 validation error detected: Value 's3:GetObject' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"))
		_, err = h.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String("x"),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"), SourceAccount: aws.String("12345")})
		wantErr(t, err, validation(`1 validation error detected: Value '12345' at 'sourceAccount' failed to satisfy constraint: Member must satisfy regular expression pattern: \d{12}`))

		// The SDK refuses a missing StatementId itself; the server refuses
		// it from any other client.
		_, err = h.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*")})
		var invalid smithy.InvalidParamsError
		if !errors.As(err, &invalid) {
			t.Errorf("SDK sent AddPermission without StatementId: %v", err)
		}
		r := h.do(t, h.rootSigner(), http.MethodPost, "/2015-03-31/functions/"+name+"/policy", []byte(`{"Action":"lambda:InvokeFunction","Principal":"*"}`))
		wantRawErr(t, r, validation("1 validation error detected: Value null at 'statementId' failed to satisfy constraint: Member must not be null"))
		r = h.do(t, h.rootSigner(), http.MethodPost, "/2015-03-31/functions/"+name+"/policy", []byte(`{}`))
		wantRawErr(t, r, validation("3 validation errors detected: Value null at 'statementId' failed to satisfy constraint: Member must not be null; "+
			"Value null at 'action' failed to satisfy constraint: Member must not be null; Value null at 'principal' failed to satisfy constraint: Member must not be null"))
	})

	t.Run("revision id", func(t *testing.T) {
		t.Parallel()
		name := fnName("perm-rev")
		h.createFunction(t, name)
		rev := h.waitActive(t, h.client, name).Configuration.RevisionId
		in := &lambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String("one"), Action: aws.String("lambda:InvokeFunction"),
			Principal: aws.String("events.amazonaws.com"), RevisionId: aws.String("stale")}
		_, err := h.client.AddPermission(ctx, in)
		wantErr(t, err, apiErr{412, "PreconditionFailedException", revisionMismatch})
		in.RevisionId = rev
		if _, err := h.client.AddPermission(ctx, in); err != nil {
			t.Fatal(err)
		}
		_, err = h.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(name), StatementId: aws.String("one"), RevisionId: rev})
		wantErr(t, err, apiErr{412, "PreconditionFailedException", revisionMismatch})
		pol, err := h.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(name), StatementId: aws.String("one"), RevisionId: pol.RevisionId}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("remove", func(t *testing.T) {
		t.Parallel()
		name := fnName("perm-rm")
		h.createFunction(t, name)
		_, err := h.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name)})
		wantErr(t, err, notFound("The resource you requested does not exist."))
		_, err = h.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(name), StatementId: aws.String("none")})
		wantErr(t, err, notFound("No policy is associated with the given resource."))
		for _, sid := range []string{"a", "b"} {
			if _, err := h.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), StatementId: aws.String(sid),
				Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("sqs.amazonaws.com")}); err != nil {
				t.Fatal(err)
			}
		}
		r := h.do(t, h.rootSigner(), http.MethodDelete, "/2015-03-31/functions/"+name+"/policy/a", nil)
		if r.status != http.StatusNoContent {
			t.Errorf("RemovePermission: %d %s, want 204", r.status, r.body)
		}
		_, err = h.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(name), StatementId: aws.String("a")})
		wantErr(t, err, notFound("Statement a is not found in resource policy."))
		pol, err := h.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if sts := statement(t, aws.ToString(pol.Policy))["Statement"].([]any); len(sts) != 1 || sts[0].(map[string]any)["Sid"] != "b" {
			t.Errorf("statements after removing a: %v", sts)
		}
		if _, err := h.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(name), StatementId: aws.String("b")}); err != nil {
			t.Fatal(err)
		}
		_, err = h.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name)})
		wantErr(t, err, notFound("The resource you requested does not exist."))
	})

	t.Run("qualified policies are separate", func(t *testing.T) {
		t.Parallel()
		name := withVersions(t, h, "perm-q", 1)
		mustAlias(t, h, name, "live", "1", nil)
		for _, q := range []string{"", "1", "live"} {
			if _, err := h.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), Qualifier: qual(q),
				StatementId: aws.String("sid" + q), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com")}); err != nil {
				t.Fatalf("AddPermission qualifier %q: %v", q, err)
			}
		}
		for _, q := range []string{"", "1", "live"} {
			pol, err := h.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name), Qualifier: qual(q)})
			if err != nil {
				t.Fatal(err)
			}
			sts := statement(t, aws.ToString(pol.Policy))["Statement"].([]any)
			want := h.arn(name)
			if q != "" {
				want += ":" + q
			}
			if len(sts) != 1 || sts[0].(map[string]any)["Sid"] != "sid"+q || sts[0].(map[string]any)["Resource"] != want {
				t.Errorf("qualifier %q: statements %v", q, sts)
			}
		}
		_, err := h.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(name), Qualifier: aws.String("nope"),
			StatementId: aws.String("x"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*")})
		wantErr(t, err, notFound("Function not found: "+h.arn(name)+":nope"))
		_, err = h.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name), Qualifier: aws.String("2")})
		wantErr(t, err, notFound("Function not found: "+h.arn(name)+":2"))
	})
}
