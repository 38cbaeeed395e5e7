package e2e

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeTour runs "Five minutes with the AWS CLI" from the README as
// written: a Python function, invoked with its log tail, published, aliased,
// invoked through the alias, deleted. It runs code, so it needs what
// sandboxes need: root, and python3.11 (the README's runtime) on the host.
func TestReadmeTour(t *testing.T) {
	t.Parallel()
	requireSandboxes(t)
	srv := startServer(t, serverOpts{noRole: true})
	cli := newCLI(t, srv)
	account, err := os.ReadFile(filepath.Join(srv.dataDir, "account-id"))
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	app := "def handler(event, context):\n    return {\"hello\": event.get(\"name\", \"world\")}\n"
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	zipCmd := exec.Command(zipPath, "-q", "function.zip", "app.py")
	zipCmd.Dir = dir
	if out, err := zipCmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, out)
	}
	outFile := filepath.Join(dir, "out.json")
	readOut := func() string {
		t.Helper()
		b, err := os.ReadFile(outFile)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}

	cli.ok(t, nil, "iam", "create-role", "--role-name", "lambda-role", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	cli.ok(t, nil, "lambda", "create-function", "--function-name", "hello", "--runtime", "python3.11", "--handler", "app.handler",
		"--role", "arn:aws:iam::"+strings.TrimSpace(string(account))+":role/lambda-role", "--zip-file", "fileb://"+filepath.Join(dir, "function.zip"))
	cli.ok(t, nil, "lambda", "wait", "function-active-v2", "--function-name", "hello")

	var logResult string
	cli.ok(t, &logResult, "lambda", "invoke", "--function-name", "hello", "--cli-binary-format", "raw-in-base64-out",
		"--payload", `{"name":"cloister"}`, "--log-type", "Tail", outFile, "--query", "LogResult")
	tail, err := base64.StdEncoding.DecodeString(logResult)
	if err != nil {
		t.Fatalf("LogResult %q is not base64: %v", logResult, err)
	}
	for _, want := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: "} {
		if !strings.Contains(string(tail), want) {
			t.Errorf("the log tail lacks %q:\n%s", want, tail)
		}
	}
	if got := readOut(); got != `{"hello": "cloister"}` {
		t.Errorf("out.json = %s, want {\"hello\": \"cloister\"}", got)
	}

	var names []string
	cli.ok(t, &names, "lambda", "list-functions", "--query", "Functions[].FunctionName")
	if len(names) != 1 || names[0] != "hello" {
		t.Errorf("list-functions --query Functions[].FunctionName = %q, want [hello]", names)
	}
	var version string
	cli.ok(t, &version, "lambda", "publish-version", "--function-name", "hello", "--query", "Version")
	if version != "1" {
		t.Errorf("publish-version --query Version = %q, want 1", version)
	}
	cli.ok(t, nil, "lambda", "create-alias", "--function-name", "hello", "--name", "live", "--function-version", "1")
	var inv struct {
		StatusCode      int
		ExecutedVersion string
		FunctionError   string
	}
	cli.ok(t, &inv, "lambda", "invoke", "--function-name", "hello:live", outFile)
	if inv.StatusCode != 200 || inv.ExecutedVersion != "1" || inv.FunctionError != "" {
		t.Errorf("invoke hello:live: %+v, want status 200 from version 1", inv)
	}
	if got := readOut(); got != `{"hello": "world"}` {
		t.Errorf("out.json = %s, want {\"hello\": \"world\"}", got)
	}
	cli.ok(t, nil, "lambda", "delete-function", "--function-name", "hello")
}
