package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
)

// TestRestartPersistence: everything a user created survives a graceful
// restart on the same data directory. What the CLI shows before SIGTERM and
// after the restart must be identical, except the short-lived code download
// URL (whose port changes too).
func TestRestartPersistence(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	first := startServer(t, serverOpts{dataDir: dataDir})
	p1, p2 := makeZip(t, "persist one"), makeZip(t, "persist two")
	populate(t, newSDK(t, first, 3), first, p1, p2)

	before := snapshot(t, newCLI(t, first), first.account)
	creds, err := os.ReadFile(filepath.Join(dataDir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	first.stop()
	if t.Failed() {
		t.FailNow()
	}

	second := startServer(t, serverOpts{dataDir: dataDir})
	if second.account != first.account {
		t.Errorf("account changed across the restart: %s, then %s", first.account, second.account)
	}
	after := snapshot(t, newCLI(t, second), second.account)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("state differs after a restart (-before +after):\n%s", diff)
	}
	if again, err := os.ReadFile(filepath.Join(dataDir, "credentials")); err != nil || !bytes.Equal(again, creds) {
		t.Errorf("the credentials file changed across the restart (err %v)", err)
	}

	// The code itself survived, not just its hash.
	var fn getFunctionOut
	newCLI(t, second).ok(&fn, "lambda", "get-function", "--function-name", "keep-a", "--qualifier", "1")
	if got := download(t, fn.Code.Location); !bytes.Equal(got, p1.data) {
		t.Error("version 1's package differs after the restart")
	}
}

// populate creates, with the SDK, one of everything the control plane keeps:
// functions, versions, aliases with routing, resource policies on a function
// and an alias, tags, reserved concurrency, event invoke configs, and a
// deleted function that must stay deleted.
func populate(t *testing.T, c *lambda.Client, srv *server, p1, p2 pkg) {
	t.Helper()
	ctx := t.Context()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	name := aws.String
	must(c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: name("keep-a"), Runtime: types.RuntimeProvidedal2023, Handler: name("bootstrap"),
		Role: name(roleARN(srv.account)), Code: &types.FunctionCode{ZipFile: p1.data},
		Description: name("function a"), Timeout: aws.Int32(30), MemorySize: aws.Int32(512),
		Environment: &types.Environment{Variables: map[string]string{"MODE": "persist", "EMPTY": ""}},
		Tags:        map[string]string{"owner": "e2e", "kind": "persistence"},
	}))
	waitSettled(t, c, "keep-a")
	must(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: name("keep-a"), Description: name("v1")}))
	must(c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: name("keep-a"), ZipFile: p2.data}))
	waitSettled(t, c, "keep-a")
	must(c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: name("keep-a"), Description: name("v2")}))
	must(c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: name("keep-a"), Description: name("unpublished change")}))
	waitSettled(t, c, "keep-a")
	must(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: name("keep-a"), Name: name("prod"), FunctionVersion: name("2"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"1": 0.1}}}))
	must(c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: name("keep-a"), Name: name("old"), FunctionVersion: name("1"), Description: name("the first")}))
	must(c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: name("keep-a"), StatementId: name("from-s3"),
		Action: name("lambda:InvokeFunction"), Principal: name("s3.amazonaws.com"), SourceArn: name("arn:aws:s3:::persist-bucket")}))
	must(c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: name("keep-a"), Qualifier: name("prod"), StatementId: name("account"),
		Action: name("lambda:GetFunction"), Principal: name(srv.account)}))
	must(c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: name("keep-a"), ReservedConcurrentExecutions: aws.Int32(10)}))
	must(c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: name("keep-a"), MaximumRetryAttempts: aws.Int32(0)}))
	must(c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: name("keep-a"), Qualifier: name("prod"), MaximumEventAgeInSeconds: aws.Int32(600)}))

	must(c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: name("keep-b"), Runtime: types.RuntimeProvidedal2023, Handler: name("bootstrap"),
		Role: name(roleARN(srv.account)), Code: &types.FunctionCode{ZipFile: p2.data}, Publish: true,
	}))
	waitSettled(t, c, "keep-b")

	must(sdkCreate(ctx, c, "gone", srv.account, p1, "deleted before the restart"))
	waitSettled(t, c, "gone")
	must(c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: name("gone")}))
}

// snapshot records what the CLI shows about the functions populate made.
// Failed commands are recorded as their error, so that "still not found"
// is part of the comparison too.
func snapshot(t *testing.T, cli *awsCLI, account string) map[string]any {
	t.Helper()
	cmds := [][]string{
		{"list-functions", "--function-version", "ALL"},
		{"get-account-settings"},
		{"get-function", "--function-name", "gone"},
	}
	for _, fn := range []string{"keep-a", "keep-b"} {
		cmds = append(cmds,
			[]string{"get-function", "--function-name", fn},
			[]string{"get-function", "--function-name", fn, "--qualifier", "1"},
			[]string{"list-versions-by-function", "--function-name", fn},
			[]string{"list-aliases", "--function-name", fn},
			[]string{"get-policy", "--function-name", fn},
			[]string{"list-tags", "--resource", "arn:aws:lambda:" + region + ":" + account + ":function:" + fn},
			[]string{"get-function-concurrency", "--function-name", fn},
			[]string{"list-function-event-invoke-configs", "--function-name", fn},
		)
	}
	cmds = append(cmds,
		[]string{"get-function", "--function-name", "keep-a", "--qualifier", "prod"},
		[]string{"get-alias", "--function-name", "keep-a", "--name", "old"},
		[]string{"get-policy", "--function-name", "keep-a", "--qualifier", "prod"},
		[]string{"get-function-event-invoke-config", "--function-name", "keep-a", "--qualifier", "prod"},
	)
	out := map[string]any{}
	for _, args := range cmds {
		res := cli.run(append([]string{"lambda"}, args...)...)
		key := strings.Join(args, " ")
		if res.code != 0 {
			m := errorLineRe.FindStringSubmatch(res.stderr)
			if m == nil {
				t.Fatalf("aws lambda %s: exit %d\n%s", key, res.code, res.stderr)
			}
			out[key] = "error " + m[1] + ": " + m[3]
			continue
		}
		v := cli.decode(res)
		if m, ok := v.(map[string]any); ok {
			if code, ok := m["Code"].(map[string]any); ok {
				delete(code, "Location")
			}
		}
		out[key] = v
	}
	return out
}
