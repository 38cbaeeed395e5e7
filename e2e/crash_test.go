package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// journal is what the writers saw acknowledged before the crash. An
// operation whose answer never arrived may or may not have happened; one
// that was acknowledged must survive.
type journal struct {
	mu sync.Mutex
	// CLI loop: updates of crash-cli's description to cli-N.
	cliAcked, cliTried int
	// SDK loop on crash-sdk.
	versions map[string]string // version -> its description
	tags     map[string]string
	aliases  map[string]string // alias -> version
	// SDK loop creating and deleting functions.
	created map[string]bool // name -> created and not deleted (as acknowledged)
	deleted map[string]bool // acknowledged deletions
	maybe   map[string]bool // names whose create or delete got no answer
	// errors counts the writers' failures by operation and AWS error code
	// (none for transport errors), for the log.
	errors map[string]int
}

// note counts err (if any) and returns it.
func (j *journal) note(op string, err error) error {
	if err == nil {
		return nil
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	j.do(func() { j.errors[op+" "+code]++ })
	return err
}

func (j *journal) do(f func()) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f()
}

// TestCrashSafety kills the server with SIGKILL while the AWS CLI and SDK
// clients are writing, restarts it on the same data directory, and checks
// that every function is readable and consistent (pending updates finish,
// listed versions exist, code matches CodeSha256), and that every write a
// client saw succeed is still there.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, serverOpts{dataDir: dataDir})
	pkgs := []pkg{makeZip(t, "crash one"), makeZip(t, "crash two")}
	sdk := newSDK(t, srv, 1)
	for _, name := range []string{"crash-cli", "crash-sdk"} {
		if _, err := sdkCreate(t.Context(), sdk, name, srv.account, pkgs[0], "start"); err != nil {
			t.Fatal(err)
		}
		waitSettled(t, sdk, name)
	}

	j := &journal{versions: map[string]string{}, tags: map[string]string{}, aliases: map[string]string{},
		created: map[string]bool{}, deleted: map[string]bool{}, maybe: map[string]bool{}, errors: map[string]int{}}
	ctx, stopWriters := context.WithCancel(t.Context())
	defer stopWriters()
	var wg sync.WaitGroup
	// No retries: each outcome the journal records is one request's.
	cli := newCLI(t, srv, "AWS_MAX_ATTEMPTS=1")
	wg.Add(3)
	go func() { defer wg.Done(); cliWriter(ctx, cli, j) }()
	go func() { defer wg.Done(); versionWriter(ctx, sdk, j) }()
	go func() { defer wg.Done(); functionWriter(ctx, sdk, srv.account, pkgs, j) }()

	// Crash once every writer has had a few acknowledgements.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var ready bool
		j.do(func() { ready = j.cliAcked >= 2 && len(j.versions) >= 3 && len(j.created)+len(j.deleted) >= 4 })
		if ready {
			break
		}
		if time.Now().After(deadline) {
			stopWriters()
			wg.Wait()
			t.Fatalf("the writers made too little progress: %d CLI updates, %d versions, %d functions", j.cliAcked, len(j.versions), len(j.created))
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.kill()
	stopWriters()
	wg.Wait()
	t.Logf("crashed after %d/%d CLI updates, %d versions, %d tags, %d aliases, %d functions alive, %d deleted, %d unanswered; SDK errors by code: %v",
		j.cliAcked, j.cliTried, len(j.versions), len(j.tags), len(j.aliases), len(j.created), len(j.deleted), len(j.maybe), j.errors)

	srv2 := startServer(t, serverOpts{dataDir: dataDir})
	sdk2 := newSDK(t, srv2, 3)
	cli2 := newCLI(t, srv2)

	// Every function is listed, readable, settled, and its versions exist
	// with the code their hashes promise.
	var list listFunctionsOut
	cli2.ok(t, &list, "lambda", "list-functions")
	listed := map[string]bool{}
	for _, f := range list.Functions {
		listed[f.FunctionName] = true
		checkFunction(t, sdk2, f.FunctionName)
	}
	for _, name := range []string{"crash-cli", "crash-sdk"} {
		if !listed[name] {
			t.Errorf("%s is missing after the crash", name)
		}
	}
	for name := range j.created {
		if !listed[name] && !j.maybe[name] {
			t.Errorf("%s was created (acknowledged) but is missing after the crash", name)
		}
	}
	for name := range j.deleted {
		if listed[name] && !j.maybe[name] {
			t.Errorf("%s was deleted (acknowledged) but is back after the crash", name)
		}
	}

	// The CLI's last acknowledged update, or the one in flight, is there.
	var c fnConfig
	cli2.ok(t, &c, "lambda", "get-function-configuration", "--function-name", "crash-cli")
	n, err := strconv.Atoi(strings.TrimPrefix(c.Description, "cli-"))
	if err != nil || n < j.cliAcked || n > j.cliTried {
		t.Errorf("crash-cli's description is %q, want cli-%d (the last acknowledged) up to cli-%d (the last tried)", c.Description, j.cliAcked, j.cliTried)
	}

	// Every acknowledged version, tag and alias of crash-sdk is there.
	var got getFunctionOut
	cli2.ok(t, &got, "lambda", "get-function", "--function-name", "crash-sdk")
	for k, v := range j.tags {
		if got.Tags[k] != v {
			t.Errorf("tag %s=%s was acknowledged but is %q after the crash", k, v, got.Tags[k])
		}
	}
	for v, desc := range j.versions {
		out, err := sdk2.GetFunctionConfiguration(t.Context(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("crash-sdk"), Qualifier: aws.String(v)})
		if err != nil {
			t.Errorf("version %s was acknowledged but cannot be read after the crash: %v", v, err)
			continue
		}
		if aws.ToString(out.Description) != desc {
			t.Errorf("version %s has description %q, want %q", v, aws.ToString(out.Description), desc)
		}
	}
	for a, v := range j.aliases {
		out, err := sdk2.GetAlias(t.Context(), &lambda.GetAliasInput{FunctionName: aws.String("crash-sdk"), Name: aws.String(a)})
		if err != nil {
			t.Errorf("alias %s was acknowledged but cannot be read after the crash: %v", a, err)
			continue
		}
		if aws.ToString(out.FunctionVersion) != v {
			t.Errorf("alias %s points to %s, want %s", a, aws.ToString(out.FunctionVersion), v)
		}
	}
}

// checkFunction reads a function after the crash: its pending update must
// finish, and each listed version must be readable with its code intact.
func checkFunction(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	fn := waitSettled(t, c, name)
	checkCode(t, name+":$LATEST", fn)
	vs, err := c.ListVersionsByFunction(t.Context(), &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Errorf("list versions of %s: %v", name, err)
		return
	}
	for _, v := range vs.Versions {
		out, err := c.GetFunction(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: v.Version})
		if err != nil {
			t.Errorf("%s version %s is listed but cannot be read: %v", name, aws.ToString(v.Version), err)
			continue
		}
		checkCode(t, name+":"+aws.ToString(v.Version), out)
	}
}

// checkCode downloads a function's package and compares it with CodeSha256.
func checkCode(t *testing.T, what string, out *lambda.GetFunctionOutput) {
	t.Helper()
	data := download(t, aws.ToString(out.Code.Location))
	sum := sha256.Sum256(data)
	if got := base64.StdEncoding.EncodeToString(sum[:]); got != aws.ToString(out.Configuration.CodeSha256) {
		t.Errorf("%s: the package served hashes to %s, CodeSha256 says %s", what, got, aws.ToString(out.Configuration.CodeSha256))
	}
}

// cliWriter updates crash-cli's description with the CLI until ctx ends.
func cliWriter(ctx context.Context, cli *awsCLI, j *journal) {
	for i := 1; ctx.Err() == nil; i++ {
		j.do(func() { j.cliTried = i })
		res, err := cli.runCtx(ctx, "lambda", "update-function-configuration", "--function-name", "crash-cli", "--description", fmt.Sprint("cli-", i))
		if err == nil && res.code == 0 {
			j.do(func() { j.cliAcked = i })
		}
	}
}

// versionWriter changes, publishes, tags and aliases crash-sdk until ctx
// ends, recording what was acknowledged.
func versionWriter(ctx context.Context, c *lambda.Client, j *journal) {
	name := aws.String("crash-sdk")
	for i := 1; ctx.Err() == nil; i++ {
		if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: name, Description: aws.String(fmt.Sprint("sdk-", i))}); j.note("UpdateFunctionConfiguration", err) != nil {
			continue
		}
		// Publishing waits for the update to finish.
		for ctx.Err() == nil {
			out, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: name})
			if err == nil && out.LastUpdateStatus != types.LastUpdateStatusInProgress {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		desc := fmt.Sprint("pub-", i)
		v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: name, Description: aws.String(desc)})
		if j.note("PublishVersion", err) != nil {
			continue
		}
		version := aws.ToString(v.Version)
		j.do(func() { j.versions[version] = desc })
		if i <= 40 {
			k := fmt.Sprint("t", i)
			// Tags belong to the function, not the version.
			arn := strings.TrimSuffix(aws.ToString(v.FunctionArn), ":"+version)
			if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{k: version}}); j.note("TagResource", err) == nil {
				j.do(func() { j.tags[k] = version })
			}
		}
		if i%2 == 0 {
			a := fmt.Sprint("a", i)
			if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: name, Name: aws.String(a), FunctionVersion: aws.String(version)}); j.note("CreateAlias", err) == nil {
				j.do(func() { j.aliases[a] = version })
			}
		}
	}
}

// functionWriter creates functions and deletes every other one until ctx
// ends.
func functionWriter(ctx context.Context, c *lambda.Client, account string, pkgs []pkg, j *journal) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("crash-new-%03d", i)
		j.do(func() { j.maybe[name] = true })
		if _, err := sdkCreate(ctx, c, name, account, pkgs[i%2], ""); j.note("CreateFunction", err) != nil {
			continue
		}
		j.do(func() { delete(j.maybe, name); j.created[name] = true })
		if i%2 == 1 {
			continue
		}
		j.do(func() { j.maybe[name] = true })
		if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}); j.note("DeleteFunction", err) != nil {
			continue
		}
		j.do(func() { delete(j.maybe, name); delete(j.created, name); j.deleted[name] = true })
	}
}
