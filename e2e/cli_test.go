package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cliTimeout bounds one CLI command; waiters poll for up to a few seconds.
const cliTimeout = 2 * time.Minute

// awsCLI runs one AWS CLI against one server, isolated from the machine's
// AWS configuration: its own HOME, an empty config file, no pager, and only
// the credentials the test gives it.
type awsCLI struct {
	path     string
	major    int // 1 or 2
	endpoint string
	env      []string
}

// newCLI returns the AWS CLI v2 pointed at srv with the credentials file in
// the server's data directory, configured the way the server's welcome
// message tells users to: AWS_SHARED_CREDENTIALS_FILE and AWS_REGION.
func newCLI(t *testing.T, srv *server, extraEnv ...string) *awsCLI {
	t.Helper()
	requireCLI(t)
	env := append([]string{
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(srv.dataDir, "credentials"),
		"AWS_REGION=" + region,
	}, extraEnv...)
	return newCLIAt(t, awsV2Path, 2, srv.endpoint, env...)
}

// newCLIAt returns the CLI at path (of the given major version) for an
// endpoint, with exactly env as its AWS settings.
func newCLIAt(t *testing.T, path string, major int, endpoint string, env ...string) *awsCLI {
	t.Helper()
	home := t.TempDir()
	config := filepath.Join(home, "config")
	if err := os.WriteFile(config, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"LANG=C.UTF-8",
		"AWS_CONFIG_FILE=" + config,
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CLI_AUTO_PROMPT=off",
	}
	return &awsCLI{path: path, major: major, endpoint: endpoint, env: append(base, env...)}
}

// withEnv returns a copy of c with more environment (later entries win).
func (c *awsCLI) withEnv(env ...string) *awsCLI {
	n := *c
	n.env = append(append([]string(nil), c.env...), env...)
	return &n
}

// cliResult is what one CLI command did.
type cliResult struct {
	args   []string
	stdout []byte
	stderr string
	code   int
}

// run runs `aws --endpoint-url E --output json ARGS...` and returns what it
// did; it fails the test only if the CLI could not be run at all.
func (c *awsCLI) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	res, err := c.runCtx(t.Context(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// runCtx is run for goroutines other than the test's: it returns an error
// when the CLI could not be run or ctx ended.
func (c *awsCLI) runCtx(ctx context.Context, args ...string) (cliResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	full := append([]string{"--endpoint-url", c.endpoint, "--output", "json"}, args...)
	cmd := exec.CommandContext(ctx, c.path, full...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{args: args, stdout: stdout.Bytes(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		res.code = ee.ExitCode()
	default:
		return res, fmt.Errorf("aws %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return res, nil
}

// ok runs a command that must succeed and decodes its JSON output into out
// (when out is not nil).
func (c *awsCLI) ok(t *testing.T, out any, args ...string) {
	t.Helper()
	res := c.run(t, args...)
	if res.code != 0 {
		t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), res.code, res.stderr)
	}
	if out == nil {
		return
	}
	// Decode into a zero value: json.Unmarshal merges into existing maps.
	reflect.ValueOf(out).Elem().SetZero()
	if len(bytes.TrimSpace(res.stdout)) == 0 {
		return // the CLI prints nothing for an empty object
	}
	if err := json.Unmarshal(res.stdout, out); err != nil {
		t.Fatalf("aws %s: decode output: %v\n%s", strings.Join(args, " "), err, res.stdout)
	}
}

// decode returns a command's output as generic JSON (nil for no output).
func (c *awsCLI) decode(t *testing.T, res cliResult) any {
	t.Helper()
	if len(bytes.TrimSpace(res.stdout)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(res.stdout, &v); err != nil {
		t.Fatalf("aws %s: decode output: %v\n%s", strings.Join(res.args, " "), err, res.stdout)
	}
	return v
}

// cliError is an AWS service error as the CLI reports it.
type cliError struct {
	Code      int    // exit status
	Type      string // ResourceNotFoundException, ...
	Operation string // GetFunction, ...
	Message   string
}

var errorLineRe = regexp.MustCompile(`An error occurred \(([A-Za-z0-9]+)\)(?: \(reached max retries: \d+\))? when calling the ([A-Za-z0-9]+) operation(?: \(reached max retries: \d+\))?: (.*)`)

// fail runs a command that must fail with an AWS service error and returns
// the error. The CLI exits 254 for service errors (v2) or 255 (v1).
func (c *awsCLI) fail(t *testing.T, args ...string) cliError {
	t.Helper()
	res := c.run(t, args...)
	if res.code == 0 {
		t.Fatalf("aws %s succeeded, want an error; output:\n%s", strings.Join(args, " "), res.stdout)
	}
	want := 254
	if c.major == 1 {
		want = 255
	}
	m := errorLineRe.FindStringSubmatch(res.stderr)
	if m == nil {
		t.Fatalf("aws %s: exit %d without an AWS error line on stderr:\n%s", strings.Join(args, " "), res.code, res.stderr)
	}
	if res.code != want {
		t.Errorf("aws %s: exit %d, want %d for a service error", strings.Join(args, " "), res.code, want)
	}
	return cliError{Code: res.code, Type: m[1], Operation: m[2], Message: strings.TrimSpace(m[3])}
}

// failWith runs a command that must fail with error type typ and message
// msg (exactly, or as a prefix when msg ends in "...").
func (c *awsCLI) failWith(t *testing.T, typ, msg string, args ...string) {
	t.Helper()
	e := c.fail(t, args...)
	if e.Type != typ {
		t.Errorf("aws %s: error type %s (%q), want %s", strings.Join(args, " "), e.Type, e.Message, typ)
		return
	}
	if prefix, ok := strings.CutSuffix(msg, "..."); ok {
		if !strings.HasPrefix(e.Message, prefix) {
			t.Errorf("aws %s: message %q, want it to start with %q", strings.Join(args, " "), e.Message, prefix)
		}
	} else if e.Message != msg {
		t.Errorf("aws %s: message %q, want %q", strings.Join(args, " "), e.Message, msg)
	}
}

// pkg is a deployment package built with /usr/bin/zip.
type pkg struct {
	path string
	data []byte
	// sha is CodeSha256: base64 of the SHA-256 of the zip.
	sha string
}

// fileURL is the CLI's argument for the package.
func (p pkg) fileURL() string { return "fileb://" + p.path }

// makeZip builds a deployment package with a bootstrap script that prints
// greeting, the way a user would: with the zip command.
func makeZip(t *testing.T, greeting string) pkg {
	t.Helper()
	requireCLI(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nset -eu\necho '" + greeting + "'\n"
	if err := os.WriteFile(filepath.Join(src, "bootstrap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "function.zip")
	cmd := exec.Command(zipPath, "-q", "-X", "-r", out, ".")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return pkg{path: out, data: data, sha: base64.StdEncoding.EncodeToString(sum[:])}
}

// roleARN is an execution role in account.
func roleARN(account string) string {
	return "arn:aws:iam::" + account + ":role/lambda-role"
}

// createArgs are the CLI arguments that create a function from p.
func createArgs(name, account string, p pkg, more ...string) []string {
	return append([]string{"lambda", "create-function",
		"--function-name", name,
		"--runtime", "provided.al2023",
		"--handler", "bootstrap",
		"--role", roleARN(account),
		"--zip-file", p.fileURL(),
	}, more...)
}

// fnARN is a function's full ARN on srv.
func fnARN(srv *server, name string) string {
	return "arn:aws:lambda:" + region + ":" + srv.account + ":function:" + name
}
