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

	before := snapshot(t, newCLI(t, first))
	checkPopulated(t, before)
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
	after := snapshot(t, newCLI(t, second))
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("state differs after a restart (-before +after):\n%s", diff)
	}
	if again, err := os.ReadFile(filepath.Join(dataDir, "credentials")); err != nil || !bytes.Equal(again, creds) {
		t.Errorf("the credentials file changed across the restart (err %v)", err)
	}

	// The code itself survived, not just its hash.
	var fn getFunctionOut
	newCLI(t, second).ok(t, &fn, "lambda", "get-function", "--function-name", "keep-a", "--qualifier", "1")
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
func snapshot(t *testing.T, cli *awsCLI) map[string]any {
	t.Helper()
	// Together these show every record populate wrote: list-functions
	// with ALL has every version's configuration, get-function the tags,
	// reserved concurrency and code hash.
	cmds := [][]string{
		{"list-functions", "--function-version", "ALL"},
		{"get-account-settings"},
		{"get-function", "--function-name", "gone"},
		{"get-policy", "--function-name", "keep-a", "--qualifier", "prod"},
	}
	for _, fn := range []string{"keep-a", "keep-b"} {
		cmds = append(cmds,
			[]string{"get-function", "--function-name", fn},
			[]string{"list-aliases", "--function-name", fn},
			[]string{"get-policy", "--function-name", fn},
			[]string{"list-function-event-invoke-configs", "--function-name", fn},
		)
	}
	out := map[string]any{}
	for _, args := range cmds {
		res := cli.run(t, append([]string{"lambda"}, args...)...)
		key := strings.Join(args, " ")
		if res.code != 0 {
			m := errorLineRe.FindStringSubmatch(res.stderr)
			if m == nil {
				t.Fatalf("aws lambda %s: exit %d\n%s", key, res.code, res.stderr)
			}
			out[key] = "error " + m[1] + ": " + m[3]
			continue
		}
		v := cli.decode(t, res)
		if m, ok := v.(map[string]any); ok {
			if code, ok := m["Code"].(map[string]any); ok {
				delete(code, "Location")
			}
		}
		out[key] = v
	}
	return out
}

// checkPopulated makes sure a snapshot holds what populate made, so that
// comparing two snapshots cannot pass by both being empty.
func checkPopulated(t *testing.T, snap map[string]any) {
	t.Helper()
	count := func(key, member string) int {
		m, _ := snap[key].(map[string]any)
		l, _ := m[member].([]any)
		return len(l)
	}
	checks := []struct {
		what      string
		got, want int
	}{
		{"configurations (keep-a $LATEST, 1, 2; keep-b $LATEST, 1)", count("list-functions --function-version ALL", "Functions"), 5},
		{"aliases of keep-a", count("list-aliases --function-name keep-a", "Aliases"), 2},
		{"event invoke configs of keep-a", count("list-function-event-invoke-configs --function-name keep-a", "FunctionEventInvokeConfigs"), 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("before the restart: %d %s, want %d", c.got, c.what, c.want)
		}
	}
	fn, _ := snap["get-function --function-name keep-a"].(map[string]any)
	if tags, _ := fn["Tags"].(map[string]any); len(tags) != 2 || fn["Concurrency"] == nil {
		t.Errorf("before the restart keep-a has tags %v and concurrency %v", fn["Tags"], fn["Concurrency"])
	}
	if _, ok := snap["get-policy --function-name keep-a"].(map[string]any); !ok {
		t.Errorf("before the restart keep-a has no policy: %v", snap["get-policy --function-name keep-a"])
	}
	if e, _ := snap["get-function --function-name gone"].(string); !strings.HasPrefix(e, "error ResourceNotFoundException: ") {
		t.Errorf("before the restart the deleted function shows %v", snap["get-function --function-name gone"])
	}
}
