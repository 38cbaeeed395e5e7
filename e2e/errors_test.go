package e2e

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// writeFile writes data to a new file in a temporary directory.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCLIErrors: what the AWS CLI prints when a request fails. The CLI must
// exit 254 and show AWS's error type and message, which it can only do if
// the server sends them where AWS does (X-Amzn-ErrorType and the body's
// message member).
func TestCLIErrors(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	srv := startServer(t, serverOpts{})
	cli := newCLI(t, srv)
	p := makeZip(t, "errors")
	const name = "err-fn"
	arn := fnARN(srv, name)
	var created fnConfig
	cli.ok(t, &created, createArgs(name, srv.account, p)...)
	cli.ok(t, nil, "lambda", "wait", "function-active-v2", "--function-name", name)

	// The CLI itself refuses to send a file whose central directory
	// Python cannot read, so the bad packages are broken further in: a
	// damaged local header, and an entry that escapes the code directory.
	corrupt := writeFile(t, "corrupt.zip", append([]byte("XX"), p.data[2:]...))
	var escaping bytes.Buffer
	zw := zip.NewWriter(&escaping)
	if w, err := zw.Create("../escape"); err != nil {
		t.Fatal(err)
	} else if _, err := w.Write([]byte("out")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	escape := writeFile(t, "escape.zip", escaping.Bytes())
	missing := fnARN(srv, "nope")

	tests := []struct {
		name string
		args []string
		typ  string
		msg  string // exact, or a prefix when it ends in "..."
	}{
		{"get a missing function", []string{"lambda", "get-function", "--function-name", "nope"},
			"ResourceNotFoundException", "Function not found: " + missing},
		{"get a missing function by ARN", []string{"lambda", "get-function-configuration", "--function-name", missing},
			"ResourceNotFoundException", "Function not found: " + missing},
		{"get a missing version", []string{"lambda", "get-function", "--function-name", name, "--qualifier", "3"},
			"ResourceNotFoundException", "Function not found: " + arn + ":3"},
		{"delete a missing function", []string{"lambda", "delete-function", "--function-name", "nope"},
			"ResourceNotFoundException", "Function not found: " + missing},
		{"create an existing function", createArgs(name, srv.account, p),
			"ResourceConflictException", "Function already exist: " + name},
		{"deprecated runtime", createArgs("old", srv.account, p, "--runtime", "go1.x"),
			"InvalidParameterValueException", "The runtime parameter of go1.x is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."},
		{"unknown runtime", createArgs("cobol", srv.account, p, "--runtime", "cobol85"),
			"InvalidParameterValueException", "Value cobol85 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [..."},
		{"role that is not an ARN", createArgs("norole", srv.account, p, "--role", "r1"),
			"ValidationException", `1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`},
		{"package that does not unzip", createArgs("corrupt", srv.account, pkg{path: corrupt}),
			"InvalidParameterValueException", "Could not unzip uploaded file. Please check your file, then try to upload again...."},
		{"package with a path outside the code", createArgs("escape", srv.account, pkg{path: escape}),
			"InvalidParameterValueException", `The deployment package has an entry with an unsafe path. (entry "../escape"...`},
		{"stale revision id", []string{"lambda", "update-function-configuration", "--function-name", name, "--description", "x", "--revision-id", "00000000-0000-4000-8000-000000000000"},
			"PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"},
		{"ARN of another region", []string{"lambda", "get-function", "--function-name", "arn:aws:lambda:eu-west-1:" + srv.account + ":function:" + name},
			"InvalidParameterValueException", "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{"qualifier twice, differently", []string{"lambda", "get-function", "--function-name", name + ":1", "--qualifier", "2"},
			"InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."},
		{"delete $LATEST", []string{"lambda", "delete-function", "--function-name", name, "--qualifier", "$LATEST"},
			"InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function."},
		{"reserve below the unreserved floor", []string{"lambda", "put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "901"},
			"InvalidParameterValueException", "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."},
		{"alias of a missing version", []string{"lambda", "create-alias", "--function-name", name, "--name", "a", "--function-version", "9"},
			"ResourceNotFoundException", "Function not found: " + arn + ":9"},
		{"bad list filter", []string{"lambda", "list-functions", "--function-version", "SOME"},
			"ValidationException", "1 validation error detected: Value 'SOME' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli.failWith(t, tt.typ, tt.msg, tt.args...)
		})
	}

	t.Run("credentials", func(t *testing.T) {
		key := loadProfile(t, filepath.Join(srv.dataDir, "credentials"), "default")
		wrongSecret := newCLIAt(t, awsV2Path, 2, srv.endpoint, "AWS_REGION="+region,
			"AWS_ACCESS_KEY_ID="+key.AccessKeyID, "AWS_SECRET_ACCESS_KEY=not-the-secret-at-all-0000000000000000")
		wrongSecret.failWith(t, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided...",
			"lambda", "list-functions")
		unknownKey := newCLIAt(t, awsV2Path, 2, srv.endpoint, "AWS_REGION="+region,
			"AWS_ACCESS_KEY_ID=AKIAAAAAAAAAAAAAAAAA", "AWS_SECRET_ACCESS_KEY="+key.SecretAccessKey)
		unknownKey.failWith(t, "UnrecognizedClientException", "The security token included in the request is invalid.",
			"lambda", "get-function", "--function-name", name)
		otherRegion := newCLI(t, srv, "AWS_REGION=eu-west-1")
		otherRegion.failWith(t, "InvalidSignatureException", "Credential should be scoped to a valid region...",
			"lambda", "list-functions")
	})

	// Nothing above changed the function.
	var after fnConfig
	cli.ok(t, &after, "lambda", "get-function-configuration", "--function-name", name)
	if after.RevisionId == "" || after.Description != "" || after.CodeSha256 != p.sha {
		t.Errorf("the failed calls changed the function: %+v", after)
	}
}
