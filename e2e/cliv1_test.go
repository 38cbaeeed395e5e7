package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// findCLIv1 looks for an AWS CLI v1 (`aws --version` says aws-cli/1.): on
// PATH, where pyenv and pip --user install it, and in /usr/local/bin.
func findCLIv1(t *testing.T) string {
	t.Helper()
	var candidates []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		candidates = append(candidates, filepath.Join(dir, "aws"))
	}
	for _, home := range []string{os.Getenv("HOME"), "/root"} {
		if home == "" {
			continue
		}
		found, _ := filepath.Glob(filepath.Join(home, ".pyenv", "versions", "*", "bin", "aws"))
		candidates = append(candidates, found...)
		candidates = append(candidates, filepath.Join(home, ".local", "bin", "aws"))
	}
	candidates = append(candidates, "/usr/local/bin/aws")

	seen := map[string]bool{awsV2Path: true}
	home := t.TempDir()
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		if fi, err := os.Stat(c); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		cmd := exec.CommandContext(ctx, c, "--version")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8"}
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(out)), "aws-cli/1.") {
			t.Logf("AWS CLI v1: %s (%s)", c, strings.TrimSpace(string(out)))
			return c
		}
	}
	return ""
}

// TestCLIv1 is a shorter tour with the AWS CLI v1, which signs and encodes
// some requests differently from v2 (and reads the region only from
// AWS_DEFAULT_REGION).
func TestCLIv1(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	path := findCLIv1(t)
	if path == "" {
		t.Skip("skipping: no AWS CLI v1 installed (looked on PATH, in ~/.pyenv/versions/*/bin, ~/.local/bin and /usr/local/bin)")
	}
	srv := startServer(t, serverOpts{})
	cli := newCLIAt(t, path, 1, srv.endpoint,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(srv.dataDir, "credentials"),
		"AWS_DEFAULT_REGION="+region)
	p := makeZip(t, "hello from the v1 CLI")
	const name = "v1-fn"
	arn := fnARN(srv, name)

	var created fnConfig
	cli.ok(t, &created, createArgs(name, srv.account, p, "--description", "made by v1", "--tags", "cli=v1")...)
	if created.FunctionArn != arn || created.CodeSha256 != p.sha {
		t.Errorf("create-function: %+v", created)
	}
	cli.ok(t, nil, "lambda", "wait", "function-active-v2", "--function-name", arn)

	var got getFunctionOut
	cli.ok(t, &got, "lambda", "get-function", "--function-name", arn)
	if got.Configuration.State != "Active" || got.Configuration.Description != "made by v1" || got.Tags["cli"] != "v1" {
		t.Errorf("get-function: %+v", got)
	}
	var list listFunctionsOut
	cli.ok(t, &list, "lambda", "list-functions")
	if len(list.Functions) != 1 || list.Functions[0].FunctionName != name {
		t.Errorf("list-functions: %+v", list.Functions)
	}
	var v fnConfig
	cli.ok(t, &v, "lambda", "publish-version", "--function-name", srv.account+":function:"+name)
	if v.Version != "1" {
		t.Errorf("publish-version made %q, want 1", v.Version)
	}
	var a aliasOut
	cli.ok(t, &a, "lambda", "create-alias", "--function-name", name, "--name", "prod", "--function-version", "1")
	cli.ok(t, &got, "lambda", "get-function", "--function-name", arn+":prod")
	if got.Configuration.Version != "1" {
		t.Errorf("get-function through the alias: version %q, want 1", got.Configuration.Version)
	}
	cli.ok(t, nil, "lambda", "untag-resource", "--resource", arn, "--tag-keys", "cli")
	var tags struct{ Tags map[string]string }
	cli.ok(t, &tags, "lambda", "list-tags", "--resource", arn)
	if len(tags.Tags) != 0 {
		t.Errorf("tags after untag-resource: %v", tags.Tags)
	}
	cli.ok(t, nil, "lambda", "delete-function", "--function-name", arn)
	cli.failWith(t, "ResourceNotFoundException", "Function not found: "+arn,
		"lambda", "get-function", "--function-name", name)
}
